"""A fake Firebase Cloud Messaging HTTP v1 endpoint on loopback, for tests."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class FakeFcm:
    base_url: str = ""
    access_token: str = "fcm-test-token"
    project_id: str = "firsthand-test"
    unregistered: set[str] = field(default_factory=set)
    # token → the field FCM names in its INVALID_ARGUMENT answer for a message to it
    # ("message.token" for a malformed token, e.g. "message.android.ttl" otherwise).
    invalid_argument: dict[str, str] = field(default_factory=dict)
    # token → any other error to answer a message to it with: (HTTP status, body)
    answers: dict[str, tuple[int, dict]] = field(default_factory=dict)
    requests: int = 0  # sends received, answered or not
    fail_with: int | None = None  # answer every send with this status (e.g. 503)
    sent: list[dict] = field(default_factory=list)


def invalid_argument(text: str, violated_field: str | None) -> dict:
    """FCM's answer to a malformed request, as its HTTP v1 API words it."""
    details: list[dict] = [
        {
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": "INVALID_ARGUMENT",
        }
    ]
    if violated_field:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": violated_field, "description": text}],
            }
        )
    return {
        "error": {"code": 400, "message": text, "status": "INVALID_ARGUMENT", "details": details}
    }


@contextlib.contextmanager
def running_fake_fcm() -> Iterator[FakeFcm]:
    fake = FakeFcm()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path != f"/v1/projects/{fake.project_id}/messages:send":
                return self._reply(404, {"error": {"code": 404, "status": "NOT_FOUND"}})
            if self.headers.get("Authorization") != f"Bearer {fake.access_token}":
                return self._reply(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
            if fake.fail_with:
                return self._reply(
                    fake.fail_with, {"error": {"code": fake.fail_with, "status": "UNAVAILABLE"}}
                )
            with lock:
                fake.requests += 1
            message = body.get("message", {})
            token = message.get("token", "")
            payload = {k: v for k, v in message.items() if k in ("notification", "data")}
            if len(json.dumps(payload, ensure_ascii=False).encode()) > 4096:
                return self._reply(400, invalid_argument("Message is too big", None))
            if token in fake.invalid_argument:
                return self._reply(
                    400, invalid_argument("Invalid value", fake.invalid_argument[token])
                )
            if token in fake.answers:
                return self._reply(*fake.answers[token])
            if token in fake.unregistered:
                return self._reply(
                    404,
                    {
                        "error": {
                            "code": 404,
                            "message": "Requested entity was not found.",
                            "status": "NOT_FOUND",
                            "details": [
                                {
                                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                    "errorCode": "UNREGISTERED",
                                }
                            ],
                        }
                    },
                )
            with lock:
                fake.sent.append(body["message"])
                number = len(fake.sent)
            return self._reply(200, {"name": f"projects/{fake.project_id}/messages/{number}"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()

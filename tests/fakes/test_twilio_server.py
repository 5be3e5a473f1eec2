"""The fake Twilio server: wire format, faults, signed callbacks, counters, modes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from email.utils import parsedate_to_datetime
from http.client import RemoteDisconnected
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import urllib3
from urllib3.exceptions import ProtocolError

from tests.fakes.twilio_server import (
    FakeTwilio,
    FakeTwilioServer,
    max_in_window,
    running_fake_twilio,
    start_fake_twilio_process,
    twilio_signature,
)

SID = "AC" + "a1" * 16
TOKEN = "secret-token"
FROM = "+15550000000"


# ---------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def _shared_fake():
    with running_fake_twilio(SID, TOKEN) as fake:
        yield fake


@pytest.fixture
def fake(_shared_fake: FakeTwilio) -> FakeTwilio:
    _shared_fake.reset()
    return _shared_fake


@pytest.fixture
def http():
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=10))
    yield pool
    pool.clear()


def _headers(sid: str = SID, token: str = TOKEN) -> dict[str, str]:
    return {
        **urllib3.make_headers(basic_auth=f"{sid}:{token}", keep_alive=True),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def send(
    http: urllib3.PoolManager,
    fake: FakeTwilio,
    to: str,
    body: str = "hello",
    callback: str | None = None,
    **kw: Any,
) -> urllib3.BaseHTTPResponse:
    fields = {"To": to, "From": FROM, "Body": body}
    if callback:
        fields["StatusCallback"] = callback
    return http.request(
        "POST", fake.messages_url, body=urlencode(fields), headers=kw.get("headers") or _headers()
    )


def lookup(http: urllib3.PoolManager, fake: FakeTwilio, to: str, page_size: int = 100) -> Any:
    query = urlencode({"To": to, "PageSize": page_size})
    response = http.request("GET", f"{fake.messages_url}?{query}", headers=_headers())
    assert response.status == 200
    return response.json()


class CallbackSink:
    """A tiny keep-alive HTTP server that records the status callbacks it receives."""

    def __init__(self, delay: float = 0.0, close_each: bool = False) -> None:
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0" if close_each else "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if sink.delay:
                    time.sleep(sink.delay)
                record = {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "form": dict(parse_qsl(raw, keep_blank_values=True)),
                    "client_port": self.client_address[1],
                    "at": time.monotonic(),
                }
                with sink.cond:
                    sink.requests.append(record)
                    sink.cond.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink():
    server = CallbackSink()
    yield server
    server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------
# Signatures and pure helpers


def test_signature_matches_twilio_reference_example():
    # The vector of twilio-python's own RequestValidator.compute_signature test.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_signature_matches_independent_computation():
    params = {"b": "2", "a": "1 & ü", "MessageStatus": "sent", "AccountSid": SID}
    url = "http://127.0.0.1:8000/hooks/sms/status?x=1"
    payload = url + "AccountSid" + SID + "MessageStatus" + "sent" + "a" + "1 & ü" + "b" + "2"
    expected = base64.b64encode(
        hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()
    assert twilio_signature(TOKEN, url, params) == expected
    assert twilio_signature("other", url, params) != expected


def test_max_in_window():
    assert max_in_window([]) == 0
    assert max_in_window([5.0]) == 1
    assert max_in_window([0.0, 0.1, 0.2, 1.05, 1.1, 1.15, 1.19, 5.0]) == 5
    assert max_in_window([1.19, 0.0, 5.0, 1.1, 0.2, 1.05, 0.1, 1.15]) == 5  # any order
    assert max_in_window([0.0, 1.0, 2.0]) == 1  # the window is half-open
    assert max_in_window([0.0, 0.5, 1.0], window=2.0) == 3


def test_only_binds_to_loopback():
    with pytest.raises(ValueError, match="loopback"):
        FakeTwilioServer(SID, TOKEN, host="0.0.0.0")  # noqa: S104


# ---------------------------------------------------------------------------
# The Messages API


def test_accepts_a_message_with_twilio_shape(fake, http):
    before = time.time()
    response = send(http, fake, "+15551230001", "Your notice ref-1")
    assert response.status == 201
    assert response.headers["Content-Type"] == "application/json"
    data = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", data["sid"])
    assert data["status"] == "queued"
    assert data["to"] == "+15551230001"
    assert data["from"] == FROM
    assert data["body"] == "Your notice ref-1"
    assert data["account_sid"] == SID
    assert data["api_version"] == "2010-04-01"
    assert data["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{data['sid']}.json"
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000", data["date_created"])
    created = parsedate_to_datetime(data["date_created"]).timestamp()
    assert before - 1 <= created <= time.time() + 1

    [listed] = fake.messages()
    assert listed["sid"] == data["sid"]
    assert (listed["to"], listed["from"], listed["body"]) == ("+15551230001", FROM, data["body"])
    assert isinstance(listed["received_at"], float)
    assert before <= listed["received_at"] <= time.time()


def test_created_body_is_the_listed_resource(fake, http):
    """The hand-built 201 JSON and the json.dumps'd list resource agree."""
    created = send(http, fake, "+15551230002", 'quotes " and \\ and ü and \n').json()
    [listed] = lookup(http, fake, "+15551230002")["messages"]
    assert listed["status"] == "delivered"  # no callback: delivered at once
    assert {**listed, "status": "queued"} == created


def test_form_decoding_round_trips(fake, http):
    body = "Héllo & goodbye = 100% + more ✓"
    assert send(http, fake, "+15551230003", body).json()["body"] == body
    assert fake.messages()[0]["body"] == body


def test_bad_or_missing_auth_is_401(fake, http):
    for headers in (
        _headers(token="wrong"),
        _headers(sid="AC" + "0" * 32),
        {"Content-Type": "application/x-www-form-urlencoded"},
    ):
        response = send(http, fake, "+15551230004", headers=headers)
        assert response.status == 401
        assert response.json() | {"more_info": None} == {
            "code": 20003,
            "message": "Authenticate",
            "status": 401,
            "more_info": None,
        }
    response = http.request("GET", fake.messages_url, headers=_headers(token="wrong"))
    assert response.status == 401
    assert fake.messages() == []
    assert fake.summary()["requests"]["401"] == 4


def test_invalid_numbers_are_400_21211(fake, http):
    fake.configure(invalid_numbers=["+15559999999"])
    for number in ("+15559999999", "5551234567"):
        response = send(http, fake, number)
        assert response.status == 400
        data = response.json()
        assert data["code"] == 21211
        assert data["status"] == 400
        assert data["message"] == f"The 'To' number {number} is not a valid phone number."
    assert send(http, fake, "+15551230005").status == 201
    assert [m["to"] for m in fake.messages()] == ["+15551230005"]
    assert fake.summary()["requests"]["400"] == 2


def test_missing_fields_are_400(fake, http):
    no_to = http.request(
        "POST", fake.messages_url, body=urlencode({"From": FROM, "Body": "x"}), headers=_headers()
    )
    assert (no_to.status, no_to.json()["code"]) == (400, 21604)
    no_body = http.request(
        "POST", fake.messages_url, body=urlencode({"To": "+1555", "From": FROM}), headers=_headers()
    )
    assert (no_body.status, no_body.json()["code"]) == (400, 21602)


def test_lookup_by_to_newest_first(fake, http):
    sids = [send(http, fake, "+15551110000", f"ref-{i}").json()["sid"] for i in range(3)]
    send(http, fake, "+15552220000", "other")
    data = lookup(http, fake, "+15551110000")
    assert data["next_page_uri"] is None
    assert [m["sid"] for m in data["messages"]] == sids[::-1]
    assert [m["body"] for m in data["messages"]] == ["ref-2", "ref-1", "ref-0"]
    assert {m["to"] for m in data["messages"]} == {"+15551110000"}
    for item in data["messages"]:
        assert {"sid", "to", "from", "body", "status", "date_created"} <= item.keys()
    assert [m["body"] for m in lookup(http, fake, "+15551110000", page_size=2)["messages"]] == [
        "ref-2",
        "ref-1",
    ]
    assert lookup(http, fake, "+15553330000")["messages"] == []


# ---------------------------------------------------------------------------
# Faults


def test_429_with_retry_after(fake, http):
    fake.configure(rate_429=1.0, retry_after_s=7)
    response = send(http, fake, "+15551230006")
    assert response.status == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["code"] == 20429
    assert fake.messages() == []
    assert fake.summary()["requests"]["429"] == 1


def test_5xx(fake, http):
    fake.configure(error_5xx_rate=1.0)
    response = send(http, fake, "+15551230007")
    assert response.status == 503
    assert response.json()["status"] == 503
    assert fake.messages() == []
    assert fake.summary()["requests"]["5xx"] == 1


def test_faults_are_reproducible_with_a_seed(fake, http):
    def run() -> list[int]:
        fake.reset()
        fake.configure(seed=42, rate_429=0.3, error_5xx_rate=0.2)
        return [send(http, fake, f"+1555444{i:04d}").status for i in range(60)]

    first = run()
    assert first == run()
    assert {201, 429, 503} == set(first)
    fake.reset()
    fake.configure(seed=7, rate_429=0.3, error_5xx_rate=0.2)
    assert [send(http, fake, f"+1555444{i:04d}").status for i in range(60)] != first


def test_dropped_before_accept(fake, http):
    fake.configure(drop_rate=1.0)
    with pytest.raises(ProtocolError) as caught:
        send(http, fake, "+15551230008")
    # A clean close with no answer: http.client's RemoteDisconnected under urllib3.
    assert isinstance(caught.value.args[1], RemoteDisconnected)
    assert fake.messages() == []
    summary = fake.summary()
    assert summary["requests"]["dropped"] == 1
    assert summary["total_accepted"] == 0


def test_dropped_after_accept_is_still_listed(fake, http):
    fake.configure(drop_rate=1.0, drop_after_accept=True)
    with pytest.raises(ProtocolError):
        send(http, fake, "+15551230009", "ref-dropped")
    [message] = fake.messages()
    assert message["body"] == "ref-dropped"
    # The app's recovery path: look the message up by its recipient.
    [found] = lookup(http, fake, "+15551230009")["messages"]
    assert found["sid"] == message["sid"]
    summary = fake.summary()
    assert (summary["requests"]["dropped"], summary["accepted_then_dropped"]) == (1, 1)
    assert summary["total_accepted"] == 1


def test_latency(fake, http):
    fake.configure(latency_ms=600)
    started = time.monotonic()
    assert send(http, fake, "+15551230010").status == 201
    assert time.monotonic() - started >= 0.6
    # Only sends are slowed down; the control endpoints answer without that wait
    # (the margin is wide: a loaded machine can take a while for any request).
    started = time.monotonic()
    fake.summary()
    assert time.monotonic() - started < 0.6


def test_config_rejects_unknown_keys_and_bad_values(fake):
    for bad in ({"latensy_ms": 5}, {"drop_rate": 2}, {"callbacks": "yes"}, {"invalid_numbers": 1}):
        with pytest.raises(RuntimeError, match=r"must|unknown"):
            fake.configure(**bad)
    config = fake.configure(max_rate_per_s=50, latency_ms=1)
    assert config["max_rate_per_s"] == 50
    assert fake.config()["latency_ms"] == 1


def test_reset_clears_messages_counters_and_config(fake, http):
    fake.configure(invalid_numbers=["+15551230011"], latency_ms=5)
    send(http, fake, "+15551230011")
    send(http, fake, "+15551230012")
    fake.reset()
    assert fake.messages() == []
    summary = fake.summary()
    assert summary["total_accepted"] == 0
    assert set(summary["requests"].values()) == {0}
    assert summary["config"]["invalid_numbers"] == []
    assert summary["config"]["latency_ms"] == 0
    assert send(http, fake, "+15551230011").status == 201


# ---------------------------------------------------------------------------
# Status callbacks


def _check_signature(record: dict[str, Any], url: str) -> None:
    signature = record["headers"]["x-twilio-signature"]
    assert signature == twilio_signature(TOKEN, url, record["form"])
    payload = url + "".join(k + v for k, v in sorted(record["form"].items()))
    digest = hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    assert signature == base64.b64encode(digest).decode()


def test_signed_status_callbacks(fake, http, sink):
    url = f"{sink.url}/hooks/sms/status?delivery=42"
    sid = send(http, fake, "+15551230013", callback=url).json()["sid"]
    records = sink.wait_for(2)
    assert [r["form"]["MessageStatus"] for r in records] == ["sent", "delivered"]
    for record in records:
        assert record["path"] == "/hooks/sms/status?delivery=42"
        assert record["headers"]["content-type"].startswith("application/x-www-form-urlencoded")
        form = record["form"]
        assert form == {
            "AccountSid": SID,
            "ApiVersion": "2010-04-01",
            "From": FROM,
            "MessageSid": sid,
            "MessageStatus": form["MessageStatus"],
            "SmsSid": sid,
            "SmsStatus": form["MessageStatus"],
            "To": "+15551230013",
        }
        _check_signature(record, url)
        assert record["headers"]["x-twilio-signature"] != twilio_signature("x", url, form)
    summary = fake.wait_for_callbacks()
    assert (summary["callbacks_sent"], summary["callbacks_failed"]) == (2, 0)
    assert lookup(http, fake, "+15551230013")["messages"][0]["status"] == "delivered"


def test_undeliverable_callbacks(fake, http, sink):
    fake.configure(undeliverable_numbers=["+15551230014"])
    send(http, fake, "+15551230014", callback=f"{sink.url}/cb")
    records = sink.wait_for(2)
    assert [r["form"]["MessageStatus"] for r in records] == ["sent", "undelivered"]
    assert records[1]["form"]["ErrorCode"] == "30003"
    assert "ErrorCode" not in records[0]["form"]
    _check_signature(records[1], f"{sink.url}/cb")
    fake.wait_for_callbacks()
    [listed] = lookup(http, fake, "+15551230014")["messages"]
    assert (listed["status"], listed["error_code"]) == ("undelivered", 30003)


def test_duplicate_callbacks(fake, http, sink):
    fake.configure(duplicate_callbacks=True)
    send(http, fake, "+15551230015", callback=f"{sink.url}/cb")
    records = sink.wait_for(4)
    assert [r["form"]["MessageStatus"] for r in records] == [
        "sent",
        "sent",
        "delivered",
        "delivered",
    ]
    assert (
        records[0]["headers"]["x-twilio-signature"] == records[1]["headers"]["x-twilio-signature"]
    )
    assert fake.wait_for_callbacks()["callbacks_sent"] == 4


def test_reordered_callbacks(fake, http, sink):
    fake.configure(reorder_callbacks=True)
    send(http, fake, "+15551230016", callback=f"{sink.url}/cb")
    records = sink.wait_for(2)
    assert [r["form"]["MessageStatus"] for r in records] == ["delivered", "sent"]
    fake.wait_for_callbacks()
    # The late "sent" does not take the message back from "delivered".
    assert lookup(http, fake, "+15551230016")["messages"][0]["status"] == "delivered"


def test_callback_delay(fake, http, sink):
    fake.configure(callback_delay_ms=150)
    started = time.monotonic()
    send(http, fake, "+15551230017", callback=f"{sink.url}/cb")
    records = sink.wait_for(2)
    assert records[0]["at"] - started >= 0.15
    assert records[1]["at"] - records[0]["at"] >= 0.15


def test_callbacks_can_be_disabled(fake, http, sink):
    fake.configure(callbacks=False)
    send(http, fake, "+15551230018", callback=f"{sink.url}/cb")
    time.sleep(0.2)
    assert sink.requests == []
    assert fake.summary()["callbacks_sent"] == 0


def test_callbacks_never_delay_the_answer(fake, http):
    slow = CallbackSink(delay=0.3)
    try:
        started = time.monotonic()
        for i in range(3):
            assert send(http, fake, f"+1555123002{i}", callback=f"{slow.url}/cb").status == 201
        # Waiting on even one callback per send would take 0.9 s.
        assert time.monotonic() - started < 0.9
        assert len(slow.wait_for(6, timeout=10)) == 6
    finally:
        slow.close()


def test_callback_failures_are_counted_not_fatal(fake, http):
    assert send(http, fake, "+15551230031", callback="http://example.com/cb").status == 201
    summary = fake.wait_for_callbacks()
    assert (summary["callbacks_sent"], summary["callbacks_failed"]) == (0, 2)
    assert "non-loopback" in summary["callbacks_last_error"]  # and nothing left the machine
    dead = f"http://127.0.0.1:{_free_port()}/cb"
    assert send(http, fake, "+15551230030", callback=dead).status == 201
    summary = fake.wait_for_callbacks()
    assert (summary["callbacks_sent"], summary["callbacks_failed"]) == (0, 4)
    assert "Connect" in summary["callbacks_last_error"]
    assert send(http, fake, "+15551230032").status == 201


def test_many_callbacks_bounded_connections_in_order(http, sink):
    with running_fake_twilio(SID, TOKEN, callback_concurrency=4) as fake:
        for i in range(200):
            send(http, fake, f"+1555124{i:04d}", f"m{i}", callback=f"{sink.url}/cb")
        records = sink.wait_for(400, timeout=20)
        assert len(records) == 400
        assert len({r["client_port"] for r in records}) <= 4
        by_sid: dict[str, list[str]] = {}
        for r in records:
            by_sid.setdefault(r["form"]["MessageSid"], []).append(r["form"]["MessageStatus"])
        assert len(by_sid) == 200
        assert all(statuses == ["sent", "delivered"] for statuses in by_sid.values())
        summary = fake.wait_for_callbacks()
        assert (summary["callbacks_sent"], summary["callbacks_pending"]) == (400, 0)


def test_callbacks_to_a_receiver_that_closes_each_connection(fake, http):
    closing = CallbackSink(close_each=True)
    try:
        for i in range(3):
            send(http, fake, f"+1555123003{i}", callback=f"{closing.url}/cb")
        assert len(closing.wait_for(6)) == 6
        summary = fake.wait_for_callbacks()
        assert (summary["callbacks_sent"], summary["callbacks_failed"]) == (6, 0)
    finally:
        closing.close()


def test_callbacks_reuse_keep_alive_connections(http, sink):
    with running_fake_twilio(SID, TOKEN, callback_concurrency=1) as fake:
        for i in range(10):
            send(http, fake, f"+155512301{i:02d}", callback=f"{sink.url}/cb")
        records = sink.wait_for(20)
        assert len(records) == 20
        assert len({r["client_port"] for r in records}) == 1
        # One worker: each message's callbacks stay in order.
        by_sid: dict[str, list[str]] = {}
        for r in records:
            by_sid.setdefault(r["form"]["MessageSid"], []).append(r["form"]["MessageStatus"])
        assert all(statuses == ["sent", "delivered"] for statuses in by_sid.values())


class RawSink:
    """A callback receiver answering every request with canned bytes.

    ``first_only``: per connection, answer the first request, then close the connection
    on the next one without a word, like a peer whose keep-alive timer fired.
    ``close_after``: close each connection after its first answer.
    ``silent``: never answer.
    """

    def __init__(
        self,
        response: bytes,
        *,
        close_after: bool = False,
        first_only: bool = False,
        silent: bool = False,
    ) -> None:
        self.response = response
        self.close_after = close_after
        self.first_only = first_only
        self.silent = silent
        self.requests = 0
        self.connections = 0
        self.lock = threading.Lock()
        self.stopping = False
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/cb"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf, answered = b"", 0
        conn.settimeout(10)
        with conn:
            while not self.stopping:
                end = buf.find(b"\r\n\r\n")
                match = re.search(rb"Content-Length: (\d+)", buf[:end]) if end >= 0 else None
                if end < 0 or len(buf) < end + 4 + int(match.group(1) if match else 0):
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    buf += chunk
                    continue
                buf = buf[end + 4 + int(match.group(1) if match else 0) :]
                with self.lock:
                    self.requests += 1
                if self.silent or (self.first_only and answered):
                    if self.silent:
                        continue
                    return
                conn.sendall(self.response)
                answered += 1
                if self.close_after:
                    return

    def close(self) -> None:
        self.stopping = True
        self.sock.close()


OK_KEEP_ALIVE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.mark.parametrize(
    ("response", "options"),
    [
        pytest.param(OK_KEEP_ALIVE, {}, id="content-length"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nT: 1\r\n\r\n",
            {},
            id="chunked",
        ),
        pytest.param(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
            {},
            id="interim-100",
        ),
        pytest.param(b"HTTP/1.0 200 OK\r\n\r\nok", {"close_after": True}, id="until-close"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
            {"close_after": True},
            id="connection-close",
        ),
        pytest.param(OK_KEEP_ALIVE, {"close_after": True}, id="closed-when-idle"),
        pytest.param(OK_KEEP_ALIVE, {"first_only": True}, id="closed-when-reused"),
    ],
)
def test_callback_receivers_of_every_kind(fake, http, response, options):
    receiver = RawSink(response, **options)
    try:
        for i in range(3):
            send(http, fake, f"+1555123010{i}", callback=receiver.url)
        summary = fake.wait_for_callbacks()
        assert (summary["callbacks_sent"], summary["callbacks_failed"]) == (6, 0), summary
        if not options:
            assert receiver.connections <= 3  # kept alive and reused (one per concurrent job)
        if options.get("first_only"):
            assert receiver.requests > 6  # the reused connections failed; fresh ones answered
    finally:
        receiver.close()


def test_callback_error_answers_are_failures(fake, http):
    receiver = RawSink(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
    try:
        send(http, fake, "+15551230110", callback=receiver.url)
        summary = fake.wait_for_callbacks()
        assert (summary["callbacks_sent"], summary["callbacks_failed"]) == (0, 2)
        assert summary["callbacks_by_status"] == {"500": 2}
        assert "HTTP 500" in summary["callbacks_last_error"]
    finally:
        receiver.close()


def test_callback_timeouts_are_failures(http):
    receiver = RawSink(b"", silent=True)
    try:
        with running_fake_twilio(SID, TOKEN, callback_timeout_s=0.3) as fake:
            started = time.monotonic()
            send(http, fake, "+15551230111", callback=receiver.url)
            summary = fake.wait_for_callbacks()
            assert (summary["callbacks_sent"], summary["callbacks_failed"]) == (0, 2)
            assert "timed out" in summary["callbacks_last_error"]
            assert time.monotonic() - started < 3
    finally:
        receiver.close()


# ---------------------------------------------------------------------------
# Control endpoints and counters


def test_messages_since(fake, http):
    for i in range(5):
        send(http, fake, f"+1555123004{i}", f"m{i}")
    assert [m["body"] for m in fake.messages(since=3)] == ["m3", "m4"]
    page = json.loads(urllib3.request("GET", f"{fake.base_url}/_fake/messages?since=2").data)
    assert (page["count"], page["next"], len(page["messages"])) == (5, 5, 3)
    assert fake.messages(since=5) == []


def test_summary_counters(fake, http, sink):
    fake.configure(invalid_numbers=["+15550000404"])
    send(http, fake, "+15551230050", "same", callback=f"{sink.url}/cb")
    send(http, fake, "+15551230050", "same")
    send(http, fake, "+15551230050", "different")
    send(http, fake, "+15551230051", "same")
    send(http, fake, "+15550000404")
    send(http, fake, "+15551230052", headers=_headers(token="nope"))
    summary = fake.wait_for_callbacks()
    assert summary["total_accepted"] == 4
    assert summary["accepted_per_to"] == {"+15551230050": 3, "+15551230051": 1}
    assert (summary["duplicates"], summary["duplicate_pairs"]) == (1, 1)
    assert summary["requests"] | {} == {
        "200": 0,
        "201": 4,
        "400": 1,
        "401": 1,
        "404": 0,
        "405": 0,
        "429": 0,
        "5xx": 0,
        "dropped": 0,
    }
    assert (summary["callbacks_sent"], summary["callbacks_failed"]) == (2, 0)
    assert summary["callbacks_pending"] == 0
    assert summary["max_accepted_in_1s_window"] == 4
    times = [m["received_at"] for m in fake.messages()]
    assert summary["max_accepted_in_1s_window"] == max_in_window(times)


def test_sliding_window_sees_bursts_not_totals(fake, http):
    for i in range(3):
        send(http, fake, f"+1555123006{i}")
    time.sleep(1.1)
    for i in range(2):
        send(http, fake, f"+1555123007{i}")
    assert fake.summary()["max_accepted_in_1s_window"] == 3


# ---------------------------------------------------------------------------
# HTTP details


def _read_responses(conn: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """Read ``count`` Content-Length delimited responses: [(status, body)]."""
    buf, responses = b"", []
    while len(responses) < count:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end]
            match = re.search(rb"Content-Length: (\d+)", head)
            length = int(match.group(1)) if match else 0
            if len(buf) >= end + 4 + length:
                responses.append((int(head.split()[1]), buf[end + 4 : end + 4 + length]))
                buf = buf[end + 4 + length :]
                continue
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
    return responses


def test_pipelined_requests_are_answered_in_order(fake):
    port = int(fake.base_url.rsplit(":", 1)[1])
    auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()

    def request(body: str) -> bytes:
        form = urlencode({"To": "+15551230080", "From": FROM, "Body": body}).encode()
        return (
            f"POST /2010-04-01/Accounts/{SID}/Messages.json HTTP/1.1\r\n"
            f"Host: x\r\nAuthorization: Basic {auth}\r\nContent-Length: {len(form)}\r\n\r\n"
        ).encode() + form

    fake.configure(latency_ms=20)  # the second waits for the first, not the other way round
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request("first") + request("second") + b"GET /_fake/health HTTP/1.1\r\n\r\n")
        responses = _read_responses(conn, 3)
    assert [status for status, _ in responses] == [201, 201, 200]
    assert [json.loads(body).get("body") for _, body in responses] == ["first", "second", None]


def test_http_1_0_closes_and_expect_continue(fake):
    port = int(fake.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET /_fake/health HTTP/1.0\r\n\r\n")
        received = b""
        while chunk := conn.recv(65536):
            received += chunk  # ends: the server closed the connection
    assert received.startswith(b"HTTP/1.1 200 OK")
    assert b"Connection: close" in received

    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        body = json.dumps({"latency_ms": 0}).encode()
        conn.sendall(
            b"POST /_fake/config HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        assert conn.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(body)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200 OK")


# ---------------------------------------------------------------------------
# As a separate process


def test_subprocess_mode():
    proc, base_url = start_fake_twilio_process(
        SID, TOKEN, config={"invalid_numbers": ["+15550000404"]}
    )
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        fake = FakeTwilio(base_url, SID, TOKEN)
        pool = urllib3.PoolManager(retries=False)
        response = send(pool, fake, "+15551230090", "from a child process")
        assert response.status == 201
        assert send(pool, fake, "+15550000404").status == 400
        assert fake.summary()["total_accepted"] == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        assert proc.stdout is not None and proc.stdin is not None
        proc.stdout.close()
        proc.stdin.close()


def test_subprocess_exits_when_its_parent_goes_away():
    proc, _ = start_fake_twilio_process(SID, TOKEN)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()  # what the death of the test process does
    assert proc.wait(timeout=10) == 0
    proc.stdout.close()

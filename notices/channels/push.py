"""Push notifications through Firebase Cloud Messaging's HTTP v1 API.

One request per device, as FCM works. The base URL is a setting, so tests run
against a local fake. A token FCM reports as gone (app uninstalled, another
sender's, or rejected as a malformed token) is a permanent failure flagged
``invalid_address``: the dispatcher then retires the device and falls back to
the next channel. Any other bad request (a message too big, a bad field) is a
permanent failure of the message only: the device is kept.
"""

from __future__ import annotations

import json
import threading
import time

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from notices.channels.base import ChannelBackend, ChannelError, OutgoingMessage
from notices.references import format_reference

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
# Error codes that are about the device token itself, whatever the request held.
TOKEN_GONE = {"UNREGISTERED", "SENDER_ID_MISMATCH"}
# FCM refuses a message whose payload (notification and data) is bigger than this.
MAX_PAYLOAD_BYTES = 4096
ELLIPSIS = "\u2026"


def _payload(*, subject: str, body: str, reference: str) -> dict:
    return {"notification": {"title": subject, "body": body}, "data": {"reference": reference}}


def payload_size(*, subject: str, body: str, reference: str) -> int:
    """Bytes of what FCM counts against its limit, as we send it (UTF-8 JSON)."""
    payload = _payload(subject=subject, body=body, reference=reference)
    return len(json.dumps(payload, ensure_ascii=False).encode())


def fit_body(*, subject: str, body: str, reference: str) -> str:
    """``body``, cut on a character boundary and marked with an ellipsis if the
    message would otherwise be over FCM's payload limit.

    The printed reference and what follows it ("Ref ABCD-EFGH-JKLM, check it at
    …/verify") are kept: the text before them is cut. Only if they do not fit
    on their own is the end cut, still keeping the reference itself.
    """

    def fits(text: str) -> bool:
        return payload_size(subject=subject, body=text, reference=reference) <= MAX_PAYLOAD_BYTES

    if fits(body):
        return body
    printed = format_reference(reference) if reference else ""
    at = body.rfind(printed) if printed else -1
    if at > 0:
        # Keep the words that introduce it ("Ref", "This message's reference is").
        before = body[max(0, at - 60) : at]
        start = max(before.rfind(". "), before.rfind("\n"))
        at = at - len(before) + start + (2 if before[start] == "." else 1) if start >= 0 else at
    if at <= 0:
        return _cut_end(body, fits)
    head, tail = body[:at].rstrip(), ELLIPSIS + " " + body[at:]
    if fits(tail):
        return _cut_end(head, lambda cut: fits(cut + " " + body[at:]))[:-1].rstrip() + tail
    return ELLIPSIS + " " + _cut_end(body[at:], lambda cut: fits(ELLIPSIS + " " + cut))


def _cut_end(text: str, fits) -> str:
    """The longest start of ``text`` ended with an ellipsis that ``fits``."""
    low, high = 0, len(text)  # the longest prefix that fits lies in [low, high)
    while low < high - 1:
        middle = (low + high) // 2
        if fits(text[:middle].rstrip() + ELLIPSIS):
            low = middle
        else:
            high = middle
    return text[:low].rstrip() + ELLIPSIS if low else ""


class FcmBackend(ChannelBackend):
    channel = "push"

    def __init__(
        self,
        name: str = "default",
        *,
        api_base_url: str = "https://fcm.googleapis.com",
        project_id: str = "",
        credentials_file: str = "",
        access_token: str = "",
        timeout: float = 10.0,
        pool_size: int = 32,
        **options,
    ) -> None:
        super().__init__(name, **options)
        self.url = f"{api_base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self.credentials_file = credentials_file
        self.static_token = access_token
        self._credentials = None
        self._lock = threading.Lock()
        self.pool = urllib3.PoolManager(
            maxsize=pool_size,
            block=True,
            retries=False,
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
        )

    def _access_token(self) -> str:
        """A static token (tests, a token broker) or a service account's, refreshed."""
        if self.static_token:
            return self.static_token
        with self._lock:
            if self._credentials is None:
                from google.oauth2 import service_account

                self._credentials = service_account.Credentials.from_service_account_file(
                    self.credentials_file, scopes=[SCOPE]
                )
            if not self._credentials.valid or (
                self._credentials.expiry and self._credentials.expiry.timestamp() - time.time() < 60
            ):
                from google.auth.transport.requests import Request

                self._credentials.refresh(Request())
            return self._credentials.token

    def send(self, message: OutgoingMessage) -> str:
        content = {"subject": message.subject, "body": message.body, "reference": message.reference}
        size = payload_size(**content)
        if size > MAX_PAYLOAD_BYTES:
            # FCM would refuse it (INVALID_ARGUMENT): say why, keep the device.
            raise ChannelError(
                f"push message of {size} bytes is over FCM's {MAX_PAYLOAD_BYTES}-byte limit",
                permanent=True,
            )
        payload = {"message": {"token": message.to, **_payload(**content)}}
        try:
            token = self._access_token()
        except Exception as exc:  # Google's token service, not FCM: nothing was sent
            raise ChannelError(f"no access token: {exc.__class__.__name__}") from exc
        try:
            response = self.pool.request(
                "POST",
                self.url,
                body=json.dumps(payload, ensure_ascii=False).encode(),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                },
            )
        except (NewConnectionError, ConnectTimeoutError) as exc:
            raise ChannelError(f"connection failed: {exc.__class__.__name__}") from exc
        except (ReadTimeoutError, ProtocolError, HTTPError) as exc:
            raise ChannelError(f"no answer: {exc.__class__.__name__}", ambiguous=True) from exc
        if response.status == 200:
            return json.loads(response.data)["name"]
        raise self._error(response)

    @staticmethod
    def _error(response) -> ChannelError:
        try:
            answer = json.loads(response.data or b"{}")
        except ValueError:
            answer = {}
        # A proxy or gateway may answer with any JSON at all, not FCM's object.
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        if not isinstance(error, dict):
            error = {}
        details = error.get("details")
        details = [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []
        status = _text(error.get("status"))
        fcm_codes = {_text(d.get("errorCode")) for d in details if d.get("@type") == FCM_ERROR}
        violations = [
            v
            for d in details
            if d.get("@type") == BAD_REQUEST and isinstance(d.get("fieldViolations"), list)
            for v in d["fieldViolations"]
            if isinstance(v, dict)
        ]
        fields = {_text(v.get("field")) for v in violations} - {""}
        codes = ({status} | fcm_codes) - {""}
        text = f"HTTP {response.status} {'/'.join(sorted(codes))}"
        if fields:
            text += f" ({', '.join(sorted(fields))})"
        if response.status == 429 or "QUOTA_EXCEEDED" in codes:
            retry = response.headers.get("Retry-After")
            return ChannelError(
                text, retry_after=float(retry) if retry and retry.isdigit() else None
            )
        if _token_is_dead(status, codes, fields, answered_by_fcm=bool(fcm_codes - {""})):
            return ChannelError(text, permanent=True, invalid_address=True)
        if response.status >= 500 or response.status in (401, 403):
            return ChannelError(text)
        # Any other refusal (a malformed message) fails this message, not the device.
        return ChannelError(text, permanent=True)


def _text(value) -> str:
    return value[:100] if isinstance(value, str) else ""


def _token_is_dead(status: str, codes: set, fields: set, *, answered_by_fcm: bool) -> bool:
    """Whether FCM's answer is about the device token rather than the message.

    INVALID_ARGUMENT is FCM's answer to any malformed request, so only one whose
    field violation names the token retires the device. A bare 404 without FCM's
    error details is a wrong URL or project, not an uninstalled app.
    """
    if codes & TOKEN_GONE:
        return True
    if status == "NOT_FOUND":
        return answered_by_fcm
    if status == "INVALID_ARGUMENT" or "INVALID_ARGUMENT" in codes:
        return "message.token" in fields
    return False

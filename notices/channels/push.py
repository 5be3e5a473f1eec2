"""Push notifications through Firebase Cloud Messaging's HTTP v1 API.

One request per device, as FCM works. The base URL is a setting, so tests run
against a local fake. A token FCM reports as gone (app uninstalled) is a
permanent failure flagged ``invalid_address``: the dispatcher then retires the
device and falls back to the next channel.
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

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GONE = {"UNREGISTERED", "NOT_FOUND", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH"}


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
        payload = {
            "message": {
                "token": message.to,
                "notification": {"title": message.subject, "body": message.body},
                "data": {"reference": message.reference},
            }
        }
        try:
            response = self.pool.request(
                "POST",
                self.url,
                body=json.dumps(payload),
                headers={
                    "Authorization": f"Bearer {self._access_token()}",
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
            error = json.loads(response.data or b"{}").get("error", {})
        except ValueError:
            error = {}
        codes = {error.get("status", "")} | {
            d.get("errorCode", "") for d in error.get("details", []) if isinstance(d, dict)
        }
        text = f"HTTP {response.status} {'/'.join(sorted(c for c in codes if c))}"
        if response.status == 429 or "QUOTA_EXCEEDED" in codes:
            retry = response.headers.get("Retry-After")
            return ChannelError(
                text, retry_after=float(retry) if retry and retry.isdigit() else None
            )
        if response.status >= 500 or response.status in (401, 403):
            return ChannelError(text)
        if codes & GONE:
            return ChannelError(text, permanent=True, invalid_address=True)
        return ChannelError(text, permanent=response.status < 500)

"""SMS over Twilio's Messages REST API wire format.

Any compatible provider (or the local fake) works: the base URL is a setting.
One keep-alive connection pool per backend, shared by the sending threads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

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

# Error codes that no retry can fix: the number is wrong, unreachable or opted out.
PERMANENT_CODES = {21211, 21214, 21217, 21408, 21610, 21612, 21614, 30003, 30005, 30006}


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """``X-Twilio-Signature``: HMAC-SHA1 over the URL and the sorted POST params."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class TwilioBackend(ChannelBackend):
    channel = "sms"

    def __init__(
        self,
        name: str = "default",
        *,
        api_base_url: str = "https://api.twilio.com",
        account_sid: str = "",
        auth_token: str = "",
        from_number: str = "",
        timeout: float = 10.0,
        pool_size: int = 32,
        **options,
    ) -> None:
        super().__init__(name, **options)
        self.api_base_url = api_base_url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.messages_url = f"{self.api_base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.headers = {
            **urllib3.make_headers(basic_auth=f"{account_sid}:{auth_token}", keep_alive=True),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        self.pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=pool_size,
            block=True,
            retries=False,
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
        )

    def send(self, message: OutgoingMessage) -> str:
        fields = {"To": message.to, "From": self.from_number, "Body": message.body}
        if message.callback_url:
            fields["StatusCallback"] = message.callback_url
        response = self._request("POST", self.messages_url, body=urlencode(fields))
        if response.status in (200, 201):
            return json.loads(response.data)["sid"]
        raise self._error(response)

    def lookup(self, message: OutgoingMessage) -> str | None:
        query = urlencode({"To": message.to, "PageSize": 100})
        response = self._request("GET", f"{self.messages_url}?{query}", lookup=True)
        if response.status != 200:
            raise self._error(response)
        # Messages print the reference grouped (XXXX-XXXX-XXXX).
        printed = format_reference(message.reference)
        for item in json.loads(response.data).get("messages", []):
            if message.reference and printed in (item.get("body") or ""):
                return item["sid"]
        return None

    def _request(self, method: str, url: str, body: str | None = None, lookup: bool = False):
        try:
            return self.pool.request(method, url, body=body, headers=self.headers)
        except (NewConnectionError, ConnectTimeoutError) as exc:
            # Nothing reached the provider.
            raise ChannelError(f"connection failed: {exc.__class__.__name__}") from exc
        except (ReadTimeoutError, ProtocolError) as exc:
            # The request may have been accepted before the answer was lost.
            raise ChannelError(
                f"no answer: {exc.__class__.__name__}", ambiguous=not lookup
            ) from exc
        except HTTPError as exc:
            raise ChannelError(f"HTTP error: {exc.__class__.__name__}", ambiguous=True) from exc

    def _error(self, response) -> ChannelError:
        try:
            data = json.loads(response.data or b"{}")
        except ValueError:
            data = {}
        code = data.get("code")
        text = f"HTTP {response.status}" + (
            f" code {code}: {data.get('message', '')}" if code else ""
        )
        if response.status == 429:
            retry_after = _seconds(response.headers.get("Retry-After"))
            return ChannelError(text, retry_after=retry_after)
        if response.status in (401, 403):
            # Our credentials or our account (revoked token, suspended account):
            # every text would get the same answer, none is the recipient's fault.
            return ChannelError(text, account=True)
        if response.status >= 500 or response.status == 408:
            # Provider trouble: not the recipient's fault.
            return ChannelError(text)
        if code in PERMANENT_CODES or response.status in (400, 404):
            return ChannelError(text, permanent=True)
        return ChannelError(text)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None

"""A fast fake of Twilio's Messages API, for tests and benchmarks.

One asyncio loop serves a hand-written HTTP/1.1 server (keep-alive, pipelining,
``Content-Length`` bodies only) that speaks the subset of the Twilio wire format
the app uses:

* ``POST /2010-04-01/Accounts/{sid}/Messages.json`` accepts a message (201);
* ``GET  /2010-04-01/Accounts/{sid}/Messages.json?To=..&PageSize=..`` lists them;
* signed status callbacks (``sent`` then ``delivered``/``undelivered``) are POSTed
  to ``StatusCallback`` over keep-alive connections (at most ``callback_concurrency``
  per host:port), never delaying the answer to the send.

Faults are injected through ``POST /_fake/config`` and drawn from a seeded
``random.Random`` (exactly one draw per send), so a run is reproducible. What was
received is read back from ``GET /_fake/messages`` (``?since=N``, ``?summary=1``).

Run it as ``python -m tests.fakes.twilio_server --port 0 --account-sid AC.. --auth-token ..``
(prints ``LISTENING http://127.0.0.1:<port>``), or in-process with
:func:`running_fake_twilio`, or as a child process with :func:`start_fake_twilio_process`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, unquote, urlsplit

log = logging.getLogger("fake_twilio")

API_VERSION = "2010-04-01"
REPO_ROOT = Path(__file__).resolve().parents[2]

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024

# ---------------------------------------------------------------------------
# Signatures and small helpers


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """``X-Twilio-Signature`` for a form POST to ``url``.

    base64(HMAC-SHA1(auth_token, url + name1 + value1 + name2 + value2 ...)), the
    params sorted by name; ``url`` is used exactly as given (query string included).
    """
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def max_in_window(timestamps: Sequence[float], window: float = 1.0) -> int:
    """Largest number of ``timestamps`` inside any half-open window ``[t, t + window)``."""
    ts = sorted(timestamps)
    best = start = 0
    for end, t in enumerate(ts):
        while t - ts[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_date_cache: tuple[int, str] = (-1, "")


def rfc2822(ts: float) -> str:
    """Twilio's date format, e.g. ``Thu, 30 Jul 2015 20:12:31 +0000`` (locale independent)."""
    global _date_cache
    second = int(ts)
    cached = _date_cache  # one tuple, swapped atomically: safe with servers on several threads
    if cached[0] == second:
        return cached[1]
    t = time.gmtime(second)
    text = (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )
    _date_cache = (second, text)
    return text


_json_str = json.encoder.encode_basestring_ascii  # str -> quoted JSON string, as json.dumps


def _parse_form(body: bytes) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` to a dict (last value wins), fast when plain."""
    form: dict[str, str] = {}
    if not body:
        return form
    for pair in body.decode("utf-8", "replace").split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = _unquote_plus(name)
        if "%" in value or "+" in value:
            value = _unquote_plus(value)
        form[name] = value
    return form


def _unquote_plus(value: str) -> str:
    """``urllib.parse.unquote_plus``, with shortcuts for the common cases."""
    if value.startswith("%2B") and "%" not in value[3:] and "+" not in value:
        return "+" + value[3:]  # an E.164 number
    if "+" in value:
        value = value.replace("+", " ")
    return unquote(value) if "%" in value else value


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def _error(status: int, code: int, message: str) -> bytes:
    return _dumps(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
    )


_REASONS = {
    100: b"Continue",
    200: b"OK",
    201: b"Created",
    400: b"Bad Request",
    401: b"Unauthorized",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Payload Too Large",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    501: b"Not Implemented",
    503: b"Service Unavailable",
}


def _status_head(status: int) -> bytes:
    reason = _REASONS.get(status, b"Unknown")
    return b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: " % (
        status,
        reason,
    )


_STATUS_HEADS = {status: _status_head(status) for status in _REASONS}

# What a handler returns: (status, JSON body or None to drop the connection,
# extra header lines, seconds to wait before answering, close afterwards).
Reply = tuple[int, bytes | None, bytes, float, bool]


def _reply(status: int, body: bytes, extra: bytes = b"", delay: float = 0.0) -> Reply:
    return (status, body, extra, delay, False)


# ---------------------------------------------------------------------------
# Configuration


_CONFIG_DEFAULTS: dict[str, Any] = {
    "latency_ms": 0.0,
    "error_5xx_rate": 0.0,
    "rate_429": 0.0,
    "retry_after_s": 1,
    "drop_rate": 0.0,
    "drop_after_accept": False,
    "invalid_numbers": [],
    "undeliverable_numbers": [],
    "callbacks": True,
    "duplicate_callbacks": False,
    "reorder_callbacks": False,
    "callback_delay_ms": 0.0,
    "max_rate_per_s": None,
    "seed": 0,
}
_RATES = ("error_5xx_rate", "rate_429", "drop_rate")
_BOOLS = ("drop_after_accept", "callbacks", "duplicate_callbacks", "reorder_callbacks")
_NUMBER_LISTS = ("invalid_numbers", "undeliverable_numbers")


class ConfigError(ValueError):
    pass


def _validated(key: str, value: Any) -> Any:
    if key not in _CONFIG_DEFAULTS:
        raise ConfigError(f"unknown config key {key!r}")
    if key in _BOOLS:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be a boolean")
        return value
    if key in _NUMBER_LISTS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key} must be a list of strings")
        return list(value)
    if key == "seed":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | str)):
            raise ConfigError("seed must be an integer, a string or null")
        return value
    if key == "max_rate_per_s" and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{key} must be a non-negative number")
    if key in _RATES and value > 1:
        raise ConfigError(f"{key} must be between 0 and 1")
    return value


# ---------------------------------------------------------------------------
# State


_STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "undelivered": 2}


class _Message:
    __slots__ = ("body", "callback", "final", "received_at", "sender", "sid", "status", "to")

    def __init__(
        self, sid: str, to: str, sender: str, body: str, received_at: float, callback: str
    ) -> None:
        self.sid = sid
        self.to = to
        self.sender = sender
        self.body = body
        self.received_at = received_at
        self.callback = callback
        self.status = "queued"
        self.final = "delivered"

    def public(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "to": self.to,
            "from": self.sender,
            "body": self.body,
            "received_at": self.received_at,
            "status": self.status,
        }


class _CallbackJob:
    """The status callbacks of one message, sent one after another, in order."""

    __slots__ = ("from_q", "generation", "message", "pos", "retried", "steps", "target", "to_q")

    def __init__(
        self, generation: int, message: _Message, target: _Target, steps: list[str]
    ) -> None:
        self.generation = generation
        self.message = message
        self.target = target
        self.steps = steps
        self.pos = 0  # the next step to send
        self.retried = False  # the current step was resent after a stale keep-alive
        self.from_q = _form_quote(message.sender)
        self.to_q = _form_quote(message.to)


def _form_quote(value: str) -> str:
    """One form value, as ``urlencode`` would quote it."""
    if value[:1] == "+" and value[1:].isascii() and value[1:].isdigit():
        return "%2B" + value[1:]
    return quote_plus(value, safe="")


class _Target:
    """A parsed ``StatusCallback`` URL."""

    __slots__ = ("error", "host", "host_header", "path", "port", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        self.error = ""
        parts = urlsplit(url)
        self.host = parts.hostname or ""
        try:
            self.port = parts.port or 80
        except ValueError:
            self.port = 0
            self.error = f"bad port in callback URL {url!r}"
            return
        self.host_header = parts.netloc
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.scheme != "http":
            self.error = f"unsupported callback scheme {parts.scheme!r}"
        elif not _is_loopback(self.host):
            self.error = f"refusing non-loopback callback host {self.host!r}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FakeTwilioApp:
    """Everything the fake knows, and the request handlers. Runs on one event loop."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages_path = f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"
        credentials = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._auth_header = f"Basic {credentials}".encode()
        self._credentials = f"{account_sid}:{auth_token}".encode()
        self._targets: dict[str, _Target] = {}
        self._account_json = _json_str(account_sid)
        self._message_uri_prefix = f"/{API_VERSION}/Accounts/{account_sid}/Messages/"
        # Message SIDs only need to be unique: not drawn from the seeded fault generator.
        self._sid_random = random.Random(os.urandom(16))
        self._account_q = quote_plus(account_sid, safe="")
        self._hmac = hmac.new(auth_token.encode("utf-8"), digestmod=hashlib.sha1)
        self.callback_client: _CallbackClient | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.generation = 0
        self._reset_state()

    # -- state -------------------------------------------------------------

    def _reset_state(self) -> None:
        self.generation += 1
        self.config: dict[str, Any] = {
            k: (list(v) if isinstance(v, list) else v) for k, v in _CONFIG_DEFAULTS.items()
        }
        self._apply_config()
        self.rng = random.Random(self.config["seed"])
        self.messages: list[_Message] = []
        self.by_to: dict[str, list[_Message]] = {}
        self.pair_counts: dict[tuple[str, str], int] = {}
        self.duplicates = 0
        self.outcomes: dict[str, int] = dict.fromkeys(
            ("200", "201", "400", "401", "404", "405", "429", "5xx", "dropped"), 0
        )
        self.accepted_then_dropped = 0
        self.callbacks_sent = 0
        self.callbacks_failed = 0
        self.callbacks_pending = 0
        self.callbacks_by_status: dict[str, int] = {}
        self.callbacks_last_error = ""
        if self.callback_client is not None:
            self.callback_client.forget()

    def _apply_config(self) -> None:
        cfg = self.config
        self.latency_s = float(cfg["latency_ms"]) / 1000.0
        self.drop_rate = float(cfg["drop_rate"])
        self.error_5xx_rate = float(cfg["error_5xx_rate"])
        self.rate_429 = float(cfg["rate_429"])
        self.invalid_numbers = frozenset(cfg["invalid_numbers"])
        self.undeliverable_numbers = frozenset(cfg["undeliverable_numbers"])
        self.callback_delay_s = float(cfg["callback_delay_ms"]) / 1000.0
        retry_after = cfg["retry_after_s"]
        if float(retry_after).is_integer():
            retry_after = int(retry_after)
        self._retry_after_header = f"Retry-After: {retry_after}\r\n".encode()

    def configure(self, changes: dict[str, Any]) -> None:
        validated = {key: _validated(key, value) for key, value in changes.items()}
        self.config.update(validated)
        self._apply_config()
        if "seed" in validated:
            self.rng = random.Random(validated["seed"])

    def summary(self) -> dict[str, Any]:
        return {
            "total_accepted": len(self.messages),
            "accepted_per_to": {to: len(msgs) for to, msgs in self.by_to.items()},
            "duplicates": self.duplicates,
            "duplicate_pairs": sum(1 for n in self.pair_counts.values() if n > 1),
            "requests": dict(self.outcomes),
            "accepted_then_dropped": self.accepted_then_dropped,
            "callbacks_sent": self.callbacks_sent,
            "callbacks_failed": self.callbacks_failed,
            "callbacks_pending": self.callbacks_pending,
            "callbacks_by_status": dict(self.callbacks_by_status),
            "callbacks_last_error": self.callbacks_last_error,
            "max_accepted_in_1s_window": max_in_window([m.received_at for m in self.messages]),
            "config": dict(self.config),
        }

    # -- dispatch ----------------------------------------------------------

    def handle(self, method: bytes, target: str, authorization: bytes | None, body: bytes) -> Reply:
        path, _, query = target.partition("?")
        if path == self.messages_path:
            if method == b"POST":
                return self._send(authorization, body)
            if method == b"GET":
                return self._list(authorization, query)
            self.outcomes["405"] += 1
            return _reply(405, _error(405, 20004, "Method not allowed"))
        if path.startswith("/_fake/"):
            return self._control(method, path, query, body)
        if path.startswith(f"/{API_VERSION}/"):
            if not self._authorized(authorization):
                self.outcomes["401"] += 1
                return _reply(401, _error(401, 20003, "Authenticate"))
            self.outcomes["404"] += 1
            return _reply(404, _error(404, 20404, f"The requested resource {path} was not found"))
        return _reply(404, _error(404, 20404, f"The requested resource {path} was not found"))

    def _authorized(self, value: bytes | None) -> bool:
        if value is None:
            return False
        if value == self._auth_header:
            return True
        scheme, _, encoded = value.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except ValueError:
            return False
        return hmac.compare_digest(decoded, self._credentials)

    # -- the Messages API --------------------------------------------------

    def _send(self, authorization: bytes | None, body: bytes) -> Reply:
        if not self._authorized(authorization):
            self.outcomes["401"] += 1
            return _reply(401, _error(401, 20003, "Authenticate"))
        delay = self.latency_s
        # Exactly one draw per authenticated send keeps runs reproducible.
        r = self.rng.random()
        if r < self.drop_rate:
            self.outcomes["dropped"] += 1
            if self.config["drop_after_accept"]:
                form = _parse_form(body)
                if self._invalid(form) is None:
                    self._accept(form)
                    self.accepted_then_dropped += 1
            return (0, None, b"", delay, True)
        r -= self.drop_rate
        if r < self.error_5xx_rate:
            self.outcomes["5xx"] += 1
            return _reply(503, _error(503, 20503, "Service Unavailable"), delay=delay)
        r -= self.error_5xx_rate
        if r < self.rate_429:
            self.outcomes["429"] += 1
            return _reply(
                429, _error(429, 20429, "Too Many Requests"), self._retry_after_header, delay
            )
        form = _parse_form(body)
        invalid = self._invalid(form)
        if invalid is not None:
            self.outcomes["400"] += 1
            return _reply(400, invalid, delay=delay)
        message = self._accept(form)
        self.outcomes["201"] += 1
        return _reply(201, self._created_json(message), delay=delay)

    def _invalid(self, form: dict[str, str]) -> bytes | None:
        to = form.get("To", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not to.startswith("+") or to in self.invalid_numbers:
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        text = form.get("Body", "")
        if not text and not form.get("MediaUrl"):
            return _error(400, 21602, "Message body is required.")
        if len(text) > 1600:
            return _error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        return None

    def _accept(self, form: dict[str, str]) -> _Message:
        to = form["To"]
        text = form.get("Body", "")
        message = _Message(
            f"SM{self._sid_random.getrandbits(128):032x}",
            to,
            form.get("From", ""),
            text,
            time.time(),
            form.get("StatusCallback", ""),
        )
        if to in self.undeliverable_numbers:
            message.final = "undelivered"
        self.messages.append(message)
        same_to = self.by_to.get(to)
        if same_to is None:
            self.by_to[to] = [message]
        else:
            same_to.append(message)
        key = (to, text)
        count = self.pair_counts.get(key, 0) + 1
        self.pair_counts[key] = count
        if count > 1:
            self.duplicates += 1
        if message.callback and self.config["callbacks"] and self.callback_client is not None:
            self._schedule_callbacks(message)
        else:
            message.status = message.final
        return message

    def _created_json(self, message: _Message) -> bytes:
        """The 201 body: ``_resource(message)`` with status "queued", without json.dumps."""
        date = rfc2822(message.received_at)
        sid = message.sid
        return (
            f'{{"account_sid":{self._account_json},"api_version":"{API_VERSION}",'
            f'"body":{_json_str(message.body)},"date_created":"{date}","date_sent":null,'
            f'"date_updated":"{date}","direction":"outbound-api","error_code":null,'
            f'"error_message":null,"from":{_json_str(message.sender)},'
            '"messaging_service_sid":null,"num_media":"0","num_segments":"1","price":null,'
            f'"price_unit":"USD","sid":"{sid}","status":"queued","to":{_json_str(message.to)},'
            f'"uri":{_json_str(self._message_uri_prefix + sid + ".json")}}}'
        ).encode()

    def _resource(self, message: _Message) -> dict[str, Any]:
        date = rfc2822(message.received_at)
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": date,
            "date_sent": None,
            "date_updated": date,
            "direction": "outbound-api",
            "error_code": 30003 if message.status == "undelivered" else None,
            "error_message": None,
            "from": message.sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": message.status,
            "to": message.to,
            "uri": f"{self._message_uri_prefix}{message.sid}.json",
        }

    def _list(self, authorization: bytes | None, query: str) -> Reply:
        if not self._authorized(authorization):
            self.outcomes["401"] += 1
            return _reply(401, _error(401, 20003, "Authenticate"))
        params = parse_qs(query)
        to = params.get("To", [""])[0]
        try:
            page_size = min(max(int(params.get("PageSize", ["50"])[0]), 1), 1000)
        except ValueError:
            page_size = 50
        pool = self.by_to.get(to, []) if to else self.messages
        newest_first = pool[-page_size:][::-1]
        uri = f"{self.messages_path}?{query}" if query else self.messages_path
        self.outcomes["200"] += 1
        return _reply(
            200,
            _dumps(
                {
                    "messages": [self._resource(m) for m in newest_first],
                    "end": len(newest_first) - 1 if newest_first else 0,
                    "first_page_uri": uri,
                    "next_page_uri": None,
                    "page": 0,
                    "page_size": page_size,
                    "previous_page_uri": None,
                    "start": 0,
                    "uri": uri,
                }
            ),
        )

    # -- control endpoints -------------------------------------------------

    def _control(self, method: bytes, path: str, query: str, body: bytes) -> Reply:
        if path == "/_fake/messages" and method == b"GET":
            params = parse_qs(query)
            if params.get("summary", ["0"])[0] not in ("", "0", "false"):
                return _reply(200, _dumps(self.summary()))
            try:
                since = max(int(params.get("since", ["0"])[0]), 0)
                limit = int(params.get("limit", ["0"])[0])
            except ValueError:
                return _reply(400, _dumps({"error": "since and limit must be integers"}))
            chosen = self.messages[since : since + limit] if limit > 0 else self.messages[since:]
            return _reply(
                200,
                _dumps(
                    {
                        "count": len(self.messages),
                        "since": since,
                        "next": since + len(chosen),
                        "messages": [m.public() for m in chosen],
                    }
                ),
            )
        if path == "/_fake/config":
            if method == b"GET":
                return _reply(200, _dumps(self.config))
            if method == b"POST":
                try:
                    changes = json.loads(body or b"{}")
                    if not isinstance(changes, dict):
                        raise ConfigError("config must be a JSON object")
                    self.configure(changes)
                except ValueError as exc:  # JSONDecodeError and ConfigError
                    return _reply(400, _dumps({"error": str(exc)}))
                return _reply(200, _dumps(self.config))
        if path == "/_fake/reset" and method == b"POST":
            self._reset_state()
            return _reply(200, _dumps({"ok": True}))
        if path == "/_fake/health":
            return _reply(200, _dumps({"ok": True}))
        return _reply(404, _dumps({"error": f"no control endpoint {method.decode()} {path}"}))

    # -- status callbacks --------------------------------------------------

    def _schedule_callbacks(self, message: _Message) -> None:
        steps = ["sent", message.final]
        if self.config["reorder_callbacks"]:
            steps.reverse()
        if self.config["duplicate_callbacks"]:
            steps = [step for step in steps for _ in (0, 1)]
        target = self._targets.get(message.callback)
        if target is None:
            if len(self._targets) > 1000:
                self._targets.clear()
            target = self._targets[message.callback] = _Target(message.callback)
        job = _CallbackJob(self.generation, message, target, steps)
        self.callbacks_pending += len(steps)
        client = self.callback_client
        assert client is not None
        if self.callback_delay_s > 0:
            client.loop.call_later(self.callback_delay_s, client.submit, job)
        else:
            client.submit(job)

    def callback_request(self, job: _CallbackJob, status: str) -> bytes:
        """The signed form POST of one status callback.

        Built by hand (this runs twice per message); the tests check it against
        ``twilio_signature`` and a plain form parser.
        """
        message = job.message
        sid = message.sid
        target = job.target
        undelivered = status == "undelivered"
        body = (
            f"AccountSid={self._account_q}&ApiVersion={API_VERSION}&From={job.from_q}"
            f"&MessageSid={sid}&MessageStatus={status}&SmsSid={sid}&SmsStatus={status}"
            f"&To={job.to_q}{'&ErrorCode=30003' if undelivered else ''}"
        ).encode()
        # Params sorted by name: AccountSid ApiVersion ErrorCode From MessageSid
        # MessageStatus SmsSid SmsStatus To.
        signed = (
            f"{target.url}AccountSid{self.account_sid}ApiVersion{API_VERSION}"
            f"{'ErrorCode30003' if undelivered else ''}From{message.sender}MessageSid{sid}"
            f"MessageStatus{status}SmsSid{sid}SmsStatus{status}To{message.to}"
        )
        mac = self._hmac.copy()
        mac.update(signed.encode("utf-8"))
        signature = base64.b64encode(mac.digest()).decode("ascii")
        head = (
            f"POST {target.path} HTTP/1.1\r\n"
            f"Host: {target.host_header}\r\n"
            "User-Agent: TwilioProxy/1.1\r\n"
            "Accept: */*\r\n"
            "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Twilio-Signature: {signature}\r\n"
            f"I-Twilio-Idempotency-Token: {sid}-{status}\r\n"
            "\r\n"
        )
        return head.encode("utf-8") + body

    def callback_done(self, job: _CallbackJob, status: str, error: str, http_status: int) -> None:
        if job.generation != self.generation:
            return
        self.callbacks_pending -= 1
        message = job.message
        if _STATUS_RANK[status] > _STATUS_RANK[message.status]:
            message.status = status
        if error:
            self.callbacks_failed += 1
            self.callbacks_last_error = error
        else:
            self.callbacks_sent += 1
        if http_status:
            key = str(http_status)
            self.callbacks_by_status[key] = self.callbacks_by_status.get(key, 0) + 1


# ---------------------------------------------------------------------------
# The HTTP/1.1 server


# (method, target, Authorization value, Content-Length, keep-alive, body offset, expects 100)
_Head = tuple[bytes, str, bytes | None, int, bool, int, bool]


def _header(head: bytes, lower: bytes, marker: bytes) -> bytes | None:
    """The value of the first header whose lower-cased ``\\r\\nname:`` is ``marker``."""
    at = lower.find(marker)
    if at < 0:
        return None
    start = at + len(marker)
    stop = head.find(b"\r\n", start)
    return head[start:stop].strip() if stop >= 0 else head[start:].strip()


class _HttpProtocol(asyncio.Protocol):
    __slots__ = ("_app", "_buf", "_busy", "_closed", "_continued", "_head", "_server", "transport")

    def __init__(self, app: FakeTwilioApp, server: FakeTwilioServer) -> None:
        self._app = app
        self._server = server
        self.transport: asyncio.Transport | None = None
        self._buf = b""
        self._busy = False
        self._closed = False
        self._head: _Head | None = None
        self._continued = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self.transport = None
        self._server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self._buf = self._buf + data if self._buf else data
        if not self._busy:
            self._process()

    def _process(self) -> None:
        while not self._closed and self._buf:
            buf = self._buf
            head = self._head
            if head is None:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD_BYTES:
                        self._fail(431, "request head too large")
                    return
                head = self._parse_head(buf, end)
                if head is None:
                    return
                self._head = head
            method, target, authorization, length, keep_alive, start, expect = head
            total = start + length
            if len(buf) < total:
                if expect and not self._continued:
                    self._continued = True
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # type: ignore[union-attr]
                return
            body = buf[start:total]
            self._buf = buf[total:]
            self._head = None
            self._continued = False
            try:
                status, payload, extra, delay, close = self._app.handle(
                    method, target, authorization, body
                )
            except Exception:
                log.exception("fake twilio: handler failed for %s", target)
                status, payload, extra, delay, close = _reply(
                    500, _dumps({"error": "internal error in the fake"})
                )
            close = close or not keep_alive
            if delay > 0:
                self._busy = True
                asyncio.get_running_loop().call_later(
                    delay, self._answer_later, status, payload, extra, close
                )
                return
            self._answer(status, payload, extra, close)

    def _parse_head(self, buf: bytes, end: int) -> _Head | None:
        head = buf[:end]
        while head.startswith(b"\r\n"):  # tolerate stray CRLFs between requests
            head = head[2:]
        line_end = head.find(b"\r\n")
        request_line = head if line_end < 0 else head[:line_end]
        parts = request_line.split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            self._fail(400, "malformed request line")
            return None
        method, raw_target, version = parts
        # Only a few headers matter: look them up in a lower-cased copy of the head
        # instead of splitting every line (this is the hot path of the benchmark).
        lower = head.lower()
        if b"\r\ntransfer-encoding:" in lower:
            self._fail(501, "chunked request bodies are not supported")
            return None
        raw_length = _header(head, lower, b"\r\ncontent-length:")
        try:
            length = int(raw_length) if raw_length is not None else 0
        except ValueError:
            length = -1
        if length < 0:
            self._fail(400, "bad Content-Length")
            return None
        if length > MAX_BODY_BYTES:
            self._fail(413, "request body too large")
            return None
        connection = (_header(lower, lower, b"\r\nconnection:") or b"").lower()
        if version == b"HTTP/1.1":
            keep_alive = b"close" not in connection
        else:
            keep_alive = b"keep-alive" in connection
        return (
            method,
            raw_target.decode("latin-1"),
            _header(head, lower, b"\r\nauthorization:"),
            length,
            keep_alive,
            end + 4,
            _header(lower, lower, b"\r\nexpect:") == b"100-continue",
        )

    def _answer(self, status: int, payload: bytes | None, extra: bytes, close: bool) -> bool:
        transport = self.transport
        if transport is None or self._closed:
            return False
        if payload is None:  # a dropped request: no answer at all
            self._closed = True
            transport.close()
            return False
        transport.write(
            b"".join(
                (
                    _STATUS_HEADS.get(status) or _status_head(status),
                    str(len(payload)).encode(),
                    b"\r\n",
                    extra,
                    b"Connection: close\r\n\r\n" if close else b"\r\n",
                    payload,
                )
            )
        )
        if close:
            self._closed = True
            transport.close()
            return False
        return True

    def _answer_later(self, status: int, payload: bytes | None, extra: bytes, close: bool) -> None:
        self._busy = False
        if self._answer(status, payload, extra, close) and self._buf:
            self._process()

    def _fail(self, status: int, reason: str) -> None:
        self._answer(status, _dumps({"error": reason}), b"", True)


class FakeTwilioServer:
    """The fake on the running event loop: ``await start()``, then ``await close()``."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        callback_concurrency: int = 8,
        callback_timeout_s: float = 10.0,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"the fake only binds to loopback addresses, not {host!r}")
        self.app = FakeTwilioApp(account_sid, auth_token)
        self.host = host
        self.port = port
        self.callback_concurrency = max(1, callback_concurrency)
        self.callback_timeout_s = callback_timeout_s
        self.connections: set[_HttpProtocol] = set()
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        loop = asyncio.get_running_loop()
        self.app.loop = loop
        self.app.callback_client = _CallbackClient(
            self.app, loop, self.callback_concurrency, self.callback_timeout_s
        )
        self._server = await loop.create_server(
            lambda: _HttpProtocol(self.app, self),
            self.host,
            self.port,
            reuse_address=True,
            backlog=1024,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.base_url

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for protocol in list(self.connections):
            if protocol.transport is not None:
                protocol.transport.close()
        if self.app.callback_client is not None:
            await self.app.callback_client.close()
        if self._server is not None:
            await self._server.wait_closed()


# ---------------------------------------------------------------------------
# The status callback client


class _CallbackPool:
    """The connections to one ``host:port``."""

    __slots__ = ("count", "host", "idle", "port", "waiting")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.count = 0  # open or opening
        self.idle: list[_CallbackConnection] = []
        self.waiting: collections.deque[_CallbackJob] = collections.deque()


class _CallbackClient:
    """Sends status callbacks over keep-alive HTTP/1.1, at most ``limit`` connections per
    ``host:port``. Written as protocol callbacks, not coroutines: a callback costs no task
    switch. One step of a job is in flight at a time, so a message's callbacks keep
    their order; the next step goes out on the same connection as soon as the
    previous one is answered.
    """

    def __init__(
        self, app: FakeTwilioApp, loop: asyncio.AbstractEventLoop, limit: int, timeout: float
    ) -> None:
        self.app = app
        self.loop = loop
        self.limit = limit
        self.timeout = timeout
        self.pools: dict[tuple[str, int], _CallbackPool] = {}
        self.connections: set[_CallbackConnection] = set()
        self.busy: set[_CallbackConnection] = set()
        self.connecting: set[asyncio.Task[None]] = set()
        self.closed = False
        self._sweeper = loop.call_later(0.25, self._sweep)

    def submit(self, job: _CallbackJob) -> None:
        app = self.app
        if self.closed or job.generation != app.generation or job.pos >= len(job.steps):
            return
        target = job.target
        if target.error:
            while job.pos < len(job.steps):
                job.pos += 1
                app.callback_done(job, job.steps[job.pos - 1], target.error, 0)
            return
        key = (target.host, target.port)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = _CallbackPool(target.host, target.port)
        if pool.idle:
            pool.idle.pop().start(job)
            return
        pool.waiting.append(job)
        if pool.count < self.limit:
            self._open(pool)

    def after_step(self, job: _CallbackJob, conn: _CallbackConnection | None) -> None:
        """A step was answered (or failed): send the job's next one, then reuse ``conn``."""
        if not self.closed and job.generation == self.app.generation and job.pos < len(job.steps):
            delay = self.app.callback_delay_s
            if delay > 0:
                self.loop.call_later(delay, self.submit, job)
            elif conn is not None:
                conn.start(job)
                return
            else:
                self.submit(job)
        if conn is not None:
            self.take_next(conn)

    def take_next(self, conn: _CallbackConnection) -> None:
        pool = conn.pool
        generation = self.app.generation
        while pool.waiting:
            job = pool.waiting.popleft()
            if job.generation == generation and job.pos < len(job.steps):
                conn.start(job)
                return
        pool.idle.append(conn)

    def refill(self, pool: _CallbackPool) -> None:
        """Keep jobs moving after connections went away."""
        while not self.closed and pool.waiting and pool.count < min(self.limit, len(pool.waiting)):
            self._open(pool)

    def forget(self) -> None:
        """After a reset: drop the jobs not started yet."""
        for pool in self.pools.values():
            pool.waiting.clear()

    def _open(self, pool: _CallbackPool, job: _CallbackJob | None = None) -> None:
        """Open a connection; it starts ``job``, or else the first waiting one."""
        pool.count += 1
        task = self.loop.create_task(self._connect(pool, job))
        self.connecting.add(task)
        task.add_done_callback(self.connecting.discard)

    async def _connect(self, pool: _CallbackPool, job: _CallbackJob | None) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await self.loop.create_connection(
                    lambda: _CallbackConnection(self, pool, job), pool.host, pool.port
                )
        except OSError as exc:  # refused, unreachable, timed out
            pool.count -= 1
            # The connection was opened for a job: its current step fails.
            generation = self.app.generation
            while job is None and pool.waiting:
                candidate = pool.waiting.popleft()
                if candidate.generation == generation and candidate.pos < len(candidate.steps):
                    job = candidate
            if job is not None and job.generation == generation and job.pos < len(job.steps):
                job.pos += 1
                job.retried = False
                self.app.callback_done(
                    job, job.steps[job.pos - 1], f"{type(exc).__name__}: {exc}", 0
                )
                self.after_step(job, None)
            self.refill(pool)

    def _sweep(self) -> None:
        now = self.loop.time()
        for conn in list(self.busy):
            if now - conn.started > self.timeout and conn.transport is not None:
                conn.timed_out = True
                conn.transport.abort()
        if not self.closed:
            self._sweeper = self.loop.call_later(0.25, self._sweep)

    async def close(self) -> None:
        self.closed = True
        self._sweeper.cancel()
        for task in list(self.connecting):
            task.cancel()
        await asyncio.gather(*self.connecting, return_exceptions=True)
        for conn in list(self.connections):
            if conn.transport is not None:
                if conn.job is None:
                    conn.transport.close()
                else:
                    conn.transport.abort()
        await asyncio.sleep(0)  # let connection_lost run


class _CallbackConnection(asyncio.Protocol):
    __slots__ = (
        "buf",
        "client",
        "job",
        "pool",
        "requests",
        "started",
        "status",
        "timed_out",
        "transport",
    )

    def __init__(
        self, client: _CallbackClient, pool: _CallbackPool, first: _CallbackJob | None
    ) -> None:
        self.client = client
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.job: _CallbackJob | None = first  # started in connection_made
        self.status = ""
        self.buf = b""
        self.requests = 0
        self.started = 0.0
        self.timed_out = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.client.connections.add(self)
        first, self.job = self.job, None
        if first is not None and first.generation == self.client.app.generation:
            self.start(first)
        else:
            self.client.take_next(self)

    def start(self, job: _CallbackJob) -> None:
        client = self.client
        self.job = job
        self.status = job.steps[job.pos]
        job.pos += 1
        self.buf = b""
        self.requests += 1
        self.started = client.loop.time()
        client.busy.add(self)
        self.transport.write(client.app.callback_request(job, self.status))  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        if self.job is None:
            return  # nothing asked: ignore
        self.buf += data
        try:
            parsed = _parse_response(self.buf, eof=False)
        except ValueError:
            self.transport.abort()  # type: ignore[union-attr]  # connection_lost fails the step
            return
        if parsed is not None:
            self._answered(*parsed)

    def _answered(self, http_status: int, keep_alive: bool) -> None:
        job, status, client = self.job, self.status, self.client
        assert job is not None
        self.job = None
        client.busy.discard(self)
        job.retried = False
        error = "" if 200 <= http_status < 300 else f"callback answered HTTP {http_status}"
        client.app.callback_done(job, status, error, http_status)
        if keep_alive and self.transport is not None:
            client.after_step(job, self)
        else:
            if self.transport is not None:
                self.transport.close()
            client.after_step(job, None)

    def connection_lost(self, exc: Exception | None) -> None:
        client, pool = self.client, self.pool
        self.transport = None
        pool.count -= 1
        client.connections.discard(self)
        if self in pool.idle:
            pool.idle.remove(self)
        job = self.job
        if job is not None:
            parsed = None
            if not self.timed_out:
                with contextlib.suppress(ValueError):
                    parsed = _parse_response(self.buf, eof=True)
            if parsed is not None:  # a response delimited by the end of the connection
                self._answered(parsed[0], False)
            elif self.requests > 1 and not self.buf and not job.retried and not self.timed_out:
                # The peer closed an idle keep-alive connection as we reused it: once
                # more, on a fresh connection.
                self.job = None
                client.busy.discard(self)
                job.retried = True
                job.pos -= 1
                if not client.closed:
                    client._open(pool, job)
            else:
                self.job = None
                client.busy.discard(self)
                job.retried = False
                if self.timed_out:
                    error = f"callback timed out after {client.timeout}s"
                else:
                    error = f"connection lost: {exc!r}" if exc else "connection closed early"
                client.app.callback_done(job, self.status, error, 0)
                client.after_step(job, None)
        client.refill(pool)


def _parse_response(buf: bytes, eof: bool) -> tuple[int, bool] | None:
    """(status, reusable) once ``buf`` holds a whole HTTP/1.x response, else None.

    ``eof``: the peer closed the connection, so a body without a length ends here.
    Raises ValueError on garbage or on a response cut short.
    """
    start = 0
    while True:
        end = buf.find(b"\r\n\r\n", start)
        if end < 0:
            if eof:
                raise ValueError("truncated response head")
            return None
        line_end = buf.find(b"\r\n", start)
        parts = buf[start:line_end].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ValueError("not an HTTP/1.x response")
        version, status = parts[0], int(parts[1])
        if 100 <= status < 200 and status != 101:
            start = end + 4  # an interim response: skip it
            continue
        break
    lower = buf[start:end].lower()
    connection = _header(lower, lower, b"\r\nconnection:") or b""
    if version == b"HTTP/1.1":
        keep_alive = b"close" not in connection
    else:
        keep_alive = b"keep-alive" in connection
    body_start = end + 4
    if b"chunked" in (_header(lower, lower, b"\r\ntransfer-encoding:") or b""):
        complete = _chunked_end(buf, body_start) is not None
    else:
        length = _header(lower, lower, b"\r\ncontent-length:")
        if length is not None:
            complete = len(buf) - body_start >= int(length)
        elif status in (204, 304):
            complete = True
        else:
            return (status, False) if eof else None  # delimited by the end of the connection
    if complete:
        return status, keep_alive
    if eof:
        raise ValueError("truncated response body")
    return None


def _chunked_end(buf: bytes, pos: int) -> int | None:
    """Where a chunked body starting at ``pos`` ends, or None if it is not all there."""
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(buf[pos:line_end].split(b";")[0].strip(), 16)
        pos = line_end + 2
        if size == 0:
            while True:  # trailers, then an empty line
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    return None
                if line_end == pos:
                    return pos + 2
                pos = line_end + 2
        pos += size + 2
        if pos > len(buf):
            return None


# ---------------------------------------------------------------------------
# Helpers for tests


class FakeTwilio:
    """A handle on a running fake; talks to its ``/_fake/`` endpoints with urllib."""

    def __init__(self, base_url: str, account_sid: str, auth_token: str) -> None:
        self.base_url = base_url
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages_url = f"{base_url}/{API_VERSION}/Accounts/{account_sid}/Messages.json"

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"fake twilio {method} {path}: {exc.read().decode()}") from exc

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change any subset of the config; returns the whole config."""
        return self._call("POST", "/_fake/config", changes)

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/_fake/config")

    def messages(self, since: int = 0) -> list[dict[str, Any]]:
        """Accepted messages, oldest first, from index ``since``."""
        return self._call("GET", f"/_fake/messages?since={since}")["messages"]

    def summary(self) -> dict[str, Any]:
        return self._call("GET", "/_fake/messages?summary=1")

    def reset(self) -> None:
        self._call("POST", "/_fake/reset", {})

    def wait_for_callbacks(self, timeout: float = 10.0) -> dict[str, Any]:
        """Poll until no status callback is pending (or scheduled); returns the summary."""
        deadline = time.monotonic() + timeout
        while True:
            summary = self.summary()
            if summary["callbacks_pending"] == 0 or time.monotonic() > deadline:
                return summary
            time.sleep(0.01)


@contextlib.contextmanager
def running_fake_twilio(
    account_sid: str,
    auth_token: str,
    *,
    callback_concurrency: int = 8,
    callback_timeout_s: float = 10.0,
    **config: Any,
) -> Iterator[FakeTwilio]:
    """Run the fake on a background thread (own event loop, free loopback port)."""
    server = FakeTwilioServer(
        account_sid,
        auth_token,
        callback_concurrency=callback_concurrency,
        callback_timeout_s=callback_timeout_s,
    )
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(server.close())
            loop.close()

    thread = threading.Thread(target=run, name="fake-twilio", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("fake twilio did not start within 10s")
    if failure:
        raise failure[0]
    try:
        fake = FakeTwilio(server.base_url, account_sid, auth_token)
        if config:
            fake.configure(**config)
        yield fake
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def start_fake_twilio_process(
    account_sid: str,
    auth_token: str,
    *,
    callback_concurrency: int | None = None,
    config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 15.0,
) -> tuple[subprocess.Popen[str], str]:
    """Start the fake as a child process; returns it and its base URL once it listens.

    The caller stops it: ``proc.terminate(); proc.wait()``. Its stdout stays a pipe
    (nothing more is written to it); stderr is inherited. It also exits when its stdin
    (a pipe held by this process) closes, so it never outlives a crashed test run.
    """
    command = [
        sys.executable,
        "-m",
        "tests.fakes.twilio_server",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--account-sid",
        account_sid,
        "--auth-token",
        auth_token,
        "--exit-with-stdin",
    ]
    if callback_concurrency is not None:
        command += ["--callback-concurrency", str(callback_concurrency)]
    if config:
        command += ["--config", json.dumps(config)]
    proc = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        bufsize=1,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("LISTENING "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"fake twilio did not start (first line {line!r})")
    return proc, line.split(" ", 1)[1].strip()


# ---------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--callback-concurrency", type=int, default=8)
    parser.add_argument("--callback-timeout", type=float, default=10.0)
    parser.add_argument("--config", default="", help="initial config, as JSON")
    parser.add_argument(
        "--exit-with-stdin", action="store_true", help="exit when stdin reaches end of file"
    )
    args = parser.parse_args(argv)
    if not _is_loopback(args.host):
        parser.error(f"the fake only binds to loopback addresses, not {args.host!r}")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    async def serve() -> None:
        server = FakeTwilioServer(
            args.account_sid,
            args.auth_token,
            host=args.host,
            port=args.port,
            callback_concurrency=args.callback_concurrency,
            callback_timeout_s=args.callback_timeout,
        )
        if args.config:
            server.app.configure(json.loads(args.config))
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if args.exit_with_stdin:

            def watch_stdin() -> None:
                # os.read, not sys.stdin: a daemon thread blocked in a buffered read
                # would abort the interpreter's shutdown.
                with contextlib.suppress(OSError):
                    while os.read(0, 65536):
                        pass
                loop.call_soon_threadsafe(stop.set)

            threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()
        print(f"LISTENING {server.base_url}", flush=True)
        await stop.wait()
        await server.close()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())

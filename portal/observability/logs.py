"""Log lines as JSON with the request or task id, and no personal data.

Both filters sit on the handlers (settings.LOGGING), so they apply to every
record that reaches them, whichever logger it came from.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from portal.observability import context

# An address, also URL-encoded (a search query in a logged request line).
EMAIL_PATTERN = re.compile(r"[\w.%+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
# A phone number in any usual format: 9 to 17 digits, optionally after + (or
# its URL encoding), with single spaces, dashes or brackets between them. It
# must not continue a word, an IP address, a time or a UUID, so ids, addresses
# and timestamps survive.
PHONE_PATTERN = re.compile(r"(?<![\w.:/@%-])(?:\+|%2B)?\(?\d(?:[ ()-]{0,2}\d){8,16}(?![\w@:]|\.\d)")

# allauth's emailed links carry their secret in the path: a password reset's
# key (it sets a new password until it is used) and an email confirmation's.
_KEY_IN_PATH = re.compile(r"(/password/reset/key/|/confirm-email/)[^/\s?#\"']+")

# PostgreSQL's errors quote the values they refused, in a traceback or a
# failed import: a whole row (names, a birth date's hash, a masked value), a
# key, the statement, or a field that did not parse (a raw birth date).
_DB_VALUES = [
    (re.compile(r"(Failing row contains )\(.*"), r"\1[row]"),
    # The statement around the error, its values inlined (Django binds them client-side).
    (re.compile(r"^(LINE \d+: ).*", re.MULTILINE), r"\1[statement]"),
    (re.compile(r"(Key \(.*?\)=)\(.*\)"), r"\1([value])"),
    (
        re.compile(
            r"((?:for type [\w ]+|out of range|COPY \w+, line \d+(?:, column \w+)?): )\"[^\n]*\""
        ),
        r"\1[value]",
    ),
]

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
KEY_MASK = "[key]"

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "task_id"}


def redact(text: str) -> str:
    text = _KEY_IN_PATH.sub(rf"\1{KEY_MASK}", text)
    for pattern, mask in _DB_VALUES:
        text = pattern.sub(mask, text)
    return PHONE_PATTERN.sub(PHONE_MASK, EMAIL_PATTERN.sub(EMAIL_MASK, text))


def traceback_without_messages(exc: BaseException) -> str:
    """Where ``exc`` (and what caused it) was raised, naming each exception's
    type but not its message: a database error quotes the values it refused
    ("Failing row contains (…)"), which can be a name or a birth date that the
    email and phone masks do not catch."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        # File, line and function only: enough to find it, and no source text.
        frames = "".join(
            f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n'
            for frame in traceback.extract_tb(current.__traceback__)
        )
        parts.append(f"{frames}{type(current).__module__}.{type(current).__qualname__}")
        current = current.__cause__ or current.__context__
    return "\nwhile handling it, or caused by:\n".join(parts)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_scrub(v) for v in value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value


TASK_MESSAGE_MASK = "[task message]"


def _quotes_a_task_message(record: logging.LogRecord) -> bool:
    """Celery lines that print a task's message whole, its arguments with it
    (a sign-in or claim code, a rendered email): the pool's line for every task
    at DEBUG, and the consumer's for a message it cannot run."""
    template = record.msg if isinstance(record.msg, str) else ""
    return record.name.startswith("celery") and (
        template.startswith("TaskPool: Apply") or "body" in template
    )


def _without_task_message(args: tuple) -> tuple:
    # The exception and the pool's function say what happened; the rest is payload.
    return tuple(
        arg if isinstance(arg, BaseException) or callable(arg) else TASK_MESSAGE_MASK
        for arg in args
    )


class ContextFilter(logging.Filter):
    """Stamp each record with the current request id and Celery task id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.request_id.get()
        if getattr(record, "task_id", None) is None:
            record.task_id = context.task_id.get()
        return True


class RedactFilter(logging.Filter):
    """A safety net: email addresses, phone numbers and the keys of emailed
    links never reach the output.

    The message is formatted here (msg % args) and redacted, and so are the
    traceback and any extra fields. A record that needed it is marked
    ``redacted``: it names a log call to fix.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and _quotes_a_task_message(record):
            record.args = _without_task_message(record.args)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let the formatter report it
            return True
        clean = redact(message)
        changed = clean != message
        record.msg, record.args = clean, ()
        if record.name.startswith("celery"):
            # Celery's copy of the message's fields, with the task's arguments.
            record.__dict__.pop("data", None)
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            # Formatters would render the traceback again from exc_info.
            record.exc_info = None
        for key in ("exc_text", "stack_info"):
            text = getattr(record, key, None)
            if text:
                setattr(record, key, redact(text))
                changed = changed or getattr(record, key) != text
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str | list | tuple | dict):
                scrubbed = _scrub(value)
                changed = changed or scrubbed != value
                setattr(record, key, scrubbed)
        if changed:
            record.redacted = True
        return True


# Where allauth's headless API is mounted (portal/urls.py); also read by
# portal.json_bodies. Kept here: settings import this module, which must not
# import Django REST framework.
HEADLESS_PREFIX = "/_allauth/"


class SignInFlowFilter(logging.Filter):
    """On ``django.request``: drop the warning for allauth headless's 401s.

    The app's sign-in answers 401 at every step until it is done (the pending
    flow, with its session token), and so does asking whether one is signed in:
    that is the protocol, not a failure. On breach day it would be a warning
    per sign-in, burying the ones that matter. A wrong code is a 400, too many
    tries a 429: both are still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 401:
            return True
        request = getattr(record, "request", None)
        return not getattr(request, "path", "").startswith(HEADLESS_PREFIX)


class JsonFormatter(_JsonFormatter):
    """One JSON object a line: timestamp, level, logger, message, request_id or
    task_id, then any extra fields (the HTTP request object excepted)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        # Django's request logs carry the request itself: its repr has the query string.
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request"])
        super().__init__(*args, **kwargs)

    def process_log_record(self, log_data: dict) -> dict:
        log_data = {"timestamp": log_data.pop("timestamp"), **log_data}
        for key in ("request_id", "task_id"):
            if log_data.get(key) is None:
                log_data.pop(key, None)
        return log_data


def logging_config(*, fmt: str, level: str) -> dict:
    """settings.LOGGING: ``json`` or the ``plain`` text format, the same filters."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "portal.observability.logs.ContextFilter"},
            "redact": {"()": "portal.observability.logs.RedactFilter"},
            "sign_in_flow": {"()": "portal.observability.logs.SignInFlowFilter"},
        },
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "portal.observability.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["context", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own set-up (DEFAULT_LOGGING, applied before this) gives these
            # handlers without the filters: with DEBUG every django.* line was printed
            # a second time unredacted, and runserver's request lines (query strings
            # and all) only so. Through the root's handler instead; levels unchanged.
            "django": {"handlers": []},
            "django.server": {"handlers": [], "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            "django.request": {"filters": ["sign_in_flow"]},
            # At DEBUG it logs whole template contexts.
            "django.template": {"level": "INFO"},
        },
    }

"""Counters and histograms each process keeps (web, workers).

With PROMETHEUS_MULTIPROC_DIR set (required under gunicorn and Celery's
prefork pool), prometheus_client keeps them in files there and any process of
the host reports the sum. What the database or the broker knows (deliveries
by state, queue depths, imports) is read at scrape time instead
(``portal.observability.exposition``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess

PROVIDER_SECONDS = Histogram(
    "firsthand_provider_send_seconds",
    "Time a channel provider took to answer a send, whatever the answer.",
    ["channel", "provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PROVIDER_SENDS = Counter(
    "firsthand_provider_sends",
    "Messages a channel provider accepted (the send rate).",
    ["channel", "provider"],
)
PROVIDER_ERRORS = Counter(
    "firsthand_provider_errors",
    "Sends a provider refused or did not answer, by kind: permanent, transient, "
    "ambiguous (may have been accepted) or unexpected (a bug).",
    ["channel", "provider", "kind"],
)
SIGN_INS = Counter("firsthand_sign_ins", "Successful sign-ins.", ["who"])
SIGN_IN_FAILURES = Counter(
    "firsthand_sign_in_failures",
    "Refused sign-in attempts: a wrong password, one-time code or second factor.",
    ["reason"],
)
RATE_LIMIT_REFUSALS = Counter(
    "firsthand_rate_limit_refusals",
    "Requests refused by a rate limit: a 429 answer (by route) or a sign-in form's limit.",
    ["route"],
)


def registry() -> CollectorRegistry:
    """This host's processes together in multiprocess mode, else this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
        return combined
    return REGISTRY


def metered_send(send: Callable, channel: str, provider: str) -> Callable:
    """Wrap a backend's ``send`` to time it and count its outcome."""
    from notices.channels.base import ChannelError

    def wrapper(message):
        started = time.perf_counter()
        kind = None
        try:
            result = send(message)
        except ChannelError as exc:
            kind = "permanent" if exc.permanent else "ambiguous" if exc.ambiguous else "transient"
            raise
        except Exception:
            kind = "unexpected"
            raise
        finally:
            PROVIDER_SECONDS.labels(channel, provider).observe(time.perf_counter() - started)
            if kind is None:
                PROVIDER_SENDS.labels(channel, provider).inc()
            else:
                PROVIDER_ERRORS.labels(channel, provider, kind).inc()
        return result

    wrapper.__wrapped__ = send  # type: ignore[attr-defined]
    return wrapper


# --- signal receivers (connected in PortalConfig.ready) -------------------------


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    SIGN_INS.labels("staff" if user.is_staff else "customer").inc()


# allauth's error codes for a refused sign-in and for its sign-in rate limits.
_SIGN_IN_FAILURES = {
    "email_password_mismatch": "password",
    "username_password_mismatch": "password",
    "phone_password_mismatch": "password",
    "incorrect_code": "code",
}
_RATE_LIMITED = {"too_many_login_attempts", "rate_limited"}


def on_allauth_error(code: str) -> None:
    """Called by the account adapter for every error allauth shows a user."""
    if code in _SIGN_IN_FAILURES:
        SIGN_IN_FAILURES.labels(_SIGN_IN_FAILURES[code]).inc()
    elif code in _RATE_LIMITED:
        RATE_LIMIT_REFUSALS.labels(f"allauth:{code}").inc()


def on_mfa_error(code: str) -> None:
    """Called by the MFA adapter: a wrong TOTP code or security key."""
    if code == "incorrect_code":
        SIGN_IN_FAILURES.labels("mfa").inc()

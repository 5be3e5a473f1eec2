"""Authenticator codes for staff signing in through the browser."""

from __future__ import annotations

import time

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)


def totp_code(secret: str, *, margin: float = 3.0) -> str:
    """The code of the current time step, with ``margin`` seconds of it left.

    The server accepts only the current step (MFA_TOTP_TOLERANCE is 0): a code
    computed at the end of a step would be stale by the time it is submitted.
    """
    period = app_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < margin:
        time.sleep(left + 0.05)
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))

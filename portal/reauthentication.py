"""A recent authentication, asked before a change that would hand the login to
someone else: moving its email or phone (a code to the new one proves only that
whoever holds the session reads it). A stolen session must first sign in again
or confirm a code sent to the login's own address.

"Recent" is allauth's window, ``ACCOUNT_REAUTHENTICATION_TIMEOUT``, counted from
the last sign-in or re-authentication this session recorded (allauth records
both: a sign-in by code is as strong a proof as a re-authentication by code).
"""

from __future__ import annotations

import time
from types import SimpleNamespace

from allauth.account import app_settings
from allauth.account.internal.flows.login import get_authentication_records


def recently_authenticated(*, user, session) -> bool:
    """``session``: the browser's, or the one an app's session token names."""
    if session is None or not user.is_authenticated:
        return False
    since = time.time() - app_settings.REAUTHENTICATION_TIMEOUT
    records = get_authentication_records(SimpleNamespace(session=session), user)
    return any(isinstance(r, dict) and r.get("at", 0) >= since for r in records)

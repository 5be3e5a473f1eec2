"""The content generation: a counter in the shared cache that moves whenever
what every customer sees changes (an incident, a notice, the data classes and
their steps).

Customer pages are built from per-process copies of that content (see
customers/selectors.py, customers/dashboard_page.py). Each process looks at the
counter at most once every CHECK_SECONDS and drops its copies when it moved, so
a staff edit shows everywhere within about a second, while a sign-in storm
reads the counter once a second per process instead of the tables per request.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import transaction

KEY = "content-generation"
CHECK_SECONDS = 1.0
_seen: dict[str, float | int] = {"at": float("-inf"), "value": 0}


def current() -> int:
    """The generation as this process last read it (at most CHECK_SECONDS old)."""
    now = time.monotonic()
    if now - _seen["at"] >= CHECK_SECONDS:
        _seen["value"] = cache.get_or_set(KEY, 1, timeout=None)
        _seen["at"] = now
    return _seen["value"]


def bump() -> None:
    """What customers see changed: every process rebuilds its copies."""
    try:
        cache.incr(KEY)
    except ValueError:  # not set yet (a fresh cache)
        cache.add(KEY, 2, timeout=None)
    _seen["at"] = float("-inf")  # this process sees its own change at once


def bump_on_commit(**_signal) -> None:
    """A signal receiver: bump once the change is visible to other processes."""
    transaction.on_commit(bump)


def forget() -> None:
    """Tests: read the counter afresh on the next call."""
    _seen["at"] = float("-inf")

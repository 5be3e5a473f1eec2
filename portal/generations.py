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

import logging
import time

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)
KEY = "content-generation"
CHECK_SECONDS = 1.0
_seen: dict[str, float | int] = {"at": float("-inf"), "value": 0}


def _fresh() -> int:
    # A counter lost with the cache (flushed, evicted) starts again from the clock,
    # past any value it had, so no process mistakes old copies for new ones.
    return time.time_ns() // 1000


def current() -> int:
    """The generation as this process last read it (at most CHECK_SECONDS old)."""
    now = time.monotonic()
    if now - _seen["at"] >= CHECK_SECONDS:
        _seen["value"] = cache.get_or_set(KEY, _fresh, timeout=None)
        _seen["at"] = now
    return _seen["value"]


def bump() -> None:
    """What customers see changed: every process rebuilds its copies. Runs after
    a commit, so a cache outage is logged, not raised at the staff member whose
    change is already saved (copies then refresh within their own time limits)."""
    try:
        try:
            cache.incr(KEY)
        except ValueError:  # not set (a fresh or flushed cache)
            cache.add(KEY, _fresh(), timeout=None)
    except Exception:
        logger.exception("content generation not bumped: customer pages refresh late")
    _seen["at"] = float("-inf")  # this process sees its own change at once


_copies: dict[str, tuple[float, int, object]] = {}


def copy(key: str, seconds: float, load):
    """This process's copy of some shared content: ``load()`` again when the
    generation has moved, or after ``seconds`` should a change ever bypass it."""
    now, generation = time.monotonic(), current()
    hit = _copies.get(key)
    if hit is None or hit[1] != generation or now - hit[0] > seconds:
        hit = (now, generation, load())
        _copies[key] = hit
    return hit[2]


def copied_at(key: str) -> float:
    """When this process loaded its copy of ``key`` (a stamp for caches built on it)."""
    return _copies[key][0]


def bump_on_commit(**_signal) -> None:
    """A signal receiver: bump once the change is visible to other processes."""
    transaction.on_commit(bump)


def forget() -> None:
    """Tests: read the counter afresh and load every copy again."""
    _seen["at"] = float("-inf")
    _copies.clear()

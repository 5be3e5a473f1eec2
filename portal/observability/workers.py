"""Which Celery workers are alive: each writes a heartbeat into the shared cache.

A worker bootstep (added to the app in portal/celery.py) records the worker's
name, queues and the time every WORKER_HEARTBEAT_SECONDS, from the worker's
main process. It needs no broadcast, so it works on every broker, the file
broker included; a worker that stops cleanly removes itself, one that dies
stays listed as not seen since.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

from celery import bootsteps
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

_KEY = "celery-workers-seen"
# A worker not seen for a day is forgotten.
_KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class WorkerSeen:
    hostname: str
    queues: list[str]
    seen_at: float  # epoch seconds

    @property
    def seconds_ago(self) -> float:
        return max(0.0, time.time() - self.seen_at)

    @property
    def alive(self) -> bool:
        return self.seconds_ago <= 3 * settings.WORKER_HEARTBEAT_SECONDS


def heartbeat(*, hostname: str, queues: list[str], now: float | None = None) -> None:
    """Record that this worker is alive. Workers write the same key: a lost
    update is repaired by the writer's next beat."""
    now = time.time() if now is None else now
    seen = {
        name: entry
        for name, entry in (cache.get(_KEY) or {}).items()
        if now - entry["at"] < _KEEP_SECONDS
    }
    seen[hostname] = {"at": now, "queues": sorted(queues)}
    cache.set(_KEY, seen, _KEEP_SECONDS)


def forget(hostname: str) -> None:
    seen = cache.get(_KEY) or {}
    if seen.pop(hostname, None) is not None:
        cache.set(_KEY, seen, _KEEP_SECONDS)


def workers_known() -> list[WorkerSeen]:
    """Every worker seen within a day, most recently seen first."""
    entries = (cache.get(_KEY) or {}).items()
    found = [WorkerSeen(name, entry["queues"], entry["at"]) for name, entry in entries]
    return sorted(found, key=lambda w: (-w.seen_at, w.hostname))


def workers_seen() -> list[WorkerSeen]:
    """Workers whose last heartbeat is at most three intervals old."""
    return [w for w in workers_known() if w.alive]


class Heartbeat(bootsteps.StartStopStep):
    """Beat at start, then on the worker's timer; forget the worker on shutdown."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs) -> None:
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker) -> None:
        self.beat(worker)
        self.tref = worker.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_SECONDS, self.beat, (worker,), priority=10
        )

    def stop(self, worker) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        try:
            forget(worker.hostname)
        except Exception:
            logger.warning("could not remove the worker's heartbeat", exc_info=True)

    def beat(self, worker) -> None:
        queues = [queue.name for queue in worker.app.amqp.queues.consume_from.values()]
        try:
            heartbeat(hostname=worker.hostname, queues=queues)
        except Exception:  # the cache is down: the worker keeps working
            logger.warning("could not record the worker's heartbeat (pid %s)", os.getpid())

"""Thin Celery tasks of the project itself."""

from __future__ import annotations

from celery import shared_task

# Each run works this long, then queues a fresh task behind whatever waits on
# the default queue (the sweep): a backlog of millions of rows is worked off in
# slices, never holding a worker for long.
RETENTION_RUN_SECONDS = 120


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def apply_retention() -> None:
    """Daily (Celery beat): the data-retention policy, in bounded batches."""
    from portal.retention import retention_apply

    report = retention_apply(seconds=RETENTION_RUN_SECONDS)
    if not report.complete:
        apply_retention.delay()

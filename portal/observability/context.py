"""The request or Celery task a log line belongs to.

Context variables, so each thread (gunicorn threads, the dispatch pool) and
each asyncio task sees its own.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id: ContextVar[str | None] = ContextVar("task_id", default=None)

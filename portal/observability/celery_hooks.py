"""Observability inside Celery: Django's logging, a task id on every line
logged while a task runs, request ids carried into tasks, worker heartbeats,
and (WORKER_METRICS_PORT) a metrics endpoint on worker hosts."""

from __future__ import annotations

import logging
import os

from celery import Celery, signals

from portal.observability import context
from portal.observability.workers import Heartbeat

logger = logging.getLogger(__name__)

_HEADER = "firsthand_request_id"
_tokens: dict[str, list] = {}


def configure_logging(loglevel=None, **kwargs) -> None:
    """Workers and beat log like the web (settings.LOGGING) instead of Celery's
    own set-up; ``--loglevel`` still sets the level."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


def task_started(task_id=None, task=None, **kwargs) -> None:
    tokens = [context.task_id.set(task_id)]
    request_id = getattr(getattr(task, "request", None), _HEADER, None)
    if request_id and context.request_id.get() is None:
        tokens.append(context.request_id.set(request_id))
    _tokens[task_id] = tokens


def task_finished(task_id=None, **kwargs) -> None:
    for token in reversed(_tokens.pop(task_id, [])):
        try:
            token.var.reset(token)
        except ValueError:  # set in another context
            token.var.set(None)


def carry_request_id(headers=None, **kwargs) -> None:
    """A task queued while serving a request carries that request's id."""
    request_id = context.request_id.get()
    if request_id and headers is not None:
        headers.setdefault(_HEADER, request_id)


def start_worker_metrics(**kwargs):
    """Serve this host's worker metrics for Prometheus (unauthenticated: bind
    it to a private address)."""
    from django.conf import settings
    from prometheus_client import start_http_server

    from portal.observability.metrics import registry

    port = settings.WORKER_METRICS_PORT
    if not port:
        return
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        logger.warning("PROMETHEUS_MULTIPROC_DIR is not set: pool processes' metrics are lost")
    try:
        server, _thread = start_http_server(
            port, addr=settings.WORKER_METRICS_ADDR, registry=registry()
        )
    except OSError:
        logger.info("metrics port %s is in use: another worker of this host serves it", port)
        return None
    return server


def install(app: Celery) -> None:
    signals.setup_logging.connect(configure_logging, weak=False, dispatch_uid="fh-logging")
    signals.task_prerun.connect(task_started, weak=False, dispatch_uid="fh-task-id")
    signals.task_postrun.connect(task_finished, weak=False, dispatch_uid="fh-task-id")
    signals.before_task_publish.connect(carry_request_id, weak=False, dispatch_uid="fh-rid")
    signals.worker_ready.connect(start_worker_metrics, weak=False, dispatch_uid="fh-metrics")
    app.steps["worker"].add(Heartbeat)

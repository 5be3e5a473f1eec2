"""Readiness: the database and the shared cache answer, and the broker accepts a connection."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from time import monotonic

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


# /healthz answers anyone, at any address (machine_endpoints): each answer
# opened a new connection to the broker, so a flood of requests was a flood of
# connections (a RabbitMQ's costliest work) at what sends sign-in codes. A
# process asks the broker at most this often and answers with what it said.
BROKER_RECHECK_SECONDS = 1.0
_broker_said: dict[str, tuple[float, bool]] = {}


def broker_ok(timeout: float = 2.0) -> bool:
    url = settings.CELERY_BROKER_URL
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    if url.startswith("filesystem://"):
        # The file broker "connects" to anything; check its folder instead.
        folder = Path(options["data_folder_in"])
        return folder.is_dir() and os.access(folder, os.W_OK)
    now = monotonic()
    asked_at, answered = _broker_said.get(url, (None, False))
    if asked_at is not None and 0 <= now - asked_at < BROKER_RECHECK_SECONDS:
        return answered
    try:
        with Connection(url, transport_options=options, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            answered = True
    except Exception:
        answered = False
    _broker_said[url] = (now, answered)
    return answered


_CACHE_PROBE_KEY = "healthz:probe"


def cache_ok() -> bool:
    """The shared cache holds every session and rate-limit count: a machine that
    cannot reach it answers every signed-in page and every sign-in with a 500."""
    try:
        cache.set(_CACHE_PROBE_KEY, "ok", 10)
        return cache.get(_CACHE_PROBE_KEY) == "ok"
    except Exception:
        return False


def health_checks() -> dict[str, bool]:
    """What /healthz and the API's health answer with."""
    return {"database": database_ok(), "cache": cache_ok(), "broker": broker_ok()}


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = health_checks()
    healthy = all(checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


@never_cache
@require_safe
def livez(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches nothing (the bench's trivial view)."""
    return HttpResponse("ok", content_type="text/plain")


HEALTHZ_PATH = "/healthz"
METRICS_PATH = "/metrics"


def machine_endpoints(get_response: Callable[[HttpRequest], HttpResponse]):
    """Answer what is asked of each web machine at its own address, over plain
    HTTP (TLS ends at the load balancer), before the middleware that checks the
    Host header and redirects to https: the load balancer's probe of
    ``/healthz``, and Prometheus' scrape of ``/metrics`` with its bearer token
    (the counters are the machine's own: through the balancer a scrape reads a
    machine at random). Through the stack, production settings answered them
    with a 400 (and an error logged with its traceback) for a host not in
    ALLOWED_HOSTS, or a 301 to the public https address: the balancer took
    every machine out of service. Neither answer names the host or holds
    personal data; a staff member's own look at ``/metrics`` (no bearer token)
    still goes through the whole stack."""
    from portal.observability.exposition import metrics_view

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTHZ_PATH:
            return healthz(request)
        if request.path_info == METRICS_PATH and "Authorization" in request.headers:
            return metrics_view(request)
        return get_response(request)

    return middleware

"""Readiness: the database answers and the broker accepts a connection."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
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


def broker_ok(timeout: float = 2.0) -> bool:
    url = settings.CELERY_BROKER_URL
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    if url.startswith("filesystem://"):
        # The file broker "connects" to anything; check its folder instead.
        folder = Path(options["data_folder_in"])
        return folder.is_dir() and os.access(folder, os.W_OK)
    try:
        with Connection(url, transport_options=options, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            return True
    except Exception:
        return False


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_ok(), "broker": broker_ok()}
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


def load_balancer_probe(get_response: Callable[[HttpRequest], HttpResponse]):
    """Answer ``/healthz`` before the middleware that checks the Host header and
    redirects to https. A load balancer probes each web machine at its own
    address, over plain HTTP (TLS ends at the balancer, which adds no
    X-Forwarded-Proto to its own probes): through the stack, production
    settings answered every probe with a 301 to https, or a 400 (and an error
    logged with its traceback) for a host not in ALLOWED_HOSTS, and the
    balancer took every machine out of service. The answer names no host and
    holds no personal data."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTHZ_PATH:
            return healthz(request)
        return get_response(request)

    return middleware

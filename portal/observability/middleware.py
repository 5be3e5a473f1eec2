"""Every request gets an id (the caller's X-Request-ID when it looks like one),
on each of its log lines and in the response; every 429 answer is counted."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal.observability import context
from portal.observability.metrics import RATE_LIMIT_REFUSALS

HEADER = "X-Request-ID"
# A load balancer's or client's trace id: no spaces, no @, at least one letter
# (so an address or a phone number is never taken for one).
_VALID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9._:=-]{8,128}")


def request_id_for(request: HttpRequest) -> str:
    given = request.headers.get(HEADER, "")
    return given if _VALID.fullmatch(given) else uuid.uuid4().hex


def request_id(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_for(request)  # type: ignore[attr-defined]
        # Kept until the response is closed (end_request): Django logs 4xx and
        # 5xx answers after the middleware has returned.
        context.request_id.set(request.request_id)  # type: ignore[attr-defined]
        response = get_response(request)
        response[HEADER] = request.request_id  # type: ignore[attr-defined]
        if response.status_code == 429:
            # Every rate limit here answers 429 (our views, allauth, DRF throttles).
            match = getattr(request, "resolver_match", None)
            RATE_LIMIT_REFUSALS.labels(match.view_name if match else "unresolved").inc()
        return response

    return middleware


def end_request(**kwargs) -> None:
    """request_finished: lines logged after this belong to no request."""
    context.request_id.set(None)

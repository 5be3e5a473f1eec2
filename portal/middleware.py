"""Response headers Django has no setting for."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


def permissions_policy(get_response: Callable[[HttpRequest], HttpResponse]):
    """Send settings.PERMISSIONS_POLICY, unless the view set its own."""
    policy = settings.PERMISSIONS_POLICY

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response

    return middleware


def private_pages(get_response: Callable[[HttpRequest], HttpResponse]):
    """A page rendered for a signed-in person holds their data (name, masked
    values, contact details, sessions): no shared cache may keep it, and no
    browser may store it for the next person at a shared computer to reach
    with Back after signing out. Views that set their own Cache-Control keep it."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            add_never_cache_headers(response)
        return response

    return middleware

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


class AllauthFormErrorsAre400:
    """allauth sends a page back with its form's errors (a wrong password or
    code, a field left empty) as a 200; the site's own forms answer 400, so that
    a client, a monitor or a test can tell a refusal from a success. Only
    allauth's views: they render a TemplateResponse holding their ``form``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_template_response(self, request: HttpRequest, response):
        if request.method != "POST" or response.status_code != 200:
            return response
        match = request.resolver_match
        if match is None or not match.func.__module__.startswith("allauth."):
            return response
        form = (response.context_data or {}).get("form")
        if form is not None and form.is_bound and form.errors:
            response.status_code = 400
        return response

"""The site's error answers: the API's error shape under /api/, our pages elsewhere.

403 and the CSRF failure use Django's own views with our templates
(templates/403.html, 403_csrf.html); they render with the request like any page.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.defaults import page_not_found

from portal.observability.logs import HEADLESS_PREFIX


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _headless(request: HttpRequest) -> bool:
    return request.path.startswith(HEADLESS_PREFIX)


def _api_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _headless_error(code: str, message: str, status: int) -> JsonResponse:
    # allauth's shape: the app reads "errors" there, not an HTML page.
    errors = [{"message": message, "code": code}]
    return JsonResponse({"status": status, "errors": errors}, status=status)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """What Django refuses before any view: a body over DATA_UPLOAD_MAX_MEMORY_SIZE,
    too many fields, a bad Host. The app reads JSON, not Django's HTML page."""
    message = _("The request was refused: it is too large or malformed.")
    if _api(request):
        return _api_error("invalid", message, 400)
    if _headless(request):
        return _headless_error("invalid", message, 400)
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _api(request):
        return _api_error("not_found", _("Not found."), 404)
    if _headless(request):
        return _headless_error("not_found", _("Not found."), 404)
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: built from settings alone, with no context processor and no query,
    since the database may be what failed."""
    if _api(request):
        return _api_error("server_error", _("Something went wrong on our side."), 500)
    if _headless(request):
        return _headless_error("server_error", _("Something went wrong on our side."), 500)
    template = loader.get_template("500.html")
    context = {"SITE_NAME": settings.SITE_NAME, "SUPPORT_PHONE": settings.SUPPORT_PHONE}
    return HttpResponseServerError(template.render(context))

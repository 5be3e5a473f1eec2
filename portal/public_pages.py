"""Public pages under a press-release spike: one cached rendering per language."""

from __future__ import annotations

from functools import wraps
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.session import SessionStorage
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from portal.i18n import mark_language_chosen

PUBLIC_PAGE_SECONDS = 60
CACHED_PARAMETERS = {"lang", "page"}


def public_language(request: HttpRequest) -> str:
    """Public pages have a link per language (?lang=fr), so a shared link opens
    in the language it was shared in."""
    language = request.GET.get("lang")
    if language in ("en", "fr"):
        translation.activate(language)
        request.LANGUAGE_CODE = language
    return translation.get_language()


@never_cache
@require_safe
def switch_language(request: HttpRequest, language: str) -> HttpResponse:
    """The language switch of public pages: a link, not a form, because a cached
    page cannot carry a CSRF token. It sets the same cookie as the signed-in
    pages' form (Django's set_language), then goes back to ``next``."""
    if language not in dict(settings.LANGUAGES):
        raise Http404
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home")
    response = HttpResponseRedirect(_without_lang(target))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    mark_language_chosen(response)  # links are for visitors not signed in
    return response


def _without_lang(url: str) -> str:
    # A ?lang= left in the target would outrank the cookie just set.
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def cached_for_visitors(view):
    """Anonymous readers of a public page get one shared rendering per language
    for a minute: the page stays up when everyone reads it at once."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        language = public_language(request)
        # Only the parameters the pages use make a cached variant; anything else
        # (cache-busting noise) is rendered, not stored.
        if (
            request.user.is_authenticated
            or request.method != "GET"
            or not set(request.GET) <= CACHED_PARAMETERS
            or _has_flash_messages(request)
        ):
            return view(request, *args, **kwargs)
        page = request.GET.get("page", "")
        key = f"public-page:{language}:{request.path}:{page}"
        cached = cache.get(key)
        if cached is not None:
            content, content_type = cached
            return HttpResponse(content, content_type=content_type)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.cookies and not _messages_touched(request):
            cache.set(key, (response.content, response["Content-Type"]), PUBLIC_PAGE_SECONDS)
        return response

    return wrapper


def _has_flash_messages(request: HttpRequest) -> bool:
    """A visitor with a message waiting ("You have signed out.") gets the page
    rendered, with it: the shared copy has none, and the message would surface
    later on another page. Read without loading a session that is not there."""
    if CookieStorage.cookie_name in request.COOKIES:
        return True
    return settings.SESSION_COOKIE_NAME in request.COOKIES and bool(
        request.session.get(SessionStorage.session_key)
    )


def _messages_touched(request: HttpRequest) -> bool:
    """Whether this rendering showed or queued a flash message: then it is this
    visitor's alone, never the shared copy (the cookies that would say so are
    set later, by the middleware)."""
    storage = getattr(request, "_messages", None)
    return storage is not None and (storage.used or len(storage) > 0)

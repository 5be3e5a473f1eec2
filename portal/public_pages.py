"""Public pages under a press-release spike: one cached rendering per language."""

from __future__ import annotations

from functools import wraps

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import translation

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
        ):
            return view(request, *args, **kwargs)
        page = request.GET.get("page", "")
        key = f"public-page:{language}:{request.path}:{page}"
        cached = cache.get(key)
        if cached is not None:
            content, content_type = cached
            return HttpResponse(content, content_type=content_type)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.cookies:
            cache.set(key, (response.content, response["Content-Type"]), PUBLIC_PAGE_SECONDS)
        return response

    return wrapper

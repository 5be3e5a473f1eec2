"""Pages rendered once per process and filled in per request.

In a sign-in storm millions of people ask for the same few pages, each
different from the next only by a handful of values: a CSRF token, an email
address, a name. Rendering Django templates costs milliseconds; filling
placeholders costs microseconds. A page is rendered with placeholders where
those values go, kept in this process, and each request gets a copy with its
own values, escaped here.

Placeholders carry a per-process secret, so no text in the content (a step's
link, an incident's title) can name one and have a request's values put there.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib import messages
from django.contrib.sites.requests import RequestSite
from django.forms import BaseForm
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.html import escape
from django.utils.translation import get_language

_NONCE = secrets.token_hex(8)
_PLACEHOLDER = re.compile(f"\x00{_NONCE}:(\\w+)\x00")


def mark(name: str) -> str:
    """The placeholder for the value ``name``."""
    return f"\x00{_NONCE}:{name}\x00"


def fill(page: str, values: dict[str, str]) -> str:
    """The page with each placeholder replaced by its value (already escaped)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), page)


class Copies:
    """Rendered pages by key, each kept for ``seconds`` at most; dropped all at
    once past ``limit`` (a bound on memory, not an eviction policy)."""

    def __init__(self, seconds: float, limit: int) -> None:
        self.seconds, self.limit = seconds, limit
        self._pages: dict[tuple, tuple[float, str]] = {}

    def get_or_render(self, key: tuple, render: Callable[[], str]) -> str:
        now = time.monotonic()
        hit = self._pages.get(key)
        if hit is None or now - hit[0] > self.seconds:
            if len(self._pages) >= self.limit:
                self._pages.clear()
            hit = (now, render())
            self._pages[key] = hit
        return hit[1]

    def clear(self) -> None:
        self._pages.clear()


def messages_html(request: HttpRequest) -> str:
    """This request's flash messages as templates/includes/messages.html shows
    them (escaped there), marking them shown; "" when there are none. Pages with
    ``messages_html=mark("messages")`` in their copy take this as "messages"."""
    stored = list(messages.get_messages(request))
    if not stored:
        return ""
    return render_to_string("includes/messages.html", {"messages": stored}, request)


# --- allauth's sign-in pages ------------------------------------------------------

_sign_in_pages = Copies(seconds=300.0, limit=200)
# Context entries that pages do not show (ContextMixin's view instance).
_UNSHOWN = {"view"}
_PLAIN = (str, int, float, bool, type(None))


def _context_key(context: dict, fills: Iterable[str]) -> tuple | None:
    """What of the context the page shows, as a key; None when something in it
    cannot be compared (then the page is rendered in full)."""
    parts = []
    for name, value in sorted(context.items()):
        if name in fills or name in _UNSHOWN:
            continue
        if isinstance(value, _PLAIN):
            parts.append((name, value))
        elif isinstance(value, RequestSite):
            parts.append((name, value.domain, value.name))
        elif isinstance(value, BaseForm) and not value.is_bound:
            shown = tuple((field.name, str(field.value())) for field in value)
            parts.append((name, type(value).__qualname__, shown))
        else:
            return None
    return tuple(parts)


def prerendered(view, *, fills: tuple[str, ...] = ()):
    """A view whose plain GET answer to a visitor not signed in (a
    TemplateResponse, no query string, unbound forms) is filled into a copy
    rendered once per process. ``fills`` names the context values that differ
    per visitor (an email address); the CSRF token and the flash messages
    always do.

    The copy is rendered with the first such visitor's request: it is shared
    because these pages show nothing of a request beyond its path and
    language, and no signed-in visitor's request is ever used."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if (
            request.method != "GET"
            or request.GET
            or not isinstance(response, TemplateResponse)
            or response.is_rendered
            or response.status_code != 200
            or request.user.is_authenticated
        ):
            return response
        context = response.context_data or {}
        if context.get("public_page"):
            return response  # public pages show no messages: portal/public_pages.py
        shown = _context_key(context, fills)
        if shown is None:
            return response
        key = (request.path, get_language(), str(response.template_name), shown)

        def render() -> str:
            marked = dict(context, csrf_token=mark("csrf"), messages_html=mark("messages"))
            marked.update((name, mark(name)) for name in fills)
            return response.resolve_template(response.template_name).render(marked, request)

        page = _sign_in_pages.get_or_render(key, render)
        values = {name: escape(str(context.get(name))) for name in fills}
        values["csrf"] = escape(get_token(request))
        values["messages"] = messages_html(request)
        response.content = fill(page, values)
        return response

    return wrapper


def clear() -> None:
    _sign_in_pages.clear()

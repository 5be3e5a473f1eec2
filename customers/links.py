"""The least a link shown to customers must satisfy: it cannot run script.

The full rule for a recommended step's link (which hosts) lives in
``notices.markdown.step_link_allowed`` and is checked when staff save a step;
this is the floor the model and every page and API response keep, whatever
wrote the row (a fixture, a shell, a step stored before the rule)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

# As a browser parses an address (WHATWG URL): leading and trailing C0 controls
# and spaces are stripped, tabs and newlines removed anywhere, and a scheme is
# a letter then letters, digits, + - or . before the first colon. Anything
# else is a relative address, which cannot run script.
_EDGES = re.compile(r"^[\x00-\x20]+|[\x00-\x20]+$")
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")


def link_scheme(url: str) -> str:
    """The scheme a browser would read in ``url``, lower-cased; "" if relative."""
    text = _TAB_NEWLINE.sub("", _EDGES.sub("", url or ""))
    match = _SCHEME.match(text)
    return match.group(1).lower() if match else ""


def link_is_safe(url: str) -> bool:
    """A relative address, or http(s), mailto: or tel:."""
    scheme = link_scheme(url)
    return not scheme or scheme in SAFE_SCHEMES


def validate_safe_link(url: str) -> None:
    if not link_is_safe(url):
        raise ValidationError(
            _("Only a page of the portal, an http(s) address, mailto: or tel: may be linked."),
            code="unsafe_link",
        )

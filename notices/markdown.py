"""Notices are written in Markdown and rendered to sanitised HTML: no script,
no raw HTML, no images from elsewhere, links only to allow-listed hosts."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# Raw HTML in the source is shown as text, never interpreted.
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")

ALLOWED_TAGS = {
    "p",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "a",
    "blockquote",
    "code",
    "pre",
    "br",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
}

REQUIRED_SECTIONS = {
    "en": [
        "What happened",
        "What information was involved",
        "What we are doing",
        "What you can do",
        "For more information",
    ],
    "fr": [
        "Ce qui s'est passé",
        "Quelles informations sont concernées",
        "Ce que nous faisons",
        "Ce que vous pouvez faire",
        "Pour plus d'informations",
    ],
}


def allowed_hosts() -> set[str]:
    hosts = set(settings.NOTICE_LINK_HOSTS)
    hosts.add(urlsplit(settings.PORTAL_BASE_URL).hostname or "")
    return {h.lower() for h in hosts if h}


def _host(url: str) -> str | None:
    """The host a URL points to; '' for links within the site; None for schemes
    that go nowhere (mailto:, tel:)."""
    parts = urlsplit(url.strip())
    if parts.scheme in ("mailto", "tel"):
        return None
    if not parts.scheme and not parts.netloc:
        return ""
    return (parts.hostname or "").lower()


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if (tag, attribute) in (("a", "href"), ("img", "src")):
        host = _host(value)
        if tag == "img" and host is None:
            return None
        if host and host not in allowed_hosts():
            return None
    return value


def render_markdown(text: str) -> SafeString:
    html = _markdown.render(text or "")
    # The page's own title is the h1: the notice's top headings become h2.
    levels = [int(level) for level in re.findall(r"<h([1-6])>", html)]
    shift = 2 - min(levels) if levels else 0
    html = re.sub(
        r"<(/?)h([1-6])>", lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + shift)}>", html
    )
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        attribute_filter=_attribute_filter,
        link_rel="noopener noreferrer",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


def link_targets(text: str) -> list[str]:
    """Every link and image address in the Markdown."""
    targets = []
    for token in _markdown.parse(text or ""):
        for child in token.children or []:
            if child.type == "link_open":
                targets.append(child.attrGet("href") or "")
            elif child.type == "image":
                targets.append(child.attrGet("src") or "")
    return targets


def disallowed_hosts(text: str) -> list[str]:
    allowed = allowed_hosts()
    return sorted(
        {host for url in link_targets(text) if (host := _host(url)) and host not in allowed}
    )


def _normal(heading: str) -> str:
    text = unicodedata.normalize("NFC", heading).replace("\u2019", "'").lower()
    return re.sub(r"[\s?:.!]+$", "", re.sub(r"\s+", " ", text)).strip()


def headings(text: str) -> list[str]:
    tokens = _markdown.parse(text or "")
    return [
        tokens[i + 1].content
        for i, token in enumerate(tokens)
        if token.type == "heading_open" and i + 1 < len(tokens)
    ]


def missing_sections(text: str, language: str) -> list[str]:
    """The regulator's sections a breach notice lacks, in the given language."""
    present = [_normal(h) for h in headings(text)]
    return [
        section
        for section in REQUIRED_SECTIONS[language]
        if not any(h.startswith(_normal(section)) for h in present)
    ]

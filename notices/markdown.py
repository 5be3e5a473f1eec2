"""Notices are written in Markdown and rendered to sanitised HTML: no script,
no raw HTML, no images from elsewhere, links only to allow-listed hosts."""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import unquote, urlsplit

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

# The headings of a notice of data breach (California Civ. Code 1798.82, which
# also covers GDPR Art. 34 and the Australian s 26WK statement: see DOMAIN.md),
# in English and French. Each must be there and say something.
REQUIRED_SECTIONS = {
    "en": [
        "What happened",
        "What information was involved",
        "What we are doing",
        "What you can do",
        "Other important information",
        "For more information",
    ],
    "fr": [
        "Ce qui s'est passé",
        "Quelles informations sont concernées",
        "Ce que nous faisons",
        "Ce que vous pouvez faire",
        "Autres informations importantes",
        "Pour plus d'informations",
    ],
}


def portal_host() -> str:
    return (urlsplit(settings.PORTAL_BASE_URL).hostname or "").lower()


def allowed_hosts() -> set[str]:
    hosts = set(settings.NOTICE_LINK_HOSTS)
    hosts.add(portal_host())
    return {h.lower() for h in hosts if h}


# Where an address leads, as a browser would read it.
SITE, CONTACT, WEB, BAD = "site", "contact", "web", "bad"


def _normalised(url: str, *, decode: bool = True) -> str:
    """The address with everything a browser ignores or reinterprets undone:
    HTML entities (and, with ``decode``, percent-escapes) decoded, whitespace
    and control characters removed (browsers drop tabs and newlines anywhere),
    backslashes read as slashes (as browsers do for http and https)."""
    text = html.unescape(url)
    if decode:
        text = unquote(text)
    text = "".join(
        ch for ch in text if not unicodedata.category(ch).startswith(("C", "Z")) and ch != " "
    )
    return text.replace("\\", "/")


def link_target(url: str) -> tuple[str, str]:
    """(kind, host): a page of this site (a relative address), a contact
    (mailto:, tel:), a web address and its host, or anything else (BAD).

    The address is read twice, with percent-escapes decoded (a markdown
    parser escapes a backslash or a control character the browser would have
    acted on) and as written (a browser does not decode an escaped / ? # or \\
    before finding the host: in ``https://allowed%2F@evil.example`` the host
    is evil.example). Where the two readings differ, it is BAD."""
    decoded, raw = _target(_normalised(url)), _target(_normalised(url, decode=False))
    return decoded if decoded == raw else (BAD, "")


def _target(text: str) -> tuple[str, str]:
    try:
        if text.startswith("//"):
            # Protocol-relative, however many slashes: another host.
            return WEB, (urlsplit("//" + text.lstrip("/")).hostname or "").lower()
        parts = urlsplit(text)
    except ValueError:  # e.g. a malformed IPv6 host
        return BAD, ""
    scheme = parts.scheme.lower()
    if not scheme:
        # A colon before the first / ? or #: a scheme of some sort, not a page here.
        return (BAD, "") if ":" in re.split(r"[/?#]", text, maxsplit=1)[0] else (SITE, "")
    if scheme in ("mailto", "tel"):
        return CONTACT, ""
    # http and https only with an authority: "http:evil.example" and
    # "https:/evil.example" go to evil.example in a browser.
    rest = text[len(scheme) + 1 :]
    if scheme in ("http", "https") and rest.startswith("//") and not rest.startswith("///"):
        host = (parts.hostname or "").lower()
        return (WEB, host) if host else (BAD, "")
    return BAD, ""


def link_allowed(url: str, *, image: bool = False) -> bool:
    """Links go to this site, a contact, or an allow-listed host over http(s);
    images come only from this site."""
    kind, host = link_target(url)
    if image:
        return kind == SITE or (kind == WEB and host == portal_host())
    return kind in (SITE, CONTACT) or (kind == WEB and host in allowed_hosts())


def step_link_allowed(url: str) -> bool:
    """A recommended step's link, shown on every affected customer's dashboard:
    a page of this site, a contact, or an allow-listed host over https (the
    portal also over its own scheme, plain http in development).

    A page of this site is written from the root (``/help/``): a path without
    the leading slash (``help/``, ``www.example.org/renew``) would lead to a
    different page from the dashboard than from the API."""
    kind, host = link_target(url)
    if kind == SITE:
        return _normalised(url).startswith("/")
    if kind == CONTACT:
        return True
    if kind != WEB or host not in allowed_hosts():
        return False
    scheme = urlsplit(_normalised(url)).scheme.lower()
    portal_scheme = urlsplit(settings.PORTAL_BASE_URL).scheme.lower()
    return scheme == "https" or (host == portal_host() and scheme == portal_scheme)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    linked = (tag, attribute) in (("a", "href"), ("img", "src"))
    if linked and not link_allowed(value, image=tag == "img"):
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


def _targets(text: str) -> list[tuple[str, bool]]:
    """Every link and image address in the Markdown, and whether it is an image."""
    targets = []
    for token in _markdown.parse(text or ""):
        for child in token.children or []:
            if child.type == "link_open":
                targets.append((child.attrGet("href") or "", False))
            elif child.type == "image":
                targets.append((child.attrGet("src") or "", True))
    return targets


def link_targets(text: str) -> list[str]:
    """Every link and image address in the Markdown."""
    return [url for url, _image in _targets(text)]


def disallowed_hosts(text: str) -> list[str]:
    """What the editor must fix: the host of each address that may not be
    linked to (or, when it has no usable host, the address itself)."""
    bad = set()
    for url, image in _targets(text):
        if not link_allowed(url, image=image):
            kind, host = link_target(url)
            bad.add(host if kind == WEB and host else url[:80])
    return sorted(bad)


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


_CONTENT_BLOCKS = {"fence", "code_block", "html_block"}


def sections(text: str) -> list[tuple[str, bool]]:
    """Each heading, and whether anything follows it (text, a list, a table…,
    under it or under its sub-headings) before the next heading of its level."""
    tokens = _markdown.parse(text or "")
    found = []
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or i + 1 >= len(tokens):
            continue
        level, said = int(token.tag[1]), False
        for later in range(i + 3, len(tokens)):
            other = tokens[later]
            if other.type == "heading_open" and int(other.tag[1]) <= level:
                break
            in_heading = tokens[later - 1].type == "heading_open"
            if (other.type == "inline" and not in_heading and other.content.strip()) or (
                other.type in _CONTENT_BLOCKS and other.content.strip()
            ):
                said = True
                break
        found.append((tokens[i + 1].content, said))
    return found


def _required(text: str, language: str) -> tuple[list[str], list[str]]:
    present = [(_normal(heading), said) for heading, said in sections(text)]
    missing, empty = [], []
    for section in REQUIRED_SECTIONS[language]:
        matches = [said for heading, said in present if heading.startswith(_normal(section))]
        if not matches:
            missing.append(section)
        elif not any(matches):
            empty.append(section)
    return missing, empty


def missing_sections(text: str, language: str) -> list[str]:
    """The regulator's sections a breach notice lacks, in the given language."""
    return _required(text, language)[0]


def empty_sections(text: str, language: str) -> list[str]:
    """The regulator's sections that are there as a heading with nothing under it."""
    return _required(text, language)[1]

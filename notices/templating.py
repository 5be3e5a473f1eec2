"""Alert templates: checking what staff write, and filling it in for each customer.

Templates use ``str.format`` placeholders with plain names only, e.g.
``Hi {first_name}, …`` (``{{`` and ``}}`` for literal braces). ``validate_template``
runs when staff save a template; ``render`` runs once per message sent, so it
does no database query once the data-class labels are cached.

When a customer has no first name, ``{first_name}`` and the spaces before it
are dropped, so ``Hi {first_name},`` reads ``Hi,`` and ``Bonjour {first_name},``
reads ``Bonjour,``: natural in both languages, where a stand-in word
("customer", "client") reads like a form letter. Put the name in a greeting.

Lengths are checked at the longest a value can be (the columns, the taxonomy,
a name outside GSM-7 for text messages); ``render_subject`` and ``render_sms``
are the last guards when sending: a subject is cut, a text message made shorter.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from customers.models import Channel, Customer, DataClass, Incident
from notices.sms import UCS2, non_gsm_characters, sms_segments
from portal.i18n import in_sentence

PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "first_name",
        "exposed_fields",
        "portal_url",
        "reference",
        "verify_url",
        "support_phone",
        "incident_title",
    }
)

# The longest each value can be: the columns it comes from. URLs and the support
# phone are used as configured; {exposed_fields} at its longest is every data
# class of the taxonomy, in the message's language (see ``longest_values``).
WORST_CASE_LENGTHS = {
    "first_name": Customer._meta.get_field("first_name").max_length,
    "reference": 14,
    "incident_title": Incident._meta.get_field("title").max_length,
}

# Delivery.subject, CampaignTemplate.subject and TestSend.subject are varchar(200).
SUBJECT_MAX_LENGTH = 200

# {{ and }} are literal braces; {…} is a placeholder; any other brace is unbalanced.
_BRACES = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


# --- Validation ---------------------------------------------------------------


def validate_template(
    body: str, *, channel: str, subject: str = "", language: str | None = None
) -> list[str]:
    """Human-readable problems with a template, in the active language; empty if none.

    The subject is checked like the body (placeholders, links, and its length
    at the longest) when given, and is required for email; only the body must
    carry ``{reference}``. Lengths are measured for ``language``, or for every
    language when it is not given.
    """
    if channel not in Channel.values:
        raise ValueError(f"Unknown channel {channel!r}")
    errors = []
    if channel == Channel.EMAIL and not subject.strip():
        errors.append(_("An email needs a subject."))
    if subject:
        subject_errors = _placeholder_errors(subject) + _link_errors(subject)
        if "\n" in subject or "\r" in subject:
            subject_errors.append(_("The subject must be a single line."))
        if not subject_errors:
            subject_errors += _subject_length_errors(subject, language)
        errors += [_("Subject: %(error)s") % {"error": e} for e in subject_errors]
    body_errors = _placeholder_errors(body)
    fields = _fields(body)
    if fields is not None and "reference" not in fields:
        body_errors.append(
            _(
                "The message must include {reference}, so that customers can check "
                "that it really comes from us."
            )
        )
    body_errors += _link_errors(body)
    if channel == Channel.SMS and not body_errors:
        body_errors += _sms_length_errors(body, language)
    if channel == Channel.PUSH and not body_errors and not errors:
        body_errors += _push_size_errors(body, subject, language)
    return errors + body_errors


def placeholders(text: str) -> set[str]:
    """The placeholders ``text`` uses (none if its braces do not match)."""
    return set(_fields(text) or [])


def _fields(text: str) -> list[str] | None:
    """The raw text of every placeholder, or None if the braces are unbalanced."""
    fields = []
    for match in _BRACES.finditer(text):
        token = match.group()
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            return None
        fields.append(match.group(1))
    return fields


def _placeholder_errors(text: str) -> list[str]:
    fields = _fields(text)
    if fields is None:
        return [
            _(
                "The braces do not match: every { needs a closing }, and placeholders "
                "cannot be nested. To show a brace itself, write {{ or }}."
            )
        ]
    errors = []
    for field in dict.fromkeys(fields):
        name = re.split(r"[.\[!:]", field, maxsplit=1)[0]
        if name == "" or name.isdigit():
            error = _("“{%(field)s}” needs a name, such as {first_name}.")
        elif name not in PLACEHOLDERS:
            error = _("Unknown placeholder “{%(field)s}”. You can use: %(available)s.")
        elif any(c in field for c in "!:"):
            error = _(
                "“{%(field)s}” may not have a “!” conversion or a “:” format: write just {%(name)s}."
            )
        elif any(c in field for c in ".["):
            error = _("“{%(field)s}” may not use “.” or “[…]”: write just {%(name)s}.")
        elif field != name:  # anything else after the name, e.g. "{first_name }"
            error = _("Unknown placeholder “{%(field)s}”. You can use: %(available)s.")
        else:
            continue
        available = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
        errors.append(error % {"field": field, "name": name, "available": available})
    return errors


# --- Links --------------------------------------------------------------------

# Placeholders stand in as an always-allowed host while scanning, so that text
# glued to them ("{portal_url}.evil.com") still shows up as a foreign host.
_SENTINEL_HOST = "portal-url.invalid"
_SCAN_VALUES = {
    "portal_url": f"https://{_SENTINEL_HOST}",
    "verify_url": f"https://{_SENTINEL_HOST}/verify",
}
_DOT = r"[.\u3002\uff0e\uff61]"  # phones linkify ideographic and full-width dots too
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_TLD = r"(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})"
# Each pattern starts only where a word, address or host can start, and the
# scheme is bounded, so that scanning stays linear in the length of the text.
# scheme://authority/path: the host is what follows the last "@" in the authority;
# the path is consumed so that ".../file.pdf" is not taken for a host.
_URL = re.compile(
    r"(?<![\w+.-])[a-z][a-z0-9+.-]{0,31}://([^/?#\s<>\"'()]*)[^\s<>\"]*", re.IGNORECASE
)
_EMAIL = re.compile(rf"(?<![\w.+%-])[\w.+%-]+@({_LABEL}(?:{_DOT}{_LABEL})+)", re.IGNORECASE)
# A bare host needs a final label of 2+ letters ("e.g.", "i.e.", "3.5", "Mr." do
# not qualify); its path is consumed so that "…/file.pdf" is not a host itself.
_HOST = re.compile(
    rf"(?<![^\W_])(?<![^\W_]{_DOT})((?:{_LABEL}{_DOT})+{_TLD})(?![\w-])(?::\d+)?(?:[/?#]\S*)?",
    re.IGNORECASE,
)
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w]|\.\d)")
_TRAILING = ".,;:!?'\"\u00bb\u201d\u2019)]"


def _normal_host(host: str) -> str:
    for dot in "\u3002\uff0e\uff61":
        host = host.replace(dot, ".")
    return host.casefold().rstrip(_TRAILING)


def allowed_link_hosts() -> list[str]:
    default = [urlsplit(settings.PORTAL_BASE_URL).hostname or ""]
    return list(getattr(settings, "MESSAGE_LINK_HOSTS", default))


def _scan_text(text: str) -> str:
    def replace(match: re.Match) -> str:
        token = match.group()
        if token in ("{{", "}}"):
            return token[0]
        return _SCAN_VALUES.get(match.group(1) or "", " ")

    return _BRACES.sub(replace, text)


def _hosts_in(text: str) -> list[str]:
    """Every host a reader's phone or mail program might turn into a link, in order."""
    hosts = []
    for pattern, host_of in (
        (_URL, _url_host),
        (_EMAIL, lambda m: m.group(1)),
        (_HOST, lambda m: m.group(1)),
        (_IPV4, lambda m: m.group(1) if _is_ip(m.group(1)) else ""),
    ):
        hosts += [(m.start(), _normal_host(host_of(m))) for m in pattern.finditer(text)]
        # Blank out what was found so later patterns don't find parts of it again.
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return list(dict.fromkeys(host for _pos, host in sorted(hosts) if host))


def _url_host(match: re.Match) -> str:
    try:
        return urlsplit("//" + match.group(1)).hostname or match.group(1)
    except ValueError:  # a malformed [IPv6] authority: flag it as written
        return match.group(1)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _link_errors(text: str) -> list[str]:
    allowed = {_normal_host(h) for h in allowed_link_hosts()} | {_SENTINEL_HOST}
    errors = []
    for host in _hosts_in(_scan_text(text)):
        if host in allowed:
            continue
        shown = host.replace(_SENTINEL_HOST, "{portal_url}")
        errors.append(
            _(
                "“%(host)s” is not an allowed link or address. Messages may only point to "
                "%(hosts)s; use {portal_url} or {verify_url} to link to the portal."
            )
            % {"host": shown, "hosts": ", ".join(sorted(allowed - {_SENTINEL_HOST}))}
        )
    return errors


def value_link_errors(text: str) -> list[str]:
    """Problems with text that messages include as a value (a data class's label,
    an incident's title): phones and mail programs link any host or address in
    it, so it may point only where a template may link. Checked when staff save
    it: changed after a campaign's approval, it reaches every message unreviewed."""
    allowed = {_normal_host(h) for h in allowed_link_hosts()}
    return [
        _(
            "“%(host)s” is not an allowed link or address. Messages include this text, "
            "so it may only point to %(hosts)s."
        )
        % {"host": host, "hosts": ", ".join(sorted(allowed))}
        for host in _hosts_in(text)
        if host not in allowed
    ]


# --- Longest values ---------------------------------------------------------------


def _languages(language: str | None) -> list[str]:
    return [language] if language else [code for code, _name in settings.LANGUAGES]


def longest_values(language: str, fields: list[str] | None = None) -> dict[str, str]:
    """Every placeholder at its longest, for a message in ``language``.

    ``{exposed_fields}`` is every data class of the taxonomy (what a customer
    with everything exposed would get); names and titles are as long as their
    columns allow. Only ``fields`` are worked out, when given (the taxonomy is
    read only if ``{exposed_fields}`` is among them).
    """
    base = settings.PORTAL_BASE_URL
    values = {
        "first_name": "x" * WORST_CASE_LENGTHS["first_name"],
        "reference": "X" * WORST_CASE_LENGTHS["reference"],
        "incident_title": "x" * WORST_CASE_LENGTHS["incident_title"],
        "portal_url": base,
        "verify_url": f"{base}/verify",
        "support_phone": getattr(settings, "SUPPORT_PHONE", ""),
        "exposed_fields": "",
    }
    if fields is None or "exposed_fields" in fields:
        values["exposed_fields"] = exposed_fields_text(list(_label_cache.get()), language)
    return values


def _subject_length_errors(subject: str, language: str | None) -> list[str]:
    fields = _fields(subject) or []
    longest = max(
        len(subject.format_map(longest_values(lang, fields))) for lang in _languages(language)
    )
    if longest <= SUBJECT_MAX_LENGTH:
        return []
    return [
        _(
            "At its longest (a %(name)d-character first name, a %(title)d-character incident "
            "title, every data class exposed), this subject would be %(length)d characters; "
            "the limit is %(limit)d."
        )
        % {
            "name": WORST_CASE_LENGTHS["first_name"],
            "title": WORST_CASE_LENGTHS["incident_title"],
            "length": longest,
            "limit": SUBJECT_MAX_LENGTH,
        }
    ]


def _is_joining(ch: str) -> bool:
    """A character that belongs with the one before it (accent, joiner, variant)."""
    return (
        unicodedata.category(ch).startswith("M")
        or ch == "\u200d"
        or 0xFE00 <= ord(ch) <= 0xFE0F
        or 0x1F3FB <= ord(ch) <= 0x1F3FF  # skin tones
    )


def cut_text(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: cut before a whole character
    (never between a letter and its accent), ending with an ellipsis."""
    if len(text) <= limit:
        return text
    end = limit - 1
    while end > 0 and (_is_joining(text[end]) or text[end - 1] == "\u200d"):
        end -= 1
    return text[:end].rstrip() + "…"


def render_subject(subject: str, ctx: RenderContext) -> str:
    """The subject for one customer, never longer than its column: a last guard
    for templates saved before their length was checked."""
    return cut_text(render(subject, ctx), SUBJECT_MAX_LENGTH) if subject else ""


# --- SMS length -----------------------------------------------------------------


# A name or a title may hold a letter outside the GSM-7 alphabet ("ł", "ő", a
# curly apostrophe): the whole message then goes as UCS-2, 67 characters a part.
UCS2_STAND_IN = "\u0142"  # ł


# A text message names at most this many exposed fields, the most sensitive,
# then says how many more ("… and 4 other details"): the portal lists them all.
SMS_MAX_FIELDS = 3


def worst_case_values(language: str = "en", fields: list[str] | None = None) -> dict[str, str]:
    """Every placeholder at its longest, to size an SMS in ``language``.

    ``longest_values`` with the first name and the incident title each holding
    a character outside GSM-7, which makes the whole message UCS-2, and the
    exposed fields as an SMS names them at the longest: the ``SMS_MAX_FIELDS``
    longest labels of the taxonomy, then how many more.
    """
    values = longest_values(language, [f for f in fields or [] if f != "exposed_fields"])
    if fields is None or "exposed_fields" in fields:
        words = sorted(_exposed_words(list(_label_cache.get()), language), key=len, reverse=True)
        values["exposed_fields"] = _sms_fields(words, language)
    for name in ("first_name", "incident_title"):
        values[name] = UCS2_STAND_IN + values[name][1:]
    return values


def sms_counter_values(language: str | None = None) -> dict[str, str]:
    """What the admin's SMS counter puts in place of each placeholder, so that it
    sizes a text as saving does: ``worst_case_values`` in ``language``, or the
    longest of every language for a template whose language is not yet chosen."""
    values: dict[str, str] = {}
    for lang in _languages(language):
        for name, value in worst_case_values(lang).items():
            if len(value) > len(values.get(name, "")):
                values[name] = value
    return values


def _sms_fields(words: list[str], language: str, keep: int = SMS_MAX_FIELDS) -> str:
    if len(words) <= keep:
        return _joined(words, language)
    return _summary(words, keep, language)


def _sms_length_errors(body: str, language: str | None) -> list[str]:
    limit = getattr(settings, "SMS_MAX_SEGMENTS", 4)
    fields = _fields(body) or []
    worst = None
    for lang in _languages(language):
        longest = body.format_map(worst_case_values(lang, fields))
        result = sms_segments(longest)
        if worst is None or result.segments > worst[1].segments:
            worst = (longest, result, lang)
    longest, result, lang = worst
    if result.segments <= limit:
        return []
    error = _(
        "At its longest (a %(name)d-character first name, a %(title)d-character incident "
        "title, every data class exposed), this text message would take %(segments)d SMS "
        "segments; the limit is %(limit)d."
    ) % {
        "name": WORST_CASE_LENGTHS["first_name"],
        "title": WORST_CASE_LENGTHS["incident_title"],
        "segments": result.segments,
        "limit": limit,
    }
    if result.encoding == UCS2:
        written = body.format_map({**worst_case_values(lang, fields), **_NAMES_AS_GSM})
        own = non_gsm_characters(written)
        if own:
            error += " " + _(
                "“%(char)s” is not a GSM-7 character, so the whole message is sent as UCS-2, "
                "which fits far fewer characters in a segment."
            ) % {"char": own[0]}
        else:
            error += " " + _(
                "A name or title with a letter outside the GSM-7 alphabet (such as “ł”) sends "
                "the whole message as UCS-2, which fits far fewer characters in a segment."
            )
    return [error]


_NAMES_AS_GSM = {
    "first_name": "x" * WORST_CASE_LENGTHS["first_name"],
    "incident_title": "x" * WORST_CASE_LENGTHS["incident_title"],
}


def sms_fits(text: str) -> bool:
    return sms_segments(text).segments <= getattr(settings, "SMS_MAX_SEGMENTS", 4)


# The last resort when a customer's text message would not fit even without
# the name and with the fields summed up: short, GSM-7, and it says where the
# whole message is.
SHORT_SMS = {
    "en": (
        "News about our data breach: {portal_url} We never ask for passwords. "
        "Ref {reference}, check it at {verify_url}"
    ),
    "fr": (
        "Fuite de données chez nous : {portal_url} Jamais de mot de passe demandé. "
        "Réf. {reference} sur {verify_url}"
    ),
}


def render_sms(body: str, ctx: RenderContext) -> str:
    """A text message for one customer that fits ``SMS_MAX_SEGMENTS``.

    It names at most ``SMS_MAX_FIELDS`` exposed fields. Tried in turn until one
    fits: as written; without the name (a name outside GSM-7 makes the whole
    text UCS-2); naming fewer fields ("passport number and 4 other details");
    the short form ``SHORT_SMS``. No customer is sent an over-long, costly SMS.
    """
    words = _exposed_words(ctx.exposed_codes, ctx.language)
    named = _sms_fields(words, ctx.language)
    text = render(body, ctx, exposed_fields=named)
    if sms_fits(text):
        return text
    ctx = dataclasses.replace(ctx, first_name="")
    text = render(body, ctx, exposed_fields=named)
    if sms_fits(text):
        return text
    if "exposed_fields" in (_fields(body) or []):
        for keep in range(min(len(words), SMS_MAX_FIELDS) - 1, 0, -1):
            text = render(body, ctx, exposed_fields=_summary(words, keep, ctx.language))
            if sms_fits(text):
                return text
    short = SHORT_SMS["fr" if ctx.language[:2] == "fr" else "en"]
    return render(short, ctx)


def _summary(words: list[str], keep: int, language: str) -> str:
    """The first ``keep`` of ``words``, then how many more."""
    rest, listed = len(words) - keep, ", ".join(words[:keep])
    plural = "s" if rest > 1 else ""
    if language[:2] == "fr":
        return f"{listed} et {rest} autre{plural} information{plural}"
    return f"{listed} and {rest} other detail{plural}"


# --- Push size ------------------------------------------------------------------

# A letter of four bytes in UTF-8 (an emoji): a name or a title can be all of them.
PUSH_STAND_IN = "\U0001f600"


def _push_size_errors(body: str, subject: str, language: str | None) -> list[str]:
    """The push message's payload at its longest against FCM's limit, measured
    as it is sent (UTF-8 JSON, the subject cut to its column), so that
    ``fit_body`` never has to cut it at send time."""
    from notices.channels.push import MAX_PAYLOAD_BYTES, payload_size
    from notices.references import LENGTH

    fields = (_fields(body) or []) + (_fields(subject) or [])
    largest = 0
    for lang in _languages(language):
        values = longest_values(lang, fields)
        for name in ("first_name", "incident_title"):
            values[name] = PUSH_STAND_IN * len(values[name])
        size = payload_size(
            subject=cut_text(subject.format_map(values), SUBJECT_MAX_LENGTH),
            body=body.format_map(values),
            reference="X" * LENGTH,
        )
        largest = max(largest, size)
    if largest <= MAX_PAYLOAD_BYTES:
        return []
    return [
        _(
            "At its longest (a %(name)d-character first name, a %(title)d-character incident "
            "title, every data class exposed), this push notification would be %(size)d bytes; "
            "the limit is %(limit)d bytes."
        )
        % {
            "name": WORST_CASE_LENGTHS["first_name"],
            "title": WORST_CASE_LENGTHS["incident_title"],
            "size": largest,
            "limit": MAX_PAYLOAD_BYTES,
        }
    ]


# --- Exposed fields -------------------------------------------------------------

LABEL_CACHE_SECONDS = 300.0


class _LabelCache:
    """code -> (English words, French words, sensitivity), refreshed every few minutes.

    One query per process per TTL instead of one per message; a data class
    added in the admin shows up within LABEL_CACHE_SECONDS.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expires = 0.0
        self._labels: dict[str, tuple[str, str, int]] = {}

    def get(self) -> dict[str, tuple[str, str, int]]:
        if time.monotonic() < self._expires:
            return self._labels
        with self._lock:
            if time.monotonic() >= self._expires:
                rows = DataClass.objects.values_list("code", "label", "label_fr", "sensitivity")
                self._labels = {
                    code: (in_sentence(label), in_sentence(label_fr or label), sensitivity)
                    for code, label, label_fr, sensitivity in rows
                }
                self._expires = time.monotonic() + LABEL_CACHE_SECONDS
        return self._labels

    def clear(self) -> None:
        with self._lock:
            self._expires = 0.0


_label_cache = _LabelCache()


def clear_label_cache() -> None:
    _label_cache.clear()


def exposed_fields_text(codes: list[str], language: str) -> str:
    """The exposed fields in words, most sensitive first.

    "passport number, date of birth and phone number", or in French
    "numéro de passeport, date de naissance et numéro de téléphone". An unknown
    code reads as itself, least sensitive, rather than vanishing.
    """
    return _joined(_exposed_words(codes, language), language)


def _joined(words: list[str], language: str) -> str:
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + (" et " if language[:2] == "fr" else " and ") + words[-1]


def _exposed_words(codes: list[str], language: str) -> list[str]:
    labels = _label_cache.get()
    french = language[:2] == "fr"
    entries = []
    for code in dict.fromkeys(codes):
        known = labels.get(code)
        if known is None:
            words, sensitivity = code.replace("_", " "), 0
        else:
            words, sensitivity = known[1] if french else known[0], known[2]
        entries.append((-sensitivity, code, words))
    return [w for _s, _c, w in sorted(entries)]


# --- Rendering ------------------------------------------------------------------


@dataclass(frozen=True)
class RenderContext:
    first_name: str
    exposed_codes: list[str]
    reference: str
    language: str
    incident_title: str = ""


@functools.lru_cache(maxsize=256)
def _without_first_name(body: str) -> str:
    """``body`` with each {first_name} and the spaces just before it removed."""
    pieces, pos = [], 0
    for match in _BRACES.finditer(body):
        pieces.append(body[pos : match.start()])
        if match.group(1) == "first_name":
            pieces[-1] = pieces[-1].rstrip(" \t")
        else:
            pieces.append(match.group())
        pos = match.end()
    pieces.append(body[pos:])
    return "".join(pieces)


def render(body: str, ctx: RenderContext, *, exposed_fields: str | None = None) -> str:
    """Fill a validated template in for one customer.

    ``exposed_fields`` replaces the list of the customer's exposed fields.

    Raises KeyError or ValueError for a template that ``validate_template`` refuses.
    """
    first_name = " ".join(ctx.first_name.split())
    if not first_name:
        body = _without_first_name(body)
    base = settings.PORTAL_BASE_URL
    return body.format_map(
        {
            "first_name": first_name,
            "exposed_fields": exposed_fields_text(ctx.exposed_codes, ctx.language)
            if exposed_fields is None
            else exposed_fields,
            "portal_url": base,
            "verify_url": f"{base}/verify",
            "reference": ctx.reference,
            "support_phone": getattr(settings, "SUPPORT_PHONE", ""),
            "incident_title": ctx.incident_title,
        }
    )


# --- Default templates ------------------------------------------------------------

# SMS: GSM-7 only (straight apostrophes; no ê, î, ô, û, ç, â) and within
# SMS_MAX_SEGMENTS (4) at the longest (the three longest labels of the
# taxonomy) for a PORTAL_BASE_URL of up to 30 characters in English and 24 in
# French. Every default passes validate_template (tests check both).
DEFAULT_TEMPLATES: dict[tuple[str, str], dict[str, str]] = {
    ("sms", "en"): {
        "subject": "",
        "body": (
            "Our data breach exposed your {exposed_fields}. What to do: {portal_url} "
            "We never ask for passwords, codes or payment. "
            "Check ref {reference} at {verify_url}"
        ),
    },
    ("sms", "fr"): {
        "subject": "",
        "body": (
            "Une fuite chez nous a exposé : {exposed_fields}. Que faire : {portal_url} "
            "Nous ne demandons jamais de mot de passe, code ou paiement. "
            "Réf. {reference} sur {verify_url}"
        ),
    },
    ("email", "en"): {
        "subject": "Our data breach: what it means for you",
        "body": (
            "Hi {first_name},\n\n"
            "We are writing to tell you about a data breach at our company. "
            "It exposed your {exposed_fields}.\n\n"
            "We are sorry. On our portal you can see what happened, what we are doing "
            "about it, and the steps we recommend for each of these details: {portal_url}\n\n"
            "We will never ask you for a password, a one-time code or a payment, by email, "
            "text message or phone. If someone does, it is not us.\n\n"
            "Every message we send carries a reference. This email's reference is "
            "{reference}, and you can check it at {verify_url}\n\n"
            "If you have questions, call us on {support_phone}.\n"
        ),
    },
    ("email", "fr"): {
        "subject": "Fuite de données chez nous : ce que cela signifie pour vous",
        "body": (
            "Bonjour {first_name},\n\n"
            "Nous vous écrivons au sujet d'une fuite de données dans notre entreprise. "
            "Elle a exposé les informations suivantes : {exposed_fields}.\n\n"
            "Nous en sommes désolés. Sur notre portail, vous trouverez ce qui s'est passé, "
            "ce que nous faisons et les mesures que nous vous recommandons pour chacune de "
            "ces informations : {portal_url}\n\n"
            "Nous ne vous demanderons jamais de mot de passe, de code à usage unique ni de "
            "paiement, que ce soit par e-mail, SMS ou téléphone. Si quelqu'un le fait, ce "
            "n'est pas nous.\n\n"
            "Chaque message que nous envoyons porte une référence. Celle de cet e-mail est "
            "{reference} ; vous pouvez la vérifier sur {verify_url}\n\n"
            "Pour toute question, appelez-nous au {support_phone}.\n"
        ),
    },
    ("inapp", "en"): {
        "subject": "Your information was exposed in our data breach",
        "body": (
            "A data breach at our company exposed your {exposed_fields}. The steps we "
            "recommend for each of these details are at {portal_url}\n\n"
            "We will never ask you for a password, a one-time code or a payment. "
            "This message's reference is {reference}; you can check any message from us "
            "at {verify_url}"
        ),
    },
    ("inapp", "fr"): {
        "subject": "Vos informations ont été exposées lors d'une fuite de données chez nous",
        "body": (
            "La fuite de données que nous avons subie a exposé les informations suivantes : "
            "{exposed_fields}. "
            "Les mesures que nous vous recommandons pour chacune d'elles sont sur "
            "{portal_url}\n\n"
            "Nous ne vous demanderons jamais de mot de passe, de code à usage unique ni de "
            "paiement. La référence de ce message est {reference} ; vous pouvez vérifier "
            "tout message de notre part sur {verify_url}"
        ),
    },
    ("push", "en"): {
        "subject": "About our data breach",
        "body": (
            "A data breach at our company exposed your {exposed_fields}. See what to do at "
            "{portal_url}. We never ask for passwords, codes or payment. "
            "Ref {reference}, check it at {verify_url}"
        ),
    },
    ("push", "fr"): {
        "subject": "Fuite de données chez nous",
        "body": (
            "La fuite de données que nous avons subie a exposé : {exposed_fields}. "
            "Que faire : {portal_url} "
            "Nous ne demandons jamais de mot de passe, de code ni de paiement. "
            "Réf. {reference}, à vérifier sur {verify_url}"
        ),
    },
}

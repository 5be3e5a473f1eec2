from __future__ import annotations

import re

from django import template
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext as _

from portal.i18n import fallback_language, in_sentence, localized

register = template.Library()


@register.simple_tag(name="tr")
def translated_field(obj, field: str) -> str:
    """``{% tr obj 'title' %}``: the field in the active language."""
    return localized(obj, field)


@register.simple_tag(name="lang_of")
def fallback_lang_attribute(obj, field: str) -> str:
    """``<p{% lang_of obj 'summary' %}>``: ` lang="en"` where ``{% tr %}`` shows the
    English text on a French page (no French version was written), so that
    screen readers read it in English (WCAG 3.1.2, language of parts)."""
    language = fallback_language(obj, field)
    return format_html(' lang="{}"', language) if language else ""


@register.filter(name="tr_field")
def translated_field_filter(obj, field: str) -> str:
    return localized(obj, field)


@register.filter
def labels_sentence(data_classes) -> str:
    """``[passport, dob]`` → "passport number and date of birth", each label as it
    reads mid-sentence (acronyms and proper nouns keep their capitals)."""
    labels = [in_sentence(localized(dc, "label")) for dc in data_classes]
    if len(labels) <= 1:
        return "".join(labels)
    return str(format_lazy(_("{head} and {last}"), head=", ".join(labels[:-1]), last=labels[-1]))


@register.simple_tag
def field_widget(bound_field, autocomplete: str = ""):
    """Render a form field's widget with the accessibility attributes it needs:
    ``aria-describedby`` for help and errors, ``aria-invalid`` when invalid."""
    attrs = {}
    described = []
    if bound_field.help_text:
        described.append(f"{bound_field.auto_id}_helptext")
    if bound_field.errors:
        described.append(f"{bound_field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    return bound_field.as_widget(attrs=attrs)


_WORD = re.compile(r"[^\W\d_]+")


@register.filter(is_safe=True)
def sentence_case(text: str) -> str:
    """ "Change Password" as "Change password": allauth's page titles, in Title
    Case, read like the site's own. The first word and words in capitals (an
    acronym) are kept; so are entities (already escaped text, all lower case)."""
    text = str(text).strip()
    first = _WORD.search(text)
    if first is None:
        return text

    def lower(match: re.Match) -> str:
        word = match.group(0)
        return word if len(word) > 1 and word.isupper() else word.lower()

    return text[: first.end()] + _WORD.sub(lower, text[first.end() :])


@register.simple_tag(takes_context=True)
def sent_back_with_errors(context) -> bool:
    """Whether the page's form came back with errors (``form``, allauth's
    ``verify_form``, or a view's own ``page_has_errors``). Read with get(): a
    failed lookup in the template would log the whole context at DEBUG."""
    if context.get("page_has_errors"):
        return True
    return any(getattr(context.get(name), "errors", None) for name in ("form", "verify_form"))


@register.filter
def error_target(bound_field) -> str:
    """The id an error summary links to: the field's input, or a radio group's
    first choice (Django gives a group no id of its own: the link went to "#")."""
    return bound_field.id_for_label or f"{bound_field.auto_id}_0"


@register.filter
def reference(value: str) -> str:
    """A stored message reference as printed: ``XXXX-XXXX-XXXX``."""
    return "-".join(value[i : i + 4] for i in range(0, len(value or ""), 4))


@register.filter
def get_item(mapping, key):
    """``{{ forms|get_item:kind }}``: a dict entry by a variable key."""
    return mapping.get(key) if mapping else None

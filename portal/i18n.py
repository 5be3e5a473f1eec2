from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation

# Set by the language switch for a visitor not signed in: signing in then keeps
# that choice (and saves it on their record) rather than the record's language.
# Signing in clears it, so the next person to sign in on a shared device, or the
# same person after choosing elsewhere, gets their record's language.
LANGUAGE_CHOSEN_COOKIE = "fh_language_chosen"


def set_language_cookie(response, language: str) -> None:
    """The customer's language on this device, for a year (signing in, preferences)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )


def mark_language_chosen(response) -> None:
    response.set_cookie(
        LANGUAGE_CHOSEN_COOKIE,
        "1",
        max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


# Settings that texts stored in the database (steps, data classes, notices) may
# name as ``{NAME}``: each deployment names its own identity-theft service.
TEXT_SETTINGS = ("ID_SUPPORT_NAME", "ID_SUPPORT_PHONE", "ID_SUPPORT_URL", "SUPPORT_PHONE")


def localized(obj: models.Model, field: str) -> str:
    """The French twin of ``field`` (``<field>_fr``) when French is active and
    filled, with any ``{ID_SUPPORT_NAME}`` (see TEXT_SETTINGS) filled in."""
    value = ""
    if translation.get_language() == "fr":
        value = getattr(obj, f"{field}_fr", "")
    value = value or getattr(obj, field)
    if isinstance(value, str) and "{" in value:
        for name in TEXT_SETTINGS:
            value = value.replace("{" + name + "}", str(getattr(settings, name, "")))
    return value


def fallback_language(obj: models.Model, field: str) -> str | None:
    """The language ``localized`` shows ``field`` in when it is not the page's:
    English, on a French page, for a record with no French twin filled in."""
    if (
        translation.get_language() == "fr"
        and hasattr(obj, f"{field}_fr")
        and not getattr(obj, f"{field}_fr")
        and getattr(obj, field)
    ):
        return settings.LANGUAGE_CODE
    return None


def localized_setting(name: str) -> str:
    """The French twin of the text setting ``name`` (``<name>_FR``) when French is
    active and it is set, else the English text."""
    if translation.get_language() == "fr":
        value = getattr(settings, f"{name}_FR", "")
        if value:
            return value
    return getattr(settings, name)


# Proper nouns that may open a label and keep their capital mid-sentence.
PROPER_NOUNS = frozenset({"Medicare"})


def in_sentence(label: str) -> str:
    """A sentence-case label as it reads mid-sentence.

    Labels are stored in sentence case ("Bank account number (IBAN)"), so only
    their first letter is lower-cased; a first word that is an acronym (a
    second capital, as in "SMS" or "IBAN") or a listed proper noun stays.
    Shared by the web pages and the messages (notices.templating).
    """
    first_word = label.split(" ", 1)[0]
    if not first_word or any(c.isupper() for c in first_word[1:]) or first_word in PROPER_NOUNS:
        return label
    return label[0].lower() + label[1:]

"""Masked forms of personal values: enough to recognise, never enough to use.

Raw values pass through here on their way in and are never stored.
"""

from __future__ import annotations

import re

DOT = "\u2022"  # •


def mask_email(email: str) -> str:
    """``jane.doe@example.com`` → ``j•••@example.com``."""
    local, _, domain = (email or "").strip().partition("@")
    if not local or not domain:
        return DOT * 3
    return f"{local[0]}{DOT * 3}@{domain.lower()}"


def mask_phone(phone: str) -> str:
    """``+61412345321`` → ``•••• ••• 321``; a number already masked stays as it is
    (retention keeps a delivery's number in this form)."""
    if DOT in (phone or ""):
        return phone
    digits = re.sub(r"[^0-9]", "", phone or "")
    if len(digits) < 6:
        return f"{DOT * 4} {DOT * 3}"
    return f"{DOT * 4} {DOT * 3} {digits[-3:]}"


def mask_contacts_in(text: str) -> str:
    """Free text from a provider (an error, a receipt) with each address or
    number in it masked as everywhere else: a refusal often quotes them."""
    from urllib.parse import unquote

    from portal.observability.logs import EMAIL_PATTERN, PHONE_PATTERN

    text = EMAIL_PATTERN.sub(lambda m: mask_email(unquote(m[0])), text or "")
    return PHONE_PATTERN.sub(lambda m: mask_phone(unquote(m[0])), text)


def masked_contacts_only(text: str) -> str:
    """Only the phone numbers and email addresses found in free text, masked;
    the rest (a name, a note) is left out."""
    from portal.observability.logs import EMAIL_PATTERN, PHONE_PATTERN

    found = [mask_email(m[0]) for m in EMAIL_PATTERN.finditer(text or "")]
    rest = EMAIL_PATTERN.sub(" ", text or "")
    found += [mask_phone(m[0]) for m in PHONE_PATTERN.finditer(rest)]
    return ", ".join(found) or DOT * 3


def tail_shown(length: int) -> int:
    """How many last characters of an identity number of ``length`` stay
    visible: at most a third, never more than four, none of six or fewer
    (``masking_sql`` computes the same: ``least(4, length / 3)``)."""
    return 0 if length <= 6 else min(4, length // 3)


def mask_tail(value: str) -> str:
    """Identity numbers: ``PA12348210`` → ``•••• 210``, ``AB123456789012`` → ``•••• 9012``,
    ``1234567`` → ``•••• 67``; short values are fully hidden."""
    compact = re.sub(r"[\s-]", "", value or "")
    shown = tail_shown(len(compact))
    if not shown:
        return DOT * 4
    return f"{DOT * 4} {compact[-shown:]}"


def mask_date(value: str) -> str:
    """A date of birth keeps only its year: ``1987-03-14`` → ``••/••/1987``."""
    match = re.search(r"(19|20)[0-9]{2}", value or "")
    year = match.group(0) if match else DOT * 4
    return f"{DOT * 2}/{DOT * 2}/{year}"


def mask_name(value: str) -> str:
    """``Jane Citizen`` → ``J••• C•••``."""
    parts = [p for p in (value or "").split() if p]
    if not parts:
        return DOT * 3
    return " ".join(f"{p[0]}{DOT * 3}" for p in parts)


def mask_address(value: str) -> str:
    """Keep the last line (suburb, state, postcode), hide the street."""
    parts = [p.strip() for p in (value or "").split(",") if p.strip()]
    if len(parts) < 2:
        return f"{DOT * 3}"
    return f"{DOT * 3}, {parts[-1]}"


def mask_secret(value: str) -> str:
    """Password hashes and other secrets: nothing of them is shown."""
    return DOT * 8


MASKERS = {
    "email": mask_email,
    "phone": mask_phone,
    "date_of_birth": mask_date,
    "name": mask_name,
    "address": mask_address,
    "password_hash": mask_secret,
    # Secrets, like a password: even their last characters help a guess
    # ("•••• nson" of a mother's maiden name).
    "security_questions": mask_secret,
    "auth_tokens": mask_secret,
}


def mask_value(data_class: str, raw: str) -> str:
    """The masked form of a raw exposed value of the given data class."""
    return MASKERS.get(data_class, mask_tail)(raw)


def looks_masked(value: str) -> bool:
    """A masked value hides at least part of itself behind the dot character."""
    return DOT in (value or "")

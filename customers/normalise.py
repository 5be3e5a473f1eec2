"""Normal forms for contact details: lower-case email, E.164 phone."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

# RFC 5321's limit, and our columns' (Customer.email, ContactVerification.value).
MAX_EMAIL_LENGTH = 254


def normalise_email(value: str, *, strict: bool = True) -> str:
    email = (value or "").strip().lower()
    if strict and email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(_("Enter a valid email address."), code="invalid_email") from None
        # lower() can lengthen it ("İ" is two characters in lower case): a field
        # checked at 254 before could be longer here, and PostgreSQL refuses it.
        if len(email) > MAX_EMAIL_LENGTH:
            raise ValidationError(_("Enter a valid email address."), code="invalid_email")
    return email


def normalise_phone(value: str, *, strict: bool = True, region: str | None = None) -> str:
    """E.164 (``+61412345678``), reading national numbers in ``PHONE_DEFAULT_REGION``."""
    raw = (value or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        if strict:
            raise ValidationError(_("Enter a valid phone number."), code="invalid_phone") from None
        return ""
    if not phonenumbers.is_valid_number(number):
        if strict:
            raise ValidationError(_("Enter a valid phone number."), code="invalid_phone")
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

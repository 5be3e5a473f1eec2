"""Deploy checks (`manage.py check --deploy`) for the portal's own keys."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.checks.security.base import (
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security, deploy=True)
def hash_key_is_its_own(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """HASH_KEY keys what is stored (birth-date and claim-code hashes, staff TOTP
    secrets) and must never change; SECRET_KEY signs what is sent and is rotated
    after a suspected leak. While one is the other, rotating SECRET_KEY would
    lock every staff member out of MFA and make every stored hash stop matching;
    a short key lets whoever has the hashes try every date of birth."""
    key = settings.HASH_KEY
    try:
        secret_key = settings.SECRET_KEY
    except ImproperlyConfigured:  # empty: Django's security.W009 says so
        secret_key = ""
    if not key or key == secret_key:
        return [
            checks.Warning(
                "HASH_KEY is not set apart from SECRET_KEY.",
                hint="Set HASH_KEY to its own long random value before the first import, "
                "and never change it; SECRET_KEY may then be rotated.",
                id="portal.W001",
            )
        ]
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return [
            checks.Warning(
                f"HASH_KEY has fewer than {SECRET_KEY_MIN_LENGTH} characters or fewer than "
                f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} different ones.",
                hint="Whoever has the stored hashes could find the key, and then every date "
                "of birth, by trying: use a long random value.",
                id="portal.W002",
            )
        ]
    return []

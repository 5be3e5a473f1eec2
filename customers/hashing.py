"""Keyed hashes of low-entropy secrets we must check but never keep.

A date of birth has about 36,500 likely values, so a plain hash is reversed
by trying them all; an HMAC under a key that lives only in the settings is
not. The same HMAC-SHA256 is computed in Python and, for bulk imports, in
PostgreSQL SQL (from the inner and outer padded keys, no extension needed).

``HASH_KEY`` must not change: stored hashes would stop matching.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def hash_key() -> str:
    """``settings.HASH_KEY``, refused when empty. Without DEBUG, SECRET_KEY has
    no default (commands that sign nothing, like migrate, run without it) and
    HASH_KEY defaults to it: an import run then would store birth-date hashes
    under a key everyone knows (reversed by trying every date), which would
    also stop matching once the key is set."""
    if not settings.HASH_KEY:
        raise ImproperlyConfigured("HASH_KEY (or SECRET_KEY, its default) must be set.")
    return settings.HASH_KEY


@cache
def _key(purpose: str) -> bytes:
    return hmac.new(hash_key().encode(), f"firsthand.{purpose}".encode(), "sha256").digest()


def keyed_hash(purpose: str, value: str) -> str:
    return hmac.new(_key(purpose), value.encode(), hashlib.sha256).hexdigest()


def hmac_pads(purpose: str) -> tuple[bytes, bytes]:
    """The inner and outer padded keys: HMAC(k, m) = H(opad ‖ H(ipad ‖ m))."""
    key = _key(purpose).ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def birth_date_hash(iso_date: str) -> str:
    """``1987-03-14`` → hex HMAC; '' for no date."""
    return keyed_hash("birth_date", iso_date) if iso_date else ""


def claim_code_hash(code: str) -> str:
    return keyed_hash("claim_code", code)

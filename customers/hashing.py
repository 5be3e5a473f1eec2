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


@cache
def _key(purpose: str) -> bytes:
    return hmac.new(settings.HASH_KEY.encode(), f"firsthand.{purpose}".encode(), "sha256").digest()


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

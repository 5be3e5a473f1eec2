"""Random codes people read and type: message references, claim codes.

A 32-symbol alphabet without the look-alikes 0/O and 1/I (a typed lower-case
l reads as L): 5 bits a symbol, drawn with ``secrets``. Shown in groups of
four (``XXXX-XXXX-XXXX``); typing accepts spaces, dashes and lower case.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_SEPARATORS = re.compile("[\\s\\-\u2013\u2014.]")


def random_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(typed: str, length: int) -> str | None:
    """What a person typed → the stored form, or None when it cannot be a code."""
    compact = _SEPARATORS.sub("", typed or "").upper()
    if len(compact) != length or any(symbol not in ALPHABET for symbol in compact):
        return None
    return compact

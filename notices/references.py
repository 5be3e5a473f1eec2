"""Public message references: the code printed in every message we send.

Twelve symbols from a 32-symbol alphabet without the look-alikes 0/O and 1/I
(a typed lower-case l reads as L): 5 bits each, 60 bits in all, drawn with
``secrets``. With 10 million messages on record, a guessed reference matches
one with probability 10^7 / 2^60 ≈ 8.7e-12, so references cannot be
enumerated; collisions (≈ 4e-5 over 10 million) are caught by a unique index.
Shown as ``XXXX-XXXX-XXXX``.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LENGTH = 12
_VALID = re.compile(f"^[{ALPHABET}]{{{LENGTH}}}$")


def new_reference() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def format_reference(reference: str) -> str:
    return "-".join(reference[i : i + 4] for i in range(0, len(reference), 4))


def normalise_reference(typed: str) -> str | None:
    """What a person typed (spaces, dashes, lower case) → the stored form, or None."""
    compact = re.sub("[\\s\\-\u2013\u2014.]", "", typed or "").upper()
    return compact if _VALID.match(compact) else None

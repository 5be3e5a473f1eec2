"""Public message references: the code printed in every message we send.

Twelve symbols of ``portal.codes.ALPHABET``, 60 bits in all. With 10 million
messages on record, a guessed reference matches one with probability
10^7 / 2^60 ≈ 8.7e-12, so references cannot be enumerated; collisions
(≈ 4e-5 over 10 million) are caught by a unique index. Shown as
``XXXX-XXXX-XXXX``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from portal.codes import ALPHABET, format_code, normalise_code, random_code

__all__ = [
    "ALPHABET",
    "LENGTH",
    "MALFORMED",
    "format_reference",
    "new_reference",
    "normalise_reference",
]

LENGTH = 12

# What cannot be a reference is most often a typo: said so, rather than "not
# from us, delete it", the reader checks again. It tells nothing about our
# records, so checking it costs no query.
MALFORMED = _(
    "A reference is twelve letters and digits, like K7QM-3TXP-9HWC (never I, O, 0 or 1). "
    "Check it against the message: if the message's reference does not look like this, "
    "the message is not from us."
)


def new_reference() -> str:
    return random_code(LENGTH)


def format_reference(reference: str) -> str:
    return format_code(reference)


def normalise_reference(typed: str) -> str | None:
    return normalise_code(typed, LENGTH)

"""How many SMS segments a text takes, and in which encoding.

A message goes out in GSM-7 when every character is in the GSM 03.38 basic
table or its extension table, and in UCS-2 (UTF-16) otherwise. A single GSM-7
SMS holds 160 septets; a concatenated one loses 7 to the user data header and
holds 153 per segment (UCS-2: 70, then 67 code units). An extension character
is an escape plus a character, 2 septets, and the pair is never split across
segments; nor is a UTF-16 surrogate pair, so a boundary can leave a segment
one unit short.
"""

from __future__ import annotations

from dataclasses import dataclass

# Keep in sync with notices/static/notices/sms_counter.js: both must count alike.
# GSM 03.38 basic character set, in code order 0x00-0x7F, without 0x1B (the
# escape to the extension table, never a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
) - {"\x1b"}
# The extension table: each costs an escape septet plus its own.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class SmsSegments:
    encoding: str
    characters: int  # code units of the encoding: septets, or UTF-16 units
    segments: int
    per_segment: int


def non_gsm_characters(text: str) -> list[str]:
    """The characters that force ``text`` into UCS-2, each once, in order of appearance."""
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION:
            seen.setdefault(ch)
    return list(seen)


def _units(text: str) -> tuple[str, list[int]]:
    """The encoding, and the cost in code units of each character of ``text``."""
    costs = []
    for ch in text:
        if ch in GSM7_BASIC:
            costs.append(1)
        elif ch in GSM7_EXTENSION:
            costs.append(2)
        else:
            return UCS2, [2 if ord(c) > 0xFFFF else 1 for c in text]
    return GSM7, costs


def sms_segments(text: str) -> SmsSegments:
    encoding, costs = _units(text)
    single, multi = _LIMITS[encoding]
    total = sum(costs)
    if total <= single:
        return SmsSegments(encoding, total, 1 if total else 0, single)
    # Fill segments greedily; a pair that would straddle a boundary starts the next one.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments += 1
            used = 0
        used += cost
    return SmsSegments(encoding, total, segments, multi)

"""What the import files look like and the rules every row must follow.

The rules are stated twice, once as SQL (PostgreSQL, set-based) and once as
Python (SQLite, batched); ``tests/customers/test_importers.py`` runs the same
files through the backend at hand and expects the same reports.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

import phonenumbers

# Column → longest accepted value, spaces around it trimmed (see ``oversized``).
CUSTOMER_COLUMNS = {
    "customer_ref": 32,
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "phone": 32,
    "is_current": 5,
    "preferred_language": 2,
    "preferred_channel": 8,
    "date_of_birth": 16,
}
# Columns stored under another name: the date of birth only as a keyed hash.
CUSTOMER_FIELD_FOR_COLUMN = {"date_of_birth": "birth_date_hash"}
# Flags about a contact detail's value, cleared when an import changes the value.
CONTACT_PROOF_FLAGS = {
    "email": ("email_verified", "email_from_support"),
    "phone": ("phone_verified",),
}
EXPOSURE_COLUMNS = {"customer_ref": 32, "exposed": 4000}
# Columns a file must have.
CUSTOMER_REQUIRED = ("customer_ref",)
EXPOSURE_REQUIRED = ("customer_ref", "exposed")
EXPOSED_VALUE_MAX = 200
# Longest accepted field as written, spaces and all, in any column (or the
# column's limit, if that is longer): padding is trimmed, a huge field refused.
RAW_FIELD_MAX = 1000

TRUE_WORDS = ("true", "1", "yes", "y", "t")
FALSE_WORDS = ("false", "0", "no", "n", "f")
LANGUAGES = ("en", "fr")
CHANNELS = ("sms", "email", "inapp", "push")

REF_PATTERN = r"^[A-Z0-9][A-Z0-9_-]*$"
# What Python calls white space, spelt out: a regular expression's \s is not the
# same set in Python and in PostgreSQL (where it hangs on the database's locale).
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Dot-separated parts, none empty, without white space or the characters that
# separate addresses in a list or wrap them ("Jane <j@example.com>").
_EMAIL_PART = f'[^@.{SPACES},;:<>()"]+'
EMAIL_PATTERN = rf"^{_EMAIL_PART}(\.{_EMAIL_PART})*@{_EMAIL_PART}(\.{_EMAIL_PART})+$"
PHONE_STRIP = rf"[{SPACES}().-]"
BIRTH_DATE_PATTERN = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
INTERNATIONAL_PATTERN = r"^00[1-9][0-9]{6,14}$"
NATIONAL_PATTERN = r"^0[1-9][0-9]{5,13}$"

# Reasons, as they appear in reports (stable: scripts may read them).
MISSING_REF = "missing customer reference"
MALFORMED_REF = "malformed customer reference"
UNKNOWN_CUSTOMER = "unknown customer"
DUPLICATE_ROW = "duplicate row"
OVERSIZED = "oversized field"
MALFORMED_EMAIL = "malformed email"
MALFORMED_PHONE = "malformed phone"
NOT_A_BOOLEAN = "not true or false"
MALFORMED_BIRTH_DATE = "malformed date of birth (expected YYYY-MM-DD)"
UNKNOWN_LANGUAGE = "unknown language"
UNKNOWN_CHANNEL = "unknown channel"
WRONG_ENCODING = "wrong encoding (not UTF-8)"
WRONG_COLUMN_COUNT = "wrong number of columns"
UNKNOWN_DATA_CLASS = "unknown data class"
MALFORMED_EXPOSED = "malformed exposed field (expected code=value;code=value)"
REPEATED_DATA_CLASS = "data class listed twice"
NOTHING_EXPOSED = "no exposed data classes"
UNKNOWN_COLUMN = "unknown column"
MISSING_COLUMN = "missing column"
NO_HEADER = "no header row (the first line must name the columns)"
UNCLOSED_QUOTE = "unclosed quote (a field cannot go on to the next line)"
LONE_CARRIAGE_RETURN = "carriage return without line feed (save with LF or CRLF line endings)"
MALFORMED_CSV = "malformed CSV (a quote out of place?)"
REPEATED_HEADER = "repeated header row (two files joined?)"


@dataclass(frozen=True, order=True)
class RowError:
    line: int
    column: str
    reason: str


def trim(raw: str) -> str:
    """Spaces off both ends, as SQL's ``trim()``: a tab or a no-break space stays
    (and is reported where it does not belong)."""
    return (raw or "").strip(" ")


def oversized(raw: str, limit: int) -> bool:
    """Longer than ``limit`` once trimmed (" fr" is a language), or longer than
    ``RAW_FIELD_MAX`` as written. As in the SQL: the trim only when needed."""
    length = len(raw or "")
    return length > limit and (length > max(limit, RAW_FIELD_MAX) or len(trim(raw)) > limit)


def normalise_ref(raw: str) -> str:
    """Upper-case, as SQL's ``upper()``: one character for one, so ``ß`` stays
    ``ß`` (and is malformed) where Python would make it ``SS``."""
    ref = trim(raw)
    if ref.isascii():
        return ref.upper()
    return "".join(upper if len(upper := c.upper()) == 1 else c for c in ref)


def national_country_code(region: str) -> int | None:
    """The country code a national number (leading 0) is read in, or None where
    0 is not the trunk prefix to drop: an Italian 06 number keeps its 0, and
    dropping it would store someone else's number."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.national_prefix != "0":
        return None
    return phonenumbers.country_code_for_region(region)


def normalise_phone(raw: str, country_code: int | None) -> str | None:
    """E.164 by shape: '' when empty, None when malformed (same as the SQL)."""
    digits = re.sub(PHONE_STRIP, "", raw or "")
    if not digits:
        return ""
    if re.match(E164_PATTERN, digits):
        return digits
    if re.match(INTERNATIONAL_PATTERN, digits):
        return "+" + digits[2:]
    # A national number read in the default region must still fit E.164
    # (15 digits with the country code), and the phone column.
    if country_code is None:
        return None
    national = f"+{country_code}{digits[1:]}"
    if re.match(NATIONAL_PATTERN, digits) and re.match(E164_PATTERN, national):
        return national
    return None


def parse_bool(raw: str) -> bool | None:
    word = trim(raw).lower()
    if word == "" or word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def parse_birth_date(raw: str) -> str | None:
    """``1987-03-14`` as is, '' when empty, None when it is not a real date."""
    text = trim(raw)
    if not text:
        return ""
    if not re.match(BIRTH_DATE_PATTERN, text):
        return None
    year, month, day = (int(part) for part in text.split("-"))
    return text if day <= calendar.monthrange(year, month)[1] else None

"""Reading import files: header checks, and a careful line-by-line reader that
names every line it cannot read (wrong encoding, wrong number of columns, a
quote left open or out of place)."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from typing import BinaryIO

from customers.importers.spec import (
    LONE_CARRIAGE_RETURN,
    MALFORMED_CSV,
    MISSING_COLUMN,
    NO_HEADER,
    OVERSIZED,
    REPEATED_HEADER,
    UNCLOSED_QUOTE,
    UNKNOWN_COLUMN,
    WRONG_COLUMN_COUNT,
    WRONG_ENCODING,
    RowError,
)

BLOCK = 1 << 20
BOM = b"\xef\xbb\xbf"


def header_key(line: bytes) -> bytes:
    """A line as it is compared with the header, to find a header repeated where
    two files were joined: without its line end or a byte-order mark (a file a
    spreadsheet saved has one before its header)."""
    return line.removeprefix(BOM).removesuffix(b"\n").removesuffix(b"\r")


class ImportFailed(Exception):
    """The import was refused; nothing was written. ``report`` says why."""

    def __init__(self, report) -> None:
        super().__init__(f"{len(report.errors)} rejected line(s)")
        self.report = report


def read_header(
    stream: BinaryIO, columns: dict[str, int], required: tuple[str, ...]
) -> tuple[list[str], list[RowError]]:
    """The header's column names, and what is wrong with them."""
    stream.seek(0)
    first = stream.readline()
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowError(1, "", WRONG_ENCODING)]
    try:
        names = [name.strip().lower() for name in next(csv.reader([text], strict=True), [])]
    except csv.Error as exc:
        # A file with CR-only line endings is one long "line" here.
        return [], [RowError(1, "", _reason(exc))]
    if not any(name in columns for name in names):
        # Not a header but a first record, or nothing: its fields are values,
        # which the report must not repeat.
        return names, [RowError(1, "", NO_HEADER)]
    errors = [RowError(1, name, UNKNOWN_COLUMN) for name in names if name not in columns]
    errors += [RowError(1, name, MISSING_COLUMN) for name in required if name not in names]
    if len(set(names)) != len(names):
        errors.append(RowError(1, "", "a column is named twice"))
    return names, errors


def blocks(stream: BinaryIO, progress=None) -> Iterator[bytes]:
    """The file after its header, in large blocks, for COPY."""
    stream.seek(0)
    stream.readline()
    while block := stream.read(BLOCK):
        if progress is not None:
            progress(len(block))
        yield block


class _RecordGoesOn(Exception):
    """The CSV reader asked for a second line for one record."""


class _Lines:
    """The lines after the header, decoded, for one ``csv.reader``; a line that is
    not UTF-8 (or has a NUL, which PostgreSQL cannot store) becomes an error.

    A record must end on its line. Left to itself the reader would take every
    line up to the next quote into a field opened by a stray one, and with it
    the records on those lines: silently, or into a name. Asked for a second
    line, this raises instead, and that line is read as a record of its own.
    """

    def __init__(self, stream: BinaryIO, header: bytes, errors: list[RowError], progress) -> None:
        self._lines = enumerate(iter(stream.readline, b""), start=2)
        self._header = header_key(header)
        self._errors = errors
        self._progress = progress
        self.number = 0  # the line the record being read is on; 0 before it starts
        self.text = ""

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.number:
            raise _RecordGoesOn
        # readline, not iteration: Django File objects rewind when iterated.
        for number, raw in self._lines:
            if self._progress is not None:
                self._progress(len(raw))
            # Read as a record it would be a customer "CUSTOMER_REF" in some files.
            if self._header in raw and header_key(raw) == self._header:
                self._errors.append(RowError(number, "", REPEATED_HEADER))
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is None or "\x00" in text:
                self._errors.append(RowError(number, "", WRONG_ENCODING))
                continue
            self.number, self.text = number, text
            return text
        raise StopIteration


def careful_rows(
    stream: BinaryIO, width: int, errors: list[RowError], progress=None
) -> Iterator[tuple[int, list[str]]]:
    """Each readable record after the header with its line; every unreadable
    line, and every line that repeats the header, becomes an error instead."""
    stream.seek(0)
    header = stream.readline()
    if progress is not None:
        progress(len(header))
    lines = _Lines(stream, header, errors, progress)
    # strict: text after a closing quote is an error, not glued to the field.
    reader = csv.reader(lines, strict=True)
    while True:
        lines.number = 0
        try:
            row = next(reader)
        except StopIteration:
            return
        except _RecordGoesOn:
            errors.append(RowError(lines.number, "", UNCLOSED_QUOTE))
            continue
        except csv.Error as exc:
            try:
                if not str(exc).startswith(_FIELD_LIMIT):
                    raise
                row = _read_long_line(lines.text)
            except csv.Error as unreadable:
                errors.append(RowError(lines.number, "", _reason(unreadable)))
                continue
        if not row or row == [""]:
            continue
        if len(row) != width:
            errors.append(RowError(lines.number, "", WRONG_COLUMN_COUNT))
            continue
        yield lines.number, row


_FIELD_LIMIT = "field larger than field limit"
_field_limit_lock = threading.Lock()


def _read_long_line(text: str) -> list[str]:
    """A line with a field over the csv module's limit (128 KB), read past it, so
    that the field is reported as oversized, in its column, as on PostgreSQL.
    The limit guards against a field that runs on through the file; here a field
    ends with its line, which is already in memory. It is process-wide: lifted
    for this one line, under a lock."""
    with _field_limit_lock:
        previous = csv.field_size_limit(len(text) + 1)
        try:
            return next(csv.reader([text], strict=True), [])
        finally:
            csv.field_size_limit(previous)


def _reason(exc: csv.Error) -> str:
    message = str(exc)
    if message.startswith("new-line character seen in unquoted field"):
        return LONE_CARRIAGE_RETURN
    if message.startswith("unexpected end of data"):
        return UNCLOSED_QUOTE
    if message.startswith(_FIELD_LIMIT):
        return OVERSIZED
    return MALFORMED_CSV

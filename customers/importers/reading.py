"""Reading import files: header checks, and a careful line-by-line reader that
names every line it cannot read (wrong encoding, wrong number of columns)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

from customers.importers.spec import (
    MISSING_COLUMN,
    UNKNOWN_COLUMN,
    WRONG_COLUMN_COUNT,
    WRONG_ENCODING,
    RowError,
)

BLOCK = 1 << 20


class ImportFailed(Exception):
    """The import was refused; nothing was written. ``report`` says why."""

    def __init__(self, report) -> None:
        super().__init__(f"{len(report.errors)} rejected line(s)")
        self.report = report


def read_header(stream: BinaryIO, columns: dict[str, int]) -> tuple[list[str], list[RowError]]:
    """The header's column names, and what is wrong with them."""
    stream.seek(0)
    first = stream.readline()
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowError(1, "", WRONG_ENCODING)]
    names = [name.strip().lower() for name in next(csv.reader([text]), [])]
    errors = [RowError(1, name, UNKNOWN_COLUMN) for name in names if name not in columns]
    if "customer_ref" not in names:
        errors.append(RowError(1, "customer_ref", MISSING_COLUMN))
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


def careful_rows(
    stream: BinaryIO, width: int, errors: list[RowError], progress=None
) -> Iterator[tuple[int, list[str]]]:
    """Each readable record after the header with the line it starts on; every
    unreadable line becomes an error instead."""
    stream.seek(0)
    header = stream.readline()
    if progress is not None:
        progress(len(header))
    yielded: list[int] = []  # line numbers handed to the CSV reader, in order

    def lines() -> Iterator[str]:
        # readline, not iteration: Django File objects rewind when iterated.
        for number, raw in enumerate(iter(stream.readline, b""), start=2):
            if progress is not None:
                progress(len(raw))
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                errors.append(RowError(number, "", WRONG_ENCODING))
                continue
            yielded.append(number)
            yield text

    reader = csv.reader(lines())
    while True:
        mark = len(yielded)
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            errors.append(
                RowError(yielded[mark] if len(yielded) > mark else 0, "", WRONG_COLUMN_COUNT)
            )
            continue
        start = yielded[mark]
        if not row or row == [""]:
            continue
        if len(row) != width:
            errors.append(RowError(start, "", WRONG_COLUMN_COUNT))
            continue
        yield start, row

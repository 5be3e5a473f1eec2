"""CSV downloads that are safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is read as a formula by Excel and LibreOffice (CSV injection); such cells get
a leading apostrophe, which spreadsheets show as text and do not evaluate.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_csv_row(row: Iterable) -> list[str]:
    return [safe_cell(value) for value in row]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_download(
    filename: str, header: list[str], rows: Iterable[Iterable]
) -> StreamingHttpResponse:
    """Stream rows as an attachment, neutralising formulas, without holding them in memory."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(safe_csv_row(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

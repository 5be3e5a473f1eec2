"""CSV downloads that are safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is read as a formula by Excel and LibreOffice (CSV injection); such cells get
a leading apostrophe, which spreadsheets show as text and do not evaluate.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.db.models import Model, Q, QuerySet
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


def in_created_order(queryset: QuerySet, *, limit: int, chunk_size: int = 2000) -> Iterator[Model]:
    """Up to ``limit`` rows of ``queryset`` by (created_at, id), one query a chunk.

    Keyset pagination: each query starts after the last row of the one before and
    uses the created_at index, so memory holds one chunk whatever the export's size.
    Unlike ``.iterator()`` it needs no server-side cursor, which the database
    settings turn off (DISABLE_SERVER_SIDE_CURSORS; PgBouncer in transaction mode
    cannot keep them either); without one ``.iterator()`` would load every row.
    """
    queryset = queryset.order_by("created_at", "id")
    after = Q()
    sent = 0
    while sent < limit:
        chunk = list(queryset.filter(after)[: min(chunk_size, limit - sent)])
        yield from chunk
        sent += len(chunk)
        if len(chunk) < chunk_size:
            return
        last = chunk[-1]
        # The first term is the index's range; the second breaks ties on created_at.
        after = Q(created_at__gte=last.created_at) & (
            Q(created_at__gt=last.created_at) | Q(id__gt=last.id)
        )

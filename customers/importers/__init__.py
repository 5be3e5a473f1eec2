"""Bulk import of customers and exposures from CSV files (formats in the README).

All or nothing by default: one bad line and nothing is written, and the
report names every bad line, its column and the reason. With
``skip_invalid`` the valid lines are imported and the report lists the rest.
Importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from typing import BinaryIO

from django.db import connection, transaction

from customers.importers import postgres, sqlite
from customers.importers.reading import ImportFailed, read_header
from customers.importers.spec import (
    CUSTOMER_COLUMNS,
    CUSTOMER_REQUIRED,
    EXPOSURE_COLUMNS,
    EXPOSURE_REQUIRED,
    RowError,
)
from customers.models import Incident
from portal.csv_export import safe_csv_row

__all__ = ["ImportFailed", "ImportReport", "RowError", "import_customers", "import_exposures"]


@dataclass
class ImportReport:
    kind: str
    inserted: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0
    committed: bool = False

    @property
    def rejected_lines(self) -> int:
        return len({e.line for e in self.errors})

    def write_csv(self, out) -> None:
        """``line,column,reason``: no values, so no personal data, in the report.
        A column is echoed from the file's header (an unknown name): cells that a
        spreadsheet would run as a formula are neutralised, as in exports."""
        writer = csv.writer(out)
        writer.writerow(["line", "column", "reason"])
        for error in sorted(set(self.errors)):
            writer.writerow(safe_csv_row([error.line, error.column, error.reason]))

    def summary(self) -> str:
        verb = "imported" if self.committed else "nothing imported"
        return (
            f"{self.kind}: {verb}; {self.inserted} new, {self.updated} changed, "
            f"{self.rejected_lines} line(s) rejected, {self.seconds:.1f}s"
        )


def _run(
    kind: str, stream: BinaryIO, columns: dict, required: tuple, skip_invalid: bool, work
) -> ImportReport:
    report = ImportReport(kind=kind)
    started = time.monotonic()
    names, header_errors = read_header(stream, columns, required)
    if header_errors:
        report.errors = header_errors
        raise ImportFailed(report)
    backend = postgres if connection.vendor == "postgresql" else sqlite
    try:
        with transaction.atomic():
            result = work(backend, names)
            report.inserted, report.updated = result["inserted"], result["updated"]
            report.errors = result["errors"]
            if report.errors and not skip_invalid:
                raise ImportFailed(report)
    except ImportFailed:
        report.inserted = report.updated = 0
        report.seconds = time.monotonic() - started
        raise
    report.committed = True
    report.seconds = time.monotonic() - started
    return report


def import_customers(
    stream: BinaryIO, *, skip_invalid: bool = False, progress=None
) -> ImportReport:
    return _run(
        "customers",
        stream,
        CUSTOMER_COLUMNS,
        CUSTOMER_REQUIRED,
        skip_invalid,
        lambda backend, names: backend.import_customers(stream, names, progress=progress),
    )


def import_exposures(
    stream: BinaryIO, *, incident: Incident, skip_invalid: bool = False, progress=None
) -> ImportReport:
    return _run(
        "exposures",
        stream,
        EXPOSURE_COLUMNS,
        EXPOSURE_REQUIRED,
        skip_invalid,
        lambda backend, names: backend.import_exposures(
            stream, names, incident_id=incident.pk, progress=progress
        ),
    )

"""What the two import commands share: the file, the progress bar, the report."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from customers.importers import ImportFailed, ImportReport


class ImportCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the valid lines and report the others (default: all or nothing)",
        )
        parser.add_argument(
            "--report", type=Path, help="where to write the CSV report (default: FILE.report.csv)"
        )

    def run_import(self, file: Path, report_path: Path | None, run) -> ImportReport:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        report_path = report_path or file.with_name(file.name + ".report.csv")
        # Checked first: a report that cannot be written after the import
        # would end it in a traceback, possibly with the valid lines in.
        if report_path.is_dir() or not report_path.parent.is_dir():
            raise CommandError(f"Cannot write the report to {report_path}")
        if report_path.exists() and report_path.samefile(file):
            raise CommandError(f"The report would overwrite the file it reports on: {report_path}")
        # A report left by an earlier run must not be read as this run's: it goes
        # now (so a run stopped by an unexpected error leaves none), and every run
        # that ends writes its own, the header alone when no line was rejected.
        try:
            report_path.unlink(missing_ok=True)
        except OSError as exc:
            raise CommandError(
                f"Cannot write the report to {report_path}: {exc.strerror}"
            ) from None
        bar = tqdm(
            total=os.path.getsize(file),
            unit="B",
            unit_scale=True,
            desc=f"Importing {file.name}",
            disable=not sys.stderr.isatty(),
        )
        try:
            with file.open("rb") as stream, bar:
                report = run(stream, bar.update)
        except ImportFailed as failed:
            self._write_report(failed.report, report_path)
            raise CommandError(
                f"{failed.report.rejected_lines} line(s) rejected, nothing imported. "
                f"Report: {report_path}"
            ) from None
        self._write_report(report, report_path)
        if report.errors:
            self.stdout.write(f"Report of rejected lines: {report_path}")
        else:
            self.stdout.write(f"No line rejected; report (header only): {report_path}")
        self.stdout.write(report.summary())
        return report

    @staticmethod
    def _write_report(report: ImportReport, path: Path) -> None:
        try:
            with path.open("w", newline="", encoding="utf-8") as out:
                report.write_csv(out)
        except OSError as exc:
            raise CommandError(f"Cannot write the report to {path}: {exc.strerror}") from None

"""manage.py import_customers FILE.csv [--skip-invalid] [--report PATH]"""

from __future__ import annotations

from customers.importers import import_customers
from customers.importing_cli import ImportCommand


class Command(ImportCommand):
    help = "Import or update customers from a CSV file (see the README for the format)."

    def handle(self, *args, file, skip_invalid, report, **options) -> None:
        self.run_import(
            file,
            report,
            lambda stream, progress: import_customers(
                stream, skip_invalid=skip_invalid, progress=progress
            ),
        )

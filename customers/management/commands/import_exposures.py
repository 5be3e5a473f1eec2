"""manage.py import_exposures FILE.csv --incident SLUG [--skip-invalid] [--report PATH]"""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from customers.importers import import_exposures
from customers.importing_cli import ImportCommand
from customers.models import Incident


class Command(ImportCommand):
    help = "Import what was exposed of each customer in an incident (see the README)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--incident", required=True, help="incident slug")

    def handle(self, *args, file, incident, skip_invalid, report, **options) -> None:
        try:
            incident_obj = Incident.objects.get(slug=incident)
        except Incident.DoesNotExist:
            raise CommandError(f"No incident {incident!r}.") from None
        self.run_import(
            file,
            report,
            lambda stream, progress: import_exposures(
                stream, incident=incident_obj, skip_invalid=skip_invalid, progress=progress
            ),
        )

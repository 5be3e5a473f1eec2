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
        if incident_obj.closed_at is not None:
            # As in the admin: retention counts from the closing and may have
            # frozen its figures and deleted its exposures; new ones would be
            # neither counted nor kept.
            raise CommandError(
                f"Incident {incident!r} is closed: reopen it before importing exposures."
            )
        self.run_import(
            file,
            report,
            lambda stream, progress: import_exposures(
                stream, incident=incident_obj, skip_invalid=skip_invalid, progress=progress
            ),
        )

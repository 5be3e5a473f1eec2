"""Apply the data-retention policy now, or count what it would do."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.retention import RULES, SETTINGS, retention_apply


class Command(BaseCommand):
    help = (
        "Apply the data-retention policy (settings RETENTION_*): remove personal data "
        "past its period, keep the breach record. --dry-run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what each rule would do; change nothing."
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the report as JSON."
        )

    def handle(self, *args, dry_run: bool, as_json: bool, **options):
        report = retention_apply(dry_run=dry_run)
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), sort_keys=True))
            return
        policy = ", ".join(f"{name}={getattr(settings, name)}" for name in SETTINGS)
        self.stdout.write(f"Policy: {policy}")
        verb = "would be affected" if dry_run else "affected"
        self.stdout.write(f"{'rule':<24}{'rows ' + verb:>24}  what")
        for rule, what in RULES.items():
            self.stdout.write(f"{rule:<24}{report.counts[rule]:>24}  {what}")
        for slug in report.skipped:
            self.stdout.write(f"skipped incident {slug}: a campaign is still sending")
        if dry_run:
            self.stdout.write(f"Dry run: nothing changed ({report.total} rows due).")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Done: {report.total} rows in {report.batches} batches"
                    + ("" if report.complete else " (stopped early; run again)")
                )
            )

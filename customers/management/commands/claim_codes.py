"""Claim codes for a letter run: one new code per chosen customer, as a mail-merge CSV."""

from __future__ import annotations

import csv
import os
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from customers.claims import claim_codes_issue_for_letters
from customers.models import Customer, Incident


def _private_file(path: str):
    """Opened for writing, readable by its owner only: the codes open records
    until they are used (a file already there loses its wider rights too)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", newline="")


class Command(BaseCommand):
    help = (
        "Issue claim codes for letters: writes customer_ref,claim_code (the only place the "
        "codes exist: keep the file safe and delete it after the mail merge)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--incident", help="only customers affected by this incident (slug)")
        parser.add_argument(
            "--without-login", action="store_true", help="only customers with no login yet"
        )
        parser.add_argument(
            "--without-email", action="store_true", help="only customers with no email on record"
        )
        parser.add_argument("--out", required=True, help="CSV file to write ('-' for stdout)")

    def handle(self, *args, incident, without_login, without_email, out, **options) -> None:
        customers = Customer.objects.exclude(birth_date_hash="")
        if incident:
            try:
                chosen = Incident.objects.get(slug=incident)
            except Incident.DoesNotExist:
                raise CommandError(f"No incident {incident!r}.") from None
            customers = customers.filter(exposures__incident=chosen)
        if without_login:
            customers = customers.filter(user__isnull=True)
        if without_email:
            customers = customers.filter(email="")
        total = customers.count()
        try:
            stream = sys.stdout if out == "-" else _private_file(out)
        except OSError as exc:
            # Before any code is issued: a code not written down is a code lost.
            raise CommandError(f"Cannot write {out}: {exc.strerror}.") from None
        try:
            writer = csv.writer(stream)
            writer.writerow(["customer_ref", "claim_code"])
            bar = tqdm(total=total, unit=" codes", disable=not sys.stderr.isatty())
            with bar:
                for ref, code in claim_codes_issue_for_letters(customers):
                    writer.writerow([ref, code])
                    bar.update()
        finally:
            if stream is not sys.stdout:
                stream.close()
        self.stderr.write(
            f"{total} claim codes written. Customers without a date of birth on record "
            "cannot use one and were left out."
        )

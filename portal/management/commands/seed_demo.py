"""Demo data: one telco-style incident, N customers with varied exposures, logins.

Idempotent: customers are numbered and generated deterministically; seeding
resumes after the highest demo number, through the same bulk import path as
real files (COPY on PostgreSQL), so running again changes nothing and a larger
N adds only the rest. ``--customers 10000000`` reaches a real breach's size.
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from tqdm import tqdm

from customers.demo import (
    CUSTOMER_HEADER,
    DEMO_INCIDENT,
    DEMO_INCIDENT_SLUG,
    DEMO_REF_PREFIX,
    demo_customers,
    demo_incident_dates,
)
from customers.hashing import birth_date_hash
from customers.importers import import_customers, import_exposures
from customers.masking import mask_value
from customers.models import Customer, Exposure, Incident, User
from portal.roles import AUDITOR, COMMUNICATIONS, INCIDENT_LEAD, SUPPORT_AGENT

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-2022"  # noqa: S105 - printed for the demo on purpose
# Demo staff, one per role (None: superuser). Each signs in at /admin/ with
# the password and a TOTP code from the shared demo secret (`make totp`).
DEMO_STAFF = [
    ("admin", "firsthand-admin", None),
    ("comms", "firsthand-comms", COMMUNICATIONS),
    ("lead", "firsthand-lead", INCIDENT_LEAD),
    ("support", "firsthand-support", SUPPORT_AGENT),
    ("auditor", "firsthand-auditor", AUDITOR),
]
# Base32; demo only: anyone reading this file can compute the codes.
DEMO_TOTP_SECRET = "FIRSTHANDDEMOTOTPSECRET2"  # noqa: S105
# A former customer with no email on record: claims their record with a code.
CLAIM_DEMO_REF = "FHDEMO0002"
CLAIM_DEMO_BIRTH_DATE = "1975-06-30"


class Command(BaseCommand):
    help = "Create (or top up) the demo incident, customers, exposures and logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=3000)
        parser.add_argument(
            "--chunk", type=int, default=500_000, help="customers generated per import"
        )

    def handle(self, *args, customers: int, chunk: int, **options) -> None:
        incident = self.ensure_incident()
        first = self.next_demo_number()
        if first <= customers:
            bar = tqdm(
                total=customers - first + 1,
                unit=" customers",
                desc="Seeding",
                disable=not sys.stderr.isatty(),
            )
            with bar, tempfile.TemporaryDirectory() as folder:
                for start in range(first, customers + 1, chunk):
                    stop = min(start + chunk, customers + 1)
                    self.seed_range(incident, start, stop, Path(folder))
                    bar.update(stop - start)
        self.ensure_demo_customer(incident)
        self.ensure_claim_demo_customer(incident)
        self.ensure_staff()
        self.ensure_notices(incident)
        total = Customer.objects.count()
        affected = Exposure.objects.filter(incident=incident).count()
        self.stdout.write(f"Demo data ready: {total} customers, {affected} affected.")
        self.stdout.write(
            f"  Customer: {DEMO_EMAIL} (password {DEMO_PASSWORD}, or ask for a sign-in code:\n"
            f"            it lands in the staff Outbox at /outbox/)\n"
            f"  Claim:    {CLAIM_DEMO_REF}, born {CLAIM_DEMO_BIRTH_DATE} (no email on record): a\n"
            f"            support agent issues a claim code; the customer uses it at /claim/\n"
            f"  Staff at /admin/ (email, password, then the code from `make totp`):\n"
            + "\n".join(
                f"            {name}@example.com / {password} ({role or 'superuser'})"
                for name, password, role in DEMO_STAFF
            )
        )

    def ensure_incident(self) -> Incident:
        incident, _ = Incident.objects.get_or_create(
            slug=DEMO_INCIDENT_SLUG,
            defaults={**DEMO_INCIDENT, **demo_incident_dates(), "status": Incident.Status.ACTIVE},
        )
        return incident

    @staticmethod
    def next_demo_number() -> int:
        """Demo customers are numbered; seeding resumes after the highest one."""
        # Only demo numbers (FH and eight digits): another customer whose
        # reference starts FH ("FHDEMO0001", or one imported) is not one.
        last = (
            Customer.objects.filter(customer_ref__startswith=DEMO_REF_PREFIX)
            .filter(customer_ref__regex=rf"^{DEMO_REF_PREFIX}[0-9]{{8}}$")
            .order_by("-customer_ref")
            .values_list("customer_ref", flat=True)
            .first()
        )
        return int(last[len(DEMO_REF_PREFIX) :]) + 1 if last else 1

    def seed_range(self, incident: Incident, start: int, stop: int, folder: Path) -> None:
        """Through the same bulk import as real files (COPY on PostgreSQL)."""
        customers_csv, exposures_csv = folder / "customers.csv", folder / "exposures.csv"
        with (
            customers_csv.open("w", newline="") as c_out,
            exposures_csv.open("w", newline="") as e_out,
        ):
            customers, exposures = csv.writer(c_out), csv.writer(e_out)
            customers.writerow(CUSTOMER_HEADER)
            exposures.writerow(["customer_ref", "exposed"])
            for person in demo_customers(start, stop):
                customers.writerow(person.customer_row())
                if person.exposed:
                    exposures.writerow(person.exposure_row())
        # Both or neither: seeding resumes after the highest demo customer, so a
        # chunk's customers committed without its exposures would stay without them.
        with transaction.atomic():
            with customers_csv.open("rb") as stream:
                import_customers(stream)
            with exposures_csv.open("rb") as stream:
                import_exposures(stream, incident=incident)

    @transaction.atomic
    def ensure_demo_customer(self, incident: Incident) -> None:
        customer, _ = Customer.objects.get_or_create(
            customer_ref="FHDEMO0001",
            defaults={
                "first_name": "Alex",
                "last_name": "Citizen",
                "email": DEMO_EMAIL,
                "email_verified": True,
                "phone": "+61491570156",
                "phone_verified": True,
                "preferred_channel": "sms",
            },
        )
        Exposure.objects.get_or_create(
            incident=incident,
            customer=customer,
            defaults={
                "fields": {
                    "name": mask_value("name", "Alex Citizen"),
                    "date_of_birth": mask_value("date_of_birth", "1987-03-14"),
                    "email": mask_value("email", DEMO_EMAIL),
                    "phone": mask_value("phone", "+61491570156"),
                    "passport_number": mask_value("passport_number", "PA4821821"),
                    "drivers_licence_number": mask_value("drivers_licence_number", "123456789"),
                }
            },
        )
        if customer.user_id is None:
            # The login may have outlived its customer (deleted to reset the demo).
            user = User.objects.filter(username="customer-fhdemo0001").first()
            if user is None:
                user = User.objects.create_user(
                    username="customer-fhdemo0001",
                    email=DEMO_EMAIL,
                    password=DEMO_PASSWORD,
                    first_name="Alex",
                    last_name="Citizen",
                )
            EmailAddress.objects.get_or_create(
                user=user, email=DEMO_EMAIL, defaults={"primary": True, "verified": True}
            )
            customer.user = user
            customer.save(update_fields=["user"])

    def ensure_notices(self, incident: Incident) -> None:
        from django.utils import timezone

        from notices.models import Notice

        # Written by the demo's communications officer, so the demo lead can
        # publish them (four eyes: a notice with no author never can be).
        author = User.objects.get(username="comms")
        for values in _demo_notices(incident):
            published = values["status"] == "published"
            Notice.objects.get_or_create(
                slug=values["slug"],
                defaults={
                    **values,
                    "incident": incident,
                    "published_at": timezone.now() if published else None,
                    "created_by": author,
                    "edited_by": author,
                },
            )
        # A demo seeded before notices had authors.
        Notice.objects.filter(
            slug__in=[values["slug"] for values in _demo_notices(incident)], created_by=None
        ).update(created_by=author, edited_by=author)

    def ensure_staff(self) -> None:
        from allauth.mfa.models import Authenticator
        from allauth.mfa.totp.internal.auth import TOTP
        from django.contrib.auth.models import Group

        for username, password, role in DEMO_STAFF:
            # A login with its role, address and MFA, or none: one found is not redone.
            with transaction.atomic():
                user = User.objects.filter(username=username).first()
                if user is None:
                    email = f"{username}@example.com"
                    if role is None:
                        user = User.objects.create_superuser(username, email, password)
                    else:
                        user = User.objects.create_user(username, email, password, is_staff=True)
                        user.groups.add(Group.objects.get(name=role))
                    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
                if not Authenticator.objects.filter(
                    user=user, type=Authenticator.Type.TOTP
                ).exists():
                    TOTP.activate(user, DEMO_TOTP_SECRET)

    @transaction.atomic
    def ensure_claim_demo_customer(self, incident: Incident) -> None:
        customer, _ = Customer.objects.get_or_create(
            customer_ref=CLAIM_DEMO_REF,
            defaults={
                "first_name": "Sam",
                "last_name": "Former",
                "phone": "+61491570157",
                "is_current": False,
                "birth_date_hash": birth_date_hash(CLAIM_DEMO_BIRTH_DATE),
            },
        )
        Exposure.objects.get_or_create(
            incident=incident,
            customer=customer,
            defaults={
                "fields": {
                    "name": mask_value("name", "Sam Former"),
                    "date_of_birth": mask_value("date_of_birth", CLAIM_DEMO_BIRTH_DATE),
                    "drivers_licence_number": mask_value("drivers_licence_number", "555123987"),
                }
            },
        )


def _demo_notices(incident: Incident) -> list[dict]:
    from customers.demo import DEMO_INCIDENT

    return [
        {
            "slug": "notice-of-data-breach",
            "kind": "breach",
            "audience": "public",
            "status": "draft",
            "title": "Notice of data breach",
            "title_fr": "Avis de fuite de données",
            "summary": DEMO_INCIDENT["summary"][:280],
            "summary_fr": DEMO_INCIDENT["summary_fr"][:280],
            "body": (
                f"## What happened\n\n{DEMO_INCIDENT['summary']}\n\n"
                "## What information was involved\n\nNames, dates of birth, email addresses, "
                "phone numbers and, for some customers, identity document numbers.\n\n"
                f"## What we are doing\n\n{DEMO_INCIDENT['actions']}\n\n"
                "## What you can do\n\nSign in to see exactly what of yours was exposed and "
                "what to do about each.\n\n"
                "## Other important information\n\nBe wary of messages that ask for passwords "
                "or payment: we never ask for either, and every message we send carries a "
                "reference you can check on our [Is this message from us?](/verify) page.\n\n"
                # Links only to the portal: the demo runs with the default
                # NOTICE_LINK_HOSTS, and a notice linking elsewhere cannot be published.
                "## For more information\n\nCall us on 1800 000 000, or see our "
                "[help and contacts](/help/) page, which also says how to reach the privacy "
                "regulator."
            ),
            "body_fr": (
                f"## Ce qui s'est passé\n\n{DEMO_INCIDENT['summary_fr']}\n\n"
                "## Quelles informations sont concernées\n\nNoms, dates de naissance, adresses "
                "e-mail, numéros de téléphone et, pour certains clients, numéros de pièces "
                "d'identité.\n\n"
                f"## Ce que nous faisons\n\n{DEMO_INCIDENT['actions_fr']}\n\n"
                "## Ce que vous pouvez faire\n\nConnectez-vous pour savoir ce qui vous concerne "
                "et que faire.\n\n"
                "## Autres informations importantes\n\nMéfiez-vous des messages qui demandent "
                "un mot de passe ou un paiement : nous ne demandons ni l'un ni l'autre, et chaque "
                "message que nous envoyons porte une référence à vérifier sur notre page "
                "[Ce message vient-il de nous\u202f?](/verify)\n\n"
                "## Pour plus d'informations\n\nAppelez-nous au 1800 000 000, ou consultez "
                "notre page [aide et contacts](/help/), qui indique aussi comment joindre "
                "l'autorité de protection des données."
            ),
        },
        {
            "slug": "beware-of-scam-texts",
            "kind": "advisory",
            "audience": "customers",
            "status": "published",
            "title": "Beware of scam texts",
            "title_fr": "Attention aux SMS frauduleux",
            "summary": "Scammers are texting customers about the breach. Our texts carry a reference.",
            "summary_fr": "Des escrocs envoient des SMS au sujet de la fuite. Nos SMS portent une référence.",
            "body": "We will never ask for a password, a code or a payment. Check any message "
            "on the [Is this message from us?](/verify) page.",
            "body_fr": "Nous ne vous demanderons jamais de mot de passe, de code ni de paiement. "
            "Vérifiez tout message sur notre page [Ce message vient-il de nous\u202f?](/verify)",
        },
    ]

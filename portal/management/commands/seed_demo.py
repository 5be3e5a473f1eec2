"""Demo data: one telco-style incident, N customers with varied exposures, logins.

Idempotent: customers are numbered and generated deterministically, inserted
with ON CONFLICT DO NOTHING; running again (or with a larger N) adds only what
is missing.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from customers.demo import (
    DEMO_INCIDENT,
    DEMO_INCIDENT_SLUG,
    demo_customers,
    demo_incident_dates,
)
from customers.masking import mask_value
from customers.models import Customer, Exposure, Incident, User

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-2022"  # noqa: S105 - printed for the demo on purpose
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "firsthand-admin"  # noqa: S105
# A second staff member, so a campaign written by one can be approved by the other.
LEAD_USERNAME = "lead"
LEAD_PASSWORD = "firsthand-lead"  # noqa: S105


class Command(BaseCommand):
    help = "Create (or top up) the demo incident, customers, exposures and logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=3000)
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, customers: int, batch_size: int, **options) -> None:
        incident = self.ensure_incident()
        for start in range(1, customers + 1, batch_size):
            stop = min(start + batch_size, customers + 1)
            self.insert_batch(incident, start, stop)
        self.ensure_demo_customer(incident)
        self.ensure_admin()
        total = Customer.objects.count()
        affected = Exposure.objects.filter(incident=incident).count()
        self.stdout.write(f"Demo data ready: {total} customers, {affected} affected.")
        self.stdout.write(
            f"  Customer: {DEMO_EMAIL} (password {DEMO_PASSWORD}, or ask for a sign-in code:\n"
            f"            it lands in the staff Outbox at /outbox/)\n"
            f"  Staff:    {ADMIN_USERNAME} / {ADMIN_PASSWORD} at /admin/\n"
            f"            {LEAD_USERNAME} / {LEAD_PASSWORD} (a second staff member, to approve campaigns)"
        )

    def ensure_incident(self) -> Incident:
        incident, _ = Incident.objects.get_or_create(
            slug=DEMO_INCIDENT_SLUG,
            defaults={**DEMO_INCIDENT, **demo_incident_dates(), "status": Incident.Status.ACTIVE},
        )
        return incident

    @transaction.atomic
    def insert_batch(self, incident: Incident, start: int, stop: int) -> None:
        people = list(demo_customers(start, stop))
        Customer.objects.bulk_create(
            [
                Customer(
                    customer_ref=p.customer_ref,
                    first_name=p.first_name,
                    last_name=p.last_name,
                    email=p.email,
                    phone=p.phone,
                    email_verified=bool(p.email),
                    is_current=p.is_current,
                    preferred_language=p.preferred_language,
                    preferred_channel=p.preferred_channel,
                )
                for p in people
            ],
            ignore_conflicts=True,
        )
        ids = dict(
            Customer.objects.filter(customer_ref__in=[p.customer_ref for p in people]).values_list(
                "customer_ref", "id"
            )
        )
        Exposure.objects.bulk_create(
            [
                Exposure(incident=incident, customer_id=ids[p.customer_ref], fields=p.exposed)
                for p in people
                if p.exposed
            ],
            ignore_conflicts=True,
        )

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
            user = User.objects.create_user(
                username="customer-fhdemo0001",
                email=DEMO_EMAIL,
                password=DEMO_PASSWORD,
                first_name="Alex",
                last_name="Citizen",
            )
            EmailAddress.objects.create(user=user, email=DEMO_EMAIL, primary=True, verified=True)
            customer.user = user
            customer.save(update_fields=["user"])

    def ensure_admin(self) -> None:
        for username, password in [
            (ADMIN_USERNAME, ADMIN_PASSWORD),
            (LEAD_USERNAME, LEAD_PASSWORD),
        ]:
            if not User.objects.filter(username=username).exists():
                User.objects.create_superuser(
                    username=username, email=f"{username}@example.com", password=password
                )

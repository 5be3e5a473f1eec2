"""Synthetic customers and exposures for the demo and for benchmarks.

Deterministic: customer number ``n`` always gets the same details, so seeding
again (or seeding more) changes nothing that exists. Raw identifiers are
generated only to be masked; they are never stored.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from customers.masking import mask_value

FIRST_NAMES = [
    "Olivia",
    "Noah",
    "Charlotte",
    "Oliver",
    "Amelia",
    "Jack",
    "Isla",
    "William",
    "Mia",
    "Leo",
    "Ava",
    "Lucas",
    "Grace",
    "Henry",
    "Chloé",
    "Thomas",
    "Zoe",
    "Hugo",
    "Ruby",
    "Louis",
    "Aanya",
    "Wei",
    "Mohammed",
    "Fatima",
    "Nguyen",
    "Priya",
    "Mateo",
    "Sofia",
    "Kai",
    "Aroha",
]
LAST_NAMES = [
    "Smith",
    "Nguyen",
    "Williams",
    "Brown",
    "Wilson",
    "Taylor",
    "Martin",
    "Anderson",
    "Lee",
    "Dubois",
    "Tremblay",
    "Singh",
    "Chen",
    "Kelly",
    "Walker",
    "Harris",
    "Lefebvre",
    "Roy",
    "Patel",
    "Thompson",
    "Khan",
    "Murphy",
    "Wang",
    "Girard",
    "O'Brien",
]
STREETS = [
    "George St",
    "Collins St",
    "Rue Sainte-Catherine",
    "King William St",
    "Hay St",
    "Queen St",
    "Elizabeth St",
    "Murray St",
]
SUBURBS = [
    "Sydney NSW 2000",
    "Melbourne VIC 3000",
    "Adelaide SA 5000",
    "Perth WA 6000",
    "Brisbane QLD 4000",
    "Hobart TAS 7000",
    "Canberra ACT 2600",
    "Darwin NT 0800",
]

DEMO_INCIDENT_SLUG = "customer-data-breach"
DEMO_REF_PREFIX = "FH"


def demo_ref(n: int) -> str:
    return f"{DEMO_REF_PREFIX}{n:08d}"


CUSTOMER_HEADER = [
    "customer_ref",
    "first_name",
    "last_name",
    "email",
    "phone",
    "is_current",
    "preferred_language",
    "preferred_channel",
    "date_of_birth",
]


@dataclass(frozen=True)
class DemoCustomer:
    customer_ref: str
    first_name: str
    last_name: str
    email: str
    phone: str
    is_current: bool
    preferred_language: str
    preferred_channel: str
    date_of_birth: str
    exposed: dict[str, str]  # data class → masked value; empty when not affected

    def customer_row(self) -> list[str]:
        """A line of a customers import file (CUSTOMER_HEADER)."""
        return [
            self.customer_ref,
            self.first_name,
            self.last_name,
            self.email,
            self.phone,
            "true" if self.is_current else "false",
            self.preferred_language,
            self.preferred_channel,
            self.date_of_birth,
        ]

    def exposure_row(self) -> list[str]:
        return [self.customer_ref, ";".join(f"{k}={v}" for k, v in self.exposed.items())]


def demo_customer(n: int) -> DemoCustomer:
    rng = random.Random(n * 7919 + 17)
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    is_current = rng.random() < 0.85
    # Former customers often have no email on record; some have no phone.
    has_email = rng.random() < (0.9 if is_current else 0.55)
    has_phone = rng.random() < 0.9
    email = f"{first}.{last}.{n}@example.com".lower().replace("'", "") if has_email else ""
    email = email.encode("ascii", "ignore").decode()
    phone = f"+614{n % 100_000_000:08d}" if has_phone else ""
    language = "fr" if rng.random() < 0.12 else "en"
    channel = rng.choices(["", "sms", "email", "inapp"], weights=[60, 20, 15, 5])[0]
    born = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    exposed: dict[str, str] = {}
    if rng.random() < 0.8:
        exposed["name"] = mask_value("name", f"{first} {last}")
        if rng.random() < 0.9:
            exposed["date_of_birth"] = mask_value("date_of_birth", born)
        if email:
            exposed["email"] = mask_value("email", email)
        if phone:
            exposed["phone"] = mask_value("phone", phone)
        if rng.random() < 0.5:
            exposed["address"] = mask_value(
                "address", f"{rng.randint(1, 300)} {rng.choice(STREETS)}, {rng.choice(SUBURBS)}"
            )
        if rng.random() < 0.3:
            exposed["account_number"] = mask_value(
                "account_number", f"{rng.randint(10**9, 10**10)}"
            )
        if rng.random() < 0.2:
            exposed["drivers_licence_number"] = mask_value(
                "drivers_licence_number", f"{rng.randint(10**7, 10**8)}"
            )
            if rng.random() < 0.5:
                exposed["drivers_licence_card_number"] = mask_value(
                    "drivers_licence_card_number", f"P{rng.randint(10**8, 10**9)}"
                )
        if rng.random() < 0.06:
            exposed["passport_number"] = mask_value(
                "passport_number", f"PA{rng.randint(10**6, 10**7)}"
            )
        if rng.random() < 0.03:
            exposed["medicare_number"] = mask_value(
                "medicare_number", f"{rng.randint(10**9, 10**10)}"
            )
        if rng.random() < 0.02:
            exposed["bank_account"] = mask_value(
                "bank_account", f"FR76{rng.randint(10**20, 10**21)}"
            )
    return DemoCustomer(
        customer_ref=demo_ref(n),
        first_name=first,
        last_name=last,
        email=email,
        phone=phone,
        is_current=is_current,
        preferred_language=language,
        preferred_channel=channel,
        date_of_birth=born,
        exposed=exposed,
    )


def demo_customers(start: int, stop: int) -> Iterator[DemoCustomer]:
    for n in range(start, stop):
        yield demo_customer(n)


DEMO_INCIDENT = {
    "title": "Cyber attack on customer records",
    "title_fr": "Cyberattaque visant les dossiers clients",
    "summary": (
        "On discovering unauthorised access to our customer database, we shut it down and "
        "started an investigation. Names, dates of birth and contact details of current and "
        "former customers were taken; for some customers, identity document numbers were "
        "taken too. No payment details or account passwords were accessed."
    ),
    "summary_fr": (
        "Dès la découverte d'un accès non autorisé à notre base de données clients, nous "
        "l'avons coupé et avons ouvert une enquête. Les noms, dates de naissance et coordonnées "
        "de clients actuels et anciens ont été dérobés ; pour certains clients, des numéros de "
        "pièces d'identité aussi. Aucune donnée de paiement ni aucun mot de passe n'a été "
        "consulté."
    ),
    "actions": (
        "We closed the access point and are working with the national cyber security centre and "
        "the police. We are contacting every affected customer directly, and we reimburse the "
        "cost of replacing any identity document that was exposed."
    ),
    "actions_fr": (
        "Nous avons fermé le point d'accès et travaillons avec le centre national de "
        "cybersécurité et la police. Nous contactons directement chaque client concerné et "
        "remboursons le remplacement de toute pièce d'identité exposée."
    ),
}


def demo_incident_dates() -> dict:
    now = timezone.now().replace(microsecond=0)
    return {
        "occurred_at": now - timedelta(days=4),
        "discovered_at": now - timedelta(days=2),
    }

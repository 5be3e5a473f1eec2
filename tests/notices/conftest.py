from __future__ import annotations

import pytest

from customers.masking import mask_value
from notices.services import campaign_create
from portal.roles import COMMUNICATIONS, INCIDENT_LEAD
from tests.factories import CustomerFactory, ExposureFactory
from tests.staff import staff_with_role


@pytest.fixture
def comms(db):
    """A communications officer (author of campaigns)."""
    return staff_with_role(COMMUNICATIONS, username="carol")


@pytest.fixture
def lead(db):
    """An incident lead (approves what others wrote)."""
    return staff_with_role(INCIDENT_LEAD, username="dave")


@pytest.fixture
def audience(db, incident):
    """Six affected customers with a mix of contact details, one unaffected."""
    people = {
        "sms_only": CustomerFactory(email="", phone="+61411000001"),
        "email_only": CustomerFactory(email="e1@example.com", phone=""),
        "both": CustomerFactory(email="b1@example.com", phone="+61411000003"),
        "prefers_email": CustomerFactory(
            email="p1@example.com", phone="+61411000004", preferred_channel="email"
        ),
        "former_passport": CustomerFactory(
            email="f1@example.com", phone="+61411000005", is_current=False
        ),
        "unreachable": CustomerFactory(email="", phone=""),
    }
    for key, customer in people.items():
        fields = {"name": mask_value("name", "A B"), "email": "x•••@example.com"}
        if key == "former_passport":
            fields["passport_number"] = mask_value("passport_number", "PA1234567")
        ExposureFactory(incident=incident, customer=customer, fields=fields)
    people["unaffected"] = CustomerFactory()
    return people


@pytest.fixture
def campaign(incident, comms, audience):
    return campaign_create(incident=incident, channels=["sms", "email"], by=comms)


BREACH_BODY = """## What happened
Someone reached our customer database.
## What information was involved
Names, dates of birth, some identity document numbers.
## What we are doing
We closed the access and are contacting every affected customer.
## What you can do
Sign in to see what of yours was exposed and what to do.
## Other important information
We will never ask for your password or a payment.
## For more information
Call us, or see the [regulator](https://www.oaic.gov.au).
"""
BREACH_BODY_FR = """## Ce qui s'est passé
Quelqu'un a accédé à notre base clients.
## Quelles informations sont concernées
Noms, dates de naissance, numéros de pièces d'identité.
## Ce que nous faisons
Nous avons fermé l'accès et contactons chaque client concerné.
## Ce que vous pouvez faire
Connectez-vous pour savoir ce qui vous concerne.
## Autres informations importantes
Nous ne vous demanderons jamais de mot de passe ni de paiement.
## Pour plus d'informations
Appelez-nous.
"""


@pytest.fixture
def make_notice(incident, comms, settings):
    from notices.models import Notice

    settings.NOTICE_LINK_HOSTS = ["www.oaic.gov.au"]
    counter = iter(range(1000))

    def make(**fields):
        n = next(counter)
        values = {
            "incident": incident,
            "slug": f"notice-{n}",
            "kind": "breach",
            "audience": "public",
            "title": f"Notice {n}",
            "title_fr": f"Avis {n}",
            "summary": "What happened, briefly.",
            "summary_fr": "Ce qui s'est passé, en bref.",
            "body": BREACH_BODY,
            "body_fr": BREACH_BODY_FR,
            "created_by": comms,
        }
        values.update(fields)
        return Notice.objects.create(**values)

    return make

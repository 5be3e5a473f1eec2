from __future__ import annotations

import pytest
from django.core.management import call_command

from customers.masking import looks_masked
from customers.models import Customer, Exposure, User

pytestmark = pytest.mark.django_db


def seed(n: int) -> None:
    call_command("seed_demo", customers=n, stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_seed_demo_is_idempotent_and_can_grow():
    seed(300)
    counts = (Customer.objects.count(), Exposure.objects.count(), User.objects.count())
    seed(300)
    assert (Customer.objects.count(), Exposure.objects.count(), User.objects.count()) == counts
    seed(400)
    assert Customer.objects.count() == counts[0] + 100


def test_seed_demo_has_the_mix_the_demo_needs():
    seed(600)
    exposures = list(Exposure.objects.values_list("fields", flat=True))
    assert any("passport_number" in f for f in exposures)
    assert any(set(f) <= {"name", "email", "phone", "date_of_birth", "address"} for f in exposures)
    assert Customer.objects.filter(exposures__isnull=True).exists()  # not affected
    assert Customer.objects.filter(is_current=False, email="").exists()  # former, no email
    assert all(looks_masked(v) for f in exposures for v in f.values())


def test_seed_demo_creates_the_demo_logins():
    seed(10)
    demo = Customer.objects.get(email="demo@example.com")
    assert demo.user.check_password("demo-password-2022")
    assert User.objects.get(username="admin").is_superuser

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


def test_seed_demo_creates_one_staff_login_per_role_with_mfa():
    from allauth.mfa.models import Authenticator

    from portal.roles import AUDITOR, COMMUNICATIONS, INCIDENT_LEAD, SUPPORT_AGENT

    seed(10)
    roles = {
        u.username: sorted(u.groups.values_list("name", flat=True))
        for u in User.objects.filter(is_staff=True)
    }
    assert roles == {
        "admin": [],
        "comms": [COMMUNICATIONS],
        "lead": [INCIDENT_LEAD],
        "support": [SUPPORT_AGENT],
        "auditor": [AUDITOR],
    }
    assert Authenticator.objects.filter(type="totp").count() == 5
    assert User.objects.get(username="lead").check_password("firsthand-lead")


def test_seed_demo_has_a_former_customer_who_can_claim():
    from customers.hashing import birth_date_hash

    seed(10)
    former = Customer.objects.get(customer_ref="FHDEMO0002")
    assert (former.email, former.user_id, former.is_current) == ("", None, False)
    assert former.birth_date_hash == birth_date_hash("1975-06-30")
    # Generated customers carry a date of birth too.
    assert not Customer.objects.filter(customer_ref__startswith="FH0", birth_date_hash="").exists()


def test_the_demo_lead_can_schedule_the_draft_notice_the_demo_comms_wrote():
    """Four eyes: the demo's draft notice has an author (comms), so the demo lead
    can walk through publishing it; a notice with no author could never be."""
    from datetime import timedelta

    from django.utils import timezone

    from notices.models import Notice
    from notices.services import notice_schedule

    seed(10)
    draft = Notice.objects.get(status=Notice.Status.DRAFT)
    assert draft.created_by.username == "comms"
    scheduled = notice_schedule(
        notice=draft, at=timezone.now() + timedelta(hours=1), by=User.objects.get(username="lead")
    )
    assert scheduled.status == Notice.Status.SCHEDULED


def test_an_older_demo_gets_an_author_for_its_notices():
    from notices.models import Notice

    seed(10)
    Notice.objects.update(created_by=None, edited_by=None)
    seed(10)
    assert not Notice.objects.filter(created_by=None).exists()


def test_seed_demo_interrupted_between_a_chunks_two_imports_leaves_no_half_chunk(monkeypatch):
    # The chunk's customers were committed before its exposures were imported:
    # stopped in between (Ctrl-C in a ten-million seed, an error), the next run
    # resumed after the highest demo customer and those exposures never came.
    from portal.management.commands import seed_demo as command

    seed(50)
    expected = Exposure.objects.filter(customer__customer_ref__startswith="FH0").count()
    Customer.objects.filter(customer_ref__startswith="FH0").delete()
    real = command.import_exposures

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "import_exposures", interrupted)
    with pytest.raises(KeyboardInterrupt):
        seed(50)
    assert not Customer.objects.filter(customer_ref__startswith="FH0").exists()
    monkeypatch.setattr(command, "import_exposures", real)
    seed(50)
    assert Exposure.objects.filter(customer__customer_ref__startswith="FH0").count() == expected


@pytest.mark.parametrize("other", ["FHX001", "FH123456789012"])
def test_seed_demo_resumes_after_demo_numbers_only(other):
    # Another customer whose reference starts FH stopped seeding with a
    # ValueError ("FHX001"), or made it resume after a number it never reached.
    from tests.factories import CustomerFactory

    CustomerFactory(customer_ref=other)
    seed(20)
    assert Customer.objects.filter(customer_ref__regex=r"^FH[0-9]{8}$").count() == 20


def test_seed_demo_stopped_while_creating_a_staff_login_leaves_none_half_made(monkeypatch):
    # The login was committed before its role: run again, seeding found it and
    # went on, leaving a staff login with no role and no email address.
    from django.contrib.auth.models import Group

    from portal.roles import INCIDENT_LEAD

    get = Group.objects.get

    def failing(**kwargs):
        if kwargs.get("name") == INCIDENT_LEAD:
            raise KeyboardInterrupt
        return get(**kwargs)

    monkeypatch.setattr(Group.objects, "get", failing)
    with pytest.raises(KeyboardInterrupt):
        seed(5)
    monkeypatch.setattr(Group.objects, "get", get)
    seed(5)
    lead = User.objects.get(username="lead")
    assert list(lead.groups.values_list("name", flat=True)) == [INCIDENT_LEAD]
    assert lead.emailaddress_set.filter(verified=True).exists()


def test_seed_demo_puts_back_a_deleted_demo_customer_with_its_login():
    # Deleting the demo customer (to reset the demo) leaves its login: seeding
    # again tried to create that login a second time and stopped (IntegrityError).
    seed(5)
    Customer.objects.filter(customer_ref="FHDEMO0001").delete()
    seed(5)
    demo = Customer.objects.get(customer_ref="FHDEMO0001")
    assert demo.user.username == "customer-fhdemo0001"
    assert demo.user.check_password("demo-password-2022")

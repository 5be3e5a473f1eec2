from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer, Step, StepProgress, User
from customers.services import customer_login_ensure, step_progress_set
from tests.explain import rows_read_in_vain
from tests.factories import (
    CustomerFactory,
    StaffFactory,
    UserFactory,
    login_left_behind_by_an_erased_record,
)

pytestmark = pytest.mark.django_db


def test_login_is_created_for_an_email_on_record():
    customer = CustomerFactory(email="jane@example.com")
    user = customer_login_ensure(email="  Jane@Example.com ")
    customer.refresh_from_db()
    assert customer.user == user
    assert user.email == "jane@example.com"
    assert not user.has_usable_password()
    address = EmailAddress.objects.get(user=user)
    assert address.primary and not address.verified


def test_login_ensure_is_idempotent():
    CustomerFactory(email="jane@example.com")
    first = customer_login_ensure(email="jane@example.com")
    second = customer_login_ensure(email="jane@example.com")
    assert first == second
    assert User.objects.filter(email="jane@example.com").count() == 1


def test_no_login_for_an_email_not_on_record():
    assert customer_login_ensure(email="stranger@example.com") is None
    assert not User.objects.filter(email="stranger@example.com").exists()


def test_shared_email_links_the_current_customer_first():
    former = CustomerFactory(email="family@example.com", is_current=False)
    current = CustomerFactory(email="family@example.com", is_current=True)
    user = customer_login_ensure(email="family@example.com")
    current.refresh_from_db()
    former.refresh_from_db()
    assert current.user == user and former.user is None


def test_an_email_entered_by_support_does_not_open_a_first_sign_in():
    # Whoever talked an agent into their address would otherwise get the record.
    customer = CustomerFactory(email="moved@example.com", email_from_support=True)
    assert customer_login_ensure(email="moved@example.com") is None
    customer.refresh_from_db()
    assert customer.user is None
    assert not User.objects.filter(email="moved@example.com").exists()


def test_the_record_from_our_files_is_linked_not_the_one_support_entered():
    entered = CustomerFactory(email="shared@example.com", email_from_support=True)
    on_file = CustomerFactory(email="shared@example.com", is_current=False)
    user = customer_login_ensure(email="shared@example.com")
    entered.refresh_from_db()
    on_file.refresh_from_db()
    assert on_file.user == user and entered.user is None


# One login per email. A login that already uses an email answers for it only
# when that is unambiguous: its own record has the email, or no other record does.


def test_an_email_on_another_record_does_not_sign_in_to_a_login_whose_record_moved_on():
    # Alice's login signs in with jane@; her record now says alice@ (an import);
    # Jane's record has jane@ now. The reader of jane@ is not Alice.
    alice_login = UserFactory(email="jane@example.com")
    CustomerFactory(email="alice@example.com", user=alice_login)
    jane = CustomerFactory(email="jane@example.com")
    assert customer_login_ensure(email="jane@example.com") is None
    jane.refresh_from_db()
    assert jane.user is None
    assert list(User.objects.filter(email="jane@example.com")) == [alice_login]


def test_an_email_on_a_record_does_not_sign_in_to_a_staff_login_with_it():
    staff = StaffFactory(email="sam@example.com")
    customer = CustomerFactory(email="sam@example.com")
    assert customer_login_ensure(email="sam@example.com") is None
    customer.refresh_from_db()
    assert customer.user is None
    assert list(User.objects.filter(email="sam@example.com")) == [staff]


def test_an_email_another_login_holds_as_its_address_gets_no_second_login():
    # The login's own field was edited (admin) but its allauth address is still
    # jane@: allauth would sign that login in, whatever login we made here.
    other = UserFactory(email="jane@example.com")
    other.email = "jane.old@example.com"
    other.save()
    jane = CustomerFactory(email="jane@example.com")
    assert customer_login_ensure(email="jane@example.com") is None
    jane.refresh_from_db()
    assert jane.user is None
    assert not User.objects.filter(email="jane@example.com").exists()


def test_a_shared_inbox_signs_in_the_login_whose_record_has_it():
    first = CustomerFactory(email="family@example.com")
    user = customer_login_ensure(email="family@example.com")
    second = CustomerFactory(email="family@example.com")
    assert customer_login_ensure(email="family@example.com") == user
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.user == user and second.user is None


def test_a_login_whose_record_moved_on_still_signs_in_when_no_one_else_has_the_email():
    # A support correction changes where alerts go, never the sign-in email.
    login = UserFactory(email="jane@example.com")
    CustomerFactory(email="jane.new@example.com", user=login)
    CustomerFactory(email="jane@example.com", email_from_support=True)
    assert customer_login_ensure(email="jane@example.com") == login


def test_an_inactive_login_is_not_signed_in_nor_doubled():
    login = UserFactory(email="jane@example.com", is_active=False)
    CustomerFactory(email="jane@example.com", user=login)
    assert customer_login_ensure(email="jane@example.com") is None
    assert User.objects.filter(email="jane@example.com").count() == 1


def test_a_username_someone_else_took_does_not_block_a_first_sign_in():
    # A staff login named like a customer's (made by hand in the admin).
    StaffFactory(username="customer-c12345678", email="sam@example.com")
    customer = CustomerFactory(customer_ref="C12345678", email="jane@example.com")
    user = customer_login_ensure(email="jane@example.com")
    assert user is not None and user.email == "jane@example.com"
    assert user.username.startswith("customer-c12345678-")
    customer.refresh_from_db()
    assert customer.user == user
    # Existing logins keep their names; a free name is still the plain one.
    other = CustomerFactory(customer_ref="D0000001", email="dan@example.com")
    assert customer_login_ensure(email="dan@example.com").username == "customer-d0000001"
    other.refresh_from_db()
    assert other.user.username == "customer-d0000001"


def test_a_username_someone_else_took_does_not_block_a_claim():
    from customers.claims import claim_complete
    from customers.models import ClaimCode

    StaffFactory(username="customer-c7", email="sam@example.com")
    customer = CustomerFactory(customer_ref="C7", email="", user=None)
    claim = ClaimCode.objects.create(
        customer=customer,
        code_hash="x",
        via=ClaimCode.Via.SUPPORT,
        expires_at=timezone.now() + timedelta(days=1),
    )
    user = claim_complete(claim_id=claim.pk, email="jane@example.com")
    assert user.username.startswith("customer-c7-") and user.email == "jane@example.com"


def test_step_progress_set_and_undo(alice):
    step = Step.objects.get(code="passport-decide-replace")
    step_progress_set(customer=alice, step=step, done=True)
    step_progress_set(customer=alice, step=step, done=True)
    assert StepProgress.objects.filter(customer=alice).count() == 1
    step_progress_set(customer=alice, step=step, done=False)
    assert not StepProgress.objects.filter(customer=alice).exists()


@pytest.mark.postgres
def test_on_postgresql_a_login_is_found_or_created_and_linked_in_one_statement():
    customer = CustomerFactory(email="jane@example.com", first_name="Jane", last_name="O'Neil")
    before = customer.updated_at
    with CaptureQueriesContext(connection) as queries:
        user = customer_login_ensure(email="jane@example.com")
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1
    customer.refresh_from_db()
    assert customer.user_id == user.pk and customer.updated_at > before
    stored = User.objects.get(pk=user.pk)
    for field in User._meta.concrete_fields:
        assert getattr(user, field.attname) == getattr(stored, field.attname), field.name
    assert (stored.username, stored.first_name, stored.last_name) == (
        f"customer-{customer.customer_ref}".lower(),
        "Jane",
        "O'Neil",
    )
    assert stored.is_active and not stored.is_staff and not stored.is_superuser
    assert not stored.has_usable_password() and stored.last_login is None
    address = EmailAddress.objects.get(user=stored)
    assert (address.email, address.primary, address.verified) == ("jane@example.com", True, False)
    with CaptureQueriesContext(connection) as queries:
        assert customer_login_ensure(email="jane@example.com") == stored
    assert len([q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]) == 1


@pytest.mark.postgres
def test_on_postgresql_an_existing_login_is_not_doubled_by_a_second_record():
    # One email on two records: the first sign-in linked one; the other stays unlinked.
    linked = CustomerFactory(email="family@example.com", is_current=True)
    user = customer_login_ensure(email="family@example.com")
    other = CustomerFactory(email="family@example.com", is_current=True)
    assert customer_login_ensure(email="family@example.com") == user
    other.refresh_from_db()
    linked.refresh_from_db()
    assert linked.user == user and other.user is None
    assert User.objects.filter(email="family@example.com").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("records", [1, 2])
def test_on_postgresql_concurrent_first_sign_ins_share_one_login(records):
    # With two records for one email, a request that waited for the first
    # record's lock must not fall through to the second and give it a login too.
    customers = [CustomerFactory(email="jane@example.com") for _ in range(records)]
    start = threading.Barrier(8)
    found = []

    def sign_in():
        try:
            start.wait()
            found.append(customer_login_ensure(email="jane@example.com"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign_in) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert User.objects.filter(email="jane@example.com").count() == 1
    assert EmailAddress.objects.filter(email="jane@example.com").count() == 1
    assert len(found) == 8 and {u.pk for u in found} == {User.objects.get().pk}
    linked = [c.pk for c in customers if Customer.objects.get(pk=c.pk).user_id]
    assert linked == [customers[0].pk]


def test_an_address_proved_by_a_code_is_marked_on_that_record_only(db):
    from customers.services import customer_email_proved
    from tests.factories import UserFactory

    user = UserFactory()
    mine = CustomerFactory(user=user, email="jane@example.com", email_verified=False)
    other = CustomerFactory(email="jane@example.com", email_verified=False)  # not her login
    moved = CustomerFactory(user=UserFactory(), email="new@example.com", email_verified=False)
    customer_email_proved(user_id=user.pk, email="Jane@Example.com")
    customer_email_proved(user_id=moved.user_id, email="old@example.com")  # no longer on record
    assert [c.email_verified for c in (mine, other, moved) if not c.refresh_from_db()] == [
        True,
        False,
        False,
    ]


@pytest.mark.postgres
def test_on_postgresql_an_email_not_on_record_reads_logins_only_through_indexes():
    """Most sign-in requests in a storm that are not first sign-ins are typos
    and guesses: each asks which logins use the email. One query with an OR
    across logins and their addresses read them all (a quarter of a second at
    300,000 logins), and made an unknown email slower to answer than a known one."""
    for n in range(50):
        user = UserFactory(email=f"someone{n}@example.com")
        EmailAddress.objects.get_or_create(user=user, email=user.email)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_user")
        cursor.execute("ANALYZE account_emailaddress")
    with CaptureQueriesContext(connection) as captured:
        assert customer_login_ensure(email="nobody@example.org") is None
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().startswith("SELECT")]
    assert reads
    for sql in reads:
        assert rows_read_in_vain(sql) == 0, sql


# A login an earlier record left behind (the record erased, or replaced by a
# re-import) gives way to the record now waiting for a login with its email: it
# is retired, and the code signs in a new login linked to that record, never the
# old one (its password, sessions and app installs belonged to the earlier record).


def _left_behind(email: str = "jane@example.com", **fields) -> User:
    return login_left_behind_by_an_erased_record(email, **fields)


def test_a_login_an_erased_record_left_gives_way_to_the_re_imported_record():
    old = _left_behind()
    record = CustomerFactory(customer_ref="J0000001", email="jane@example.com")
    user = customer_login_ensure(email="jane@example.com")
    assert user is not None and user.pk != old.pk
    record.refresh_from_db()
    assert record.user == user and not user.has_usable_password()
    old.refresh_from_db()
    assert not old.is_active and old.email == ""
    assert not EmailAddress.objects.filter(user=old).exists()
    assert list(User.objects.filter(email="jane@example.com")) == [user]
    assert customer_login_ensure(email="jane@example.com") == user  # and stays so


@pytest.mark.parametrize(
    "fields",
    [
        {"is_staff": True},
        {"is_superuser": True},
        {"is_active": False},  # disabled by someone: their decision, not ours
    ],
)
def test_a_login_left_behind_that_is_staff_or_disabled_is_not_retired(fields):
    old = _left_behind(**fields)
    record = CustomerFactory(email="jane@example.com")
    assert customer_login_ensure(email="jane@example.com") is None
    record.refresh_from_db()
    old.refresh_from_db()
    assert record.user is None and old.email == "jane@example.com"
    assert all(getattr(old, name) == value for name, value in fields.items())
    assert User.objects.filter(email="jane@example.com").count() == 1


def test_a_login_left_behind_with_a_role_is_not_retired():
    from django.contrib.auth.models import Group

    old = _left_behind()
    old.groups.add(Group.objects.create(name="Some role"))
    CustomerFactory(email="jane@example.com")
    assert customer_login_ensure(email="jane@example.com") is None
    old.refresh_from_db()
    assert old.is_active and old.email == "jane@example.com"


def test_a_login_left_behind_is_kept_when_no_record_waits_for_the_email():
    old = _left_behind()
    assert customer_login_ensure(email="jane@example.com") == old
    # A record support entered the email on does not count (customers.claims).
    CustomerFactory(email="jane@example.com", email_from_support=True)
    assert customer_login_ensure(email="jane@example.com") == old
    old.refresh_from_db()
    assert old.is_active and old.email == "jane@example.com"


def test_a_password_reset_never_retires_a_login_left_behind():
    from customers.services import login_for_email

    old = _left_behind()
    CustomerFactory(email="jane@example.com")
    assert login_for_email(email="jane@example.com") is None
    old.refresh_from_db()
    assert old.is_active and old.email == "jane@example.com"

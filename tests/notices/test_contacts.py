"""A new email or phone is the customer's only once the code sent there comes
back, within a few tries."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from notices.models import ContactVerification
from notices.services import contacts
from tests.explain import rows_read_in_vain

pytestmark = pytest.mark.django_db


def start(customer) -> ContactVerification:
    return contacts.contact_change_start(customer=customer, kind="email", value="new@example.com")


def test_after_the_last_wrong_try_even_the_right_code_fails(alice, monkeypatch):
    monkeypatch.setattr(contacts.secrets, "randbelow", lambda n: 123456)
    verification = start(alice)
    for _ in range(contacts.MAX_ATTEMPTS):
        with pytest.raises(ValidationError):
            contacts.contact_change_confirm(
                customer=alice, verification_id=verification.public_id, code="000000"
            )
    verification.refresh_from_db()
    assert verification.attempts == contacts.MAX_ATTEMPTS
    with pytest.raises(ValidationError):
        contacts.contact_change_confirm(
            customer=alice, verification_id=verification.public_id, code="123456"
        )
    alice.refresh_from_db()
    assert alice.email != "new@example.com"


def test_the_right_code_within_the_tries_changes_the_email(alice, monkeypatch):
    monkeypatch.setattr(contacts.secrets, "randbelow", lambda n: 123456)
    verification = start(alice)
    with pytest.raises(ValidationError):
        contacts.contact_change_confirm(
            customer=alice, verification_id=verification.public_id, code="000000"
        )
    contacts.contact_change_confirm(
        customer=alice, verification_id=verification.public_id, code="123456"
    )
    alice.refresh_from_db()
    assert (alice.email, alice.email_verified) == ("new@example.com", True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_guesses_sent_at_once_get_no_more_than_the_tries(alice, monkeypatch):
    verification = start(alice)
    checked = []
    real_hash = contacts._code_hash
    monkeypatch.setattr(contacts, "_code_hash", lambda *a: checked.append(1) or real_hash(*a))
    guesses = 3 * contacts.MAX_ATTEMPTS
    go = threading.Barrier(guesses)

    def guess(n: int):
        try:
            go.wait()
            contacts.contact_change_confirm(
                customer=alice, verification_id=verification.public_id, code=f"{n:06d}"
            )
        except ValidationError:
            pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verification.refresh_from_db()
    assert verification.attempts == contacts.MAX_ATTEMPTS
    assert len(checked) == contacts.MAX_ATTEMPTS


def test_a_throttled_code_email_is_retried_not_lost(alice, settings):
    from django.core import mail

    from notices.tasks import send_contact_code
    from tests.customers import test_transactional_email as throttled

    verification = start(alice)
    mail.outbox.clear()
    settings.EMAIL_BACKEND = "tests.customers.test_transactional_email.ThrottledOnceBackend"
    throttled.failures_left[:] = [1]
    # As a worker runs it: a retry runs again at once here (eager), not after its back-off.
    send_contact_code.apply(args=(verification.pk, "123456"), throw=False)
    assert [m.to for m in mail.outbox] == [["new@example.com"]]
    assert throttled.failures_left == []


# --- the old email or phone is told it was replaced --------------------------------


def _change(customer, kind, value, monkeypatch, capture):
    monkeypatch.setattr(contacts.secrets, "randbelow", lambda n: 123456)
    with capture(execute=True):
        verification = contacts.contact_change_start(customer=customer, kind=kind, value=value)
    with capture(execute=True):
        contacts.contact_change_confirm(
            customer=customer, verification_id=verification.public_id, code="123456"
        )


def test_an_email_change_is_told_to_the_old_address_which_the_message_does_not_name(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    """A stolen session could move the login to the thief's inbox: the address
    it is taken from hears of it, with a reference /verify vouches for."""
    from django.core import mail

    from portal.models import TransactionalMessage

    old = alice.email
    _change(alice, "email", "new@example.com", monkeypatch, django_capture_on_commit_callbacks)
    [code, notice] = mail.outbox
    assert code.to == ["new@example.com"] and notice.to == [old]
    assert "has just been changed" in notice.body and "/help/" in notice.body
    assert "new@example.com" not in notice.body and old not in notice.body
    reference = notice.extra_headers["X-Firsthand-Reference"]
    assert TransactionalMessage.objects.get(reference=reference).sent_at is not None


def test_a_phone_change_is_texted_to_the_old_number(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    from notices.channels import locmem

    locmem.outbox.clear()
    old = alice.phone
    _change(alice, "phone", "+61411000999", monkeypatch, django_capture_on_commit_callbacks)
    assert [m.to for m in locmem.outbox] == ["+61411000999", old]
    text = locmem.outbox[-1].body
    assert "phone number on your" in text
    assert text.encode("ascii", "ignore").decode() == text  # plain GSM-7: one segment rate


def test_a_first_email_tells_no_one(alice, monkeypatch, django_capture_on_commit_callbacks):
    from django.core import mail

    alice.email = ""
    alice.save(update_fields=["email"])
    _change(alice, "email", "new@example.com", monkeypatch, django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["new@example.com"]]


def test_the_notice_is_in_the_customers_language(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core import mail

    alice.preferred_language = "fr"
    alice.save(update_fields=["preferred_language"])
    _change(alice, "email", "new@example.com", monkeypatch, django_capture_on_commit_callbacks)
    assert "L'adresse e-mail de votre dossier" in mail.outbox[-1].body


@pytest.mark.parametrize("held_as", ["field", "address"])
def test_a_new_email_another_login_uses_is_refused_once_the_code_is_right(
    alice, bob, monkeypatch, held_as
):
    from allauth.account.models import EmailAddress

    if held_as == "address":  # the login's own field edited, its allauth address not
        bob.user.email = "bob.old@example.com"
        bob.user.save()
        EmailAddress.objects.update_or_create(user=bob.user, defaults={"email": "bob@example.com"})
    monkeypatch.setattr(contacts.secrets, "randbelow", lambda n: 123456)
    verification = contacts.contact_change_start(
        customer=alice, kind="email", value="Bob@Example.com"
    )
    with pytest.raises(ValidationError, match="already used by another login"):
        contacts.contact_change_confirm(
            customer=alice, verification_id=verification.public_id, code="123456"
        )
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_a_new_email_a_login_an_erased_record_left_behind_uses_is_taken_from_it(alice, monkeypatch):
    from tests.factories import login_left_behind_by_an_erased_record

    old = login_left_behind_by_an_erased_record("jane@example.com")
    monkeypatch.setattr(contacts.secrets, "randbelow", lambda n: 123456)
    verification = contacts.contact_change_start(
        customer=alice, kind="email", value="jane@example.com"
    )
    contacts.contact_change_confirm(
        customer=alice, verification_id=verification.public_id, code="123456"
    )
    alice.refresh_from_db()
    old.refresh_from_db()
    assert (alice.email, alice.user.email) == ("jane@example.com", "jane@example.com")
    assert (old.is_active, old.email) == (False, "")


@pytest.mark.postgres
def test_on_postgresql_a_new_email_is_checked_against_other_logins_through_indexes(
    alice, monkeypatch
):
    """Whether another login uses the new email was asked with iexact (upper() of
    every login's and every address's email: no index serves it), a full read of
    both tables at each confirmed change, millions of rows after a breach."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import UserFactory

    for n in range(50):
        UserFactory(email=f"someone{n}@example.com")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_user")
        cursor.execute("ANALYZE account_emailaddress")
    monkeypatch.setattr(contacts.secrets, "randbelow", lambda n: 123456)
    verification = start(alice)
    with CaptureQueriesContext(connection) as captured:
        contacts.contact_change_confirm(
            customer=alice, verification_id=verification.public_id, code="123456"
        )
    reads = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().startswith("SELECT")
        and "someone" not in q["sql"]
        and ("account_emailaddress" in q["sql"] or '"customers_user"' in q["sql"])
    ]
    assert reads
    for sql in reads:
        assert rows_read_in_vain(sql) == 0, sql

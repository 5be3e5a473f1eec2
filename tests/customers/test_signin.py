"""Sign-in by one-time code and by password, through Django's test client."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from customers.models import Customer, User
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

REQUEST = reverse("account_request_login_code")
CONFIRM = reverse("account_confirm_login_code")


def request_code(client, email, capture):
    with capture(execute=True):
        return client.post(REQUEST, {"email": email})


def code_from_outbox() -> str:
    body = mail.outbox[-1].body
    match = re.search(r"^\s*([A-Z0-9]{3,}-?[A-Z0-9]{3,})\s*$", body, re.M)
    assert match, body
    return match.group(1)


def test_customer_on_record_signs_in_by_code(client, incident, django_capture_on_commit_callbacks):
    customer = CustomerFactory(email="jane@example.com", email_verified=False)  # as imported
    response = request_code(client, "Jane@Example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == CONFIRM
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["jane@example.com"]

    response = client.post(CONFIRM, {"code": code_from_outbox()})
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:dashboard")
    customer.refresh_from_db()
    assert customer.user is not None
    assert customer.user.emailaddress_set.get().verified
    # The code went to the address on record: the record shows it proved.
    assert customer.email_verified
    page = client.get(reverse("customers:dashboard"))
    assert page.status_code == 200
    # Named by their address, not by the login's internal username.
    said = [str(m) for m in page.context["messages"]]
    assert "Successfully signed in as jane@example.com." in said
    assert customer.user.username not in page.content.decode()


def test_unknown_email_gets_the_same_answer_and_no_mail(client, django_capture_on_commit_callbacks):
    CustomerFactory(email="jane@example.com")
    known = request_code(client, "jane@example.com", django_capture_on_commit_callbacks)
    client.cookies.clear()
    unknown = request_code(client, "nobody@example.com", django_capture_on_commit_callbacks)
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.to for m in mail.outbox] == [["jane@example.com"]]
    assert not User.objects.filter(email="nobody@example.com").exists()
    # The confirm page reads the same for both, and claims no code was sent.
    page = client.get(CONFIRM).content.decode()
    assert "nobody@example.com" in page
    assert "has been sent" not in page and "If nobody@example.com is on our records" in page


def test_an_email_a_support_agent_entered_cannot_sign_in_to_the_record(
    client, incident, django_capture_on_commit_callbacks
):
    from notices.services.support import customer_contact_correct
    from portal.roles import SUPPORT_AGENT
    from tests.staff import staff_with_role

    victim = CustomerFactory(email="victim@example.com", user=None)
    agent = staff_with_role(SUPPORT_AGENT, username="sam")
    customer_contact_correct(
        customer=victim,
        field="email",
        value="caller@example.net",
        reason="Caller says this is their new address",
        by=agent,
    )
    response = request_code(client, "caller@example.net", django_capture_on_commit_callbacks)
    # The same answer as for any email not on record, and nothing sent.
    assert response.status_code == 302 and response["Location"] == CONFIRM
    assert mail.outbox == []
    victim.refresh_from_db()
    assert victim.user is None and victim.email_from_support


def test_an_email_on_a_record_does_not_sign_the_reader_in_to_another_login_with_it(
    client, alice, django_capture_on_commit_callbacks
):
    # Alice's record moved on to another address; another record has hers now.
    alice.email = "alice.new@example.com"
    alice.save()
    CustomerFactory(email="alice@example.com")
    response = request_code(client, "alice@example.com", django_capture_on_commit_callbacks)
    # The answer for any email not on record, and no code to sign anyone in.
    assert response.status_code == 302 and response["Location"] == CONFIRM
    assert mail.outbox == []
    assert User.objects.filter(email="alice@example.com").count() == 1


def test_a_re_imported_record_signs_in_by_code_past_the_login_its_erased_record_left(
    client, incident, django_capture_on_commit_callbacks
):
    """The earlier record's login (its password, its sessions) is retired, not
    handed to whoever reads the inbox now: the code signs in a new login, linked
    to the new record, as a first sign-in does."""
    from django.test import Client

    from customers.services import customer_login_ensure
    from tests.factories import ExposureFactory

    earlier = CustomerFactory(customer_ref="J0000001", email="jane@example.com")
    old = customer_login_ensure(email="jane@example.com")
    old.set_password("the-earlier-password")
    old.save()
    old_session = Client()
    old_session.force_login(old)
    earlier.delete()
    record = CustomerFactory(customer_ref="J0000001", email="jane@example.com", first_name="Jo")
    ExposureFactory(incident=incident, customer=record, fields={"passport_number": "•••• 321"})

    request_code(client, "jane@example.com", django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["jane@example.com"]]
    response = client.post(CONFIRM, {"code": code_from_outbox()})
    assert response["Location"] == reverse("customers:dashboard")
    record.refresh_from_db()
    assert record.user_id not in (None, old.pk)
    assert int(client.session["_auth_user_id"]) == record.user_id
    page = client.get(reverse("customers:dashboard")).content.decode()
    assert "Hello Jo" in page and "•••• 321" in page
    # Nothing of the earlier login reaches the new record.
    assert old_session.get(reverse("customers:dashboard")).status_code == 302
    password = Client().post(
        reverse("account_login"),
        {"login": "jane@example.com", "password": "the-earlier-password"},
    )
    assert "_auth_user_id" not in password.wsgi_request.session


@pytest.mark.parametrize("via", ["site", "app"])
def test_a_password_reset_does_not_hand_the_reader_another_login_with_the_email(
    client, alice, django_capture_on_commit_callbacks, via
):
    """The rule the code sign-in keeps (customers.services.customer_login_ensure)
    holds for a reset link too: whoever reads an inbox that is now another
    record's (recycled, shared) could otherwise set a password on Alice's login
    and sign in to it. The answer is the one for an email not on record."""
    alice.email = "alice.new@example.com"
    alice.save()
    CustomerFactory(email="alice@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        if via == "site":
            response = client.post(
                reverse("account_reset_password"), {"email": "alice@example.com"}
            )
            assert response.status_code == 302
        else:
            response = client.post(
                "/_allauth/app/v1/auth/password/request",
                {"email": "alice@example.com"},
                content_type="application/json",
            )
            assert response.status_code == 200
    assert mail.outbox == []


def test_a_password_reset_still_reaches_a_login_whose_record_moved_on_alone(
    client, alice, django_capture_on_commit_callbacks
):
    alice.email = "alice.new@example.com"
    alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_wrong_codes_are_limited(client, django_capture_on_commit_callbacks):
    CustomerFactory(email="jane@example.com")
    request_code(client, "jane@example.com", django_capture_on_commit_callbacks)
    good = code_from_outbox()
    for _ in range(3):
        client.post(CONFIRM, {"code": "WRONG-CODE"})
    # After three wrong attempts the code is void, even the right one.
    response = client.post(CONFIRM, {"code": good})
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 302)


def test_a_code_spent_by_wrong_tries_says_so_and_that_a_new_one_can_be_asked(
    client, django_capture_on_commit_callbacks
):
    CustomerFactory(email="jane@example.com")
    request_code(client, "jane@example.com", django_capture_on_commit_callbacks)
    for _ in range(2):
        client.post(CONFIRM, {"code": "WRONG-CODE"})
    page = client.post(CONFIRM, {"code": "WRONG-CODE"}, follow=True, HTTP_ACCEPT_LANGUAGE="fr")
    assert page.redirect_chain[-1][0] == REQUEST
    html = page.content.decode()
    assert "Ce code ne fonctionne plus" in html and "réessayer ultérieurement" not in html


def test_code_requests_are_rate_limited_per_email(client, django_capture_on_commit_callbacks):
    CustomerFactory(email="jane@example.com")
    for _ in range(3):
        request_code(client, "jane@example.com", django_capture_on_commit_callbacks)
        client.cookies.clear()
    response = request_code(client, "jane@example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 400  # the form sent back with the limit's error
    assert "Too many" in response.content.decode()
    assert len(mail.outbox) == 3


def test_password_sign_in(client, alice):
    response = client.post(
        reverse("account_login"),
        {"login": "alice@example.com", "password": "correct-horse-battery"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:dashboard")


def test_wrong_password_answers_like_unknown_email(client, alice):
    wrong = client.post(
        reverse("account_login"), {"login": "alice@example.com", "password": "nope-nope-nope"}
    ).content.decode()
    unknown = client.post(
        reverse("account_login"), {"login": "ghost@example.com", "password": "nope-nope-nope"}
    ).content.decode()
    assert "not correct" in wrong and "not correct" in unknown


def test_signup_is_closed(client):
    response = client.get(reverse("account_signup"))
    assert "closed" in response.content.decode().lower()
    assert Customer.objects.count() == 0


def test_password_reset_answers_the_same_for_unknown_emails(
    client, alice, django_capture_on_commit_callbacks
):
    url = reverse("account_reset_password")
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(url, {"email": "alice@example.com"})
        unknown = client.post(url, {"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert mail.outbox[0].subject == "Reset your password"  # not allauth's "Password Reset Email"


def test_sign_in_sets_the_customers_language(client, alice):
    alice.preferred_language = "fr"
    alice.save()
    client.post(
        reverse("account_login"),
        {"login": "alice@example.com", "password": "correct-horse-battery"},
    )
    assert client.cookies["django_language"].value == "fr"


def sign_in(client):
    return client.post(
        reverse("account_login"),
        {"login": "alice@example.com", "password": "correct-horse-battery"},
        follow=True,
    )


def test_a_language_chosen_before_signing_in_is_kept_and_remembered(client, alice):
    """A French reader who switched the site to French, then signed in, stays in
    French, whatever language (often only the import's default) the record had;
    the record takes the choice, so their messages come in French too."""
    client.get(reverse("switch_language", args=["fr"]))
    response = sign_in(client)
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert response.wsgi_request.LANGUAGE_CODE == "fr"
    alice.refresh_from_db()
    assert alice.preferred_language == "fr"


def test_the_records_language_follows_the_customer_to_a_device_used_before(alice):
    """The language a sign-in wrote on this device is not a choice made here:
    a choice made since on another device wins at the next sign-in."""
    from django.test import Client

    laptop, phone = Client(), Client()
    sign_in(laptop)
    laptop.post(reverse("account_logout"))
    sign_in(phone)
    phone.post(reverse("customers:set_language"), {"language": "fr", "next": "/"})
    sign_in(laptop)
    assert laptop.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"


def test_the_next_person_on_a_shared_device_gets_their_own_language(client, alice):
    from tests.factories import UserFactory

    bob = CustomerFactory(user=UserFactory(email="bob@example.com"), email="bob@example.com")
    bob.preferred_language = "fr"
    bob.save()
    sign_in(client)
    client.post(reverse("account_logout"))
    client.post(
        reverse("account_login"),
        {"login": "bob@example.com", "password": "correct-horse-battery"},
    )
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    alice.refresh_from_db()
    assert alice.preferred_language == "en"


def test_confirming_who_you_are_by_code_is_labelled_in_the_readers_language(client, alice):
    client.force_login(alice.user)
    page = client.get(reverse("account_request_reauthentication_code"), HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Envoyer le code à" in html and "Recipient" not in html
    assert 'for="id_recipient"' in html  # the label names its field


def test_the_password_page_offers_a_reset_once_after_the_form(client):
    html = client.get(reverse("account_login")).content.decode()
    assert html.count("Forgot your password?") == 1
    # Not between the email and password fields (it was allauth's help text too).
    assert html.index("Forgot your password?") > html.index('type="submit"')
    assert "id_password_helptext" not in html  # no empty help for screen readers either

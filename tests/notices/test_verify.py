"""Is this message from us? Genuine and not genuine: same work, same limits; what
cannot be a reference is a form error (most often a typo), at no query."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notices.models import Delivery, SuspiciousReport
from notices.references import format_reference, new_reference

pytestmark = pytest.mark.django_db
VERIFY = reverse("notices:verify")


@pytest.fixture
def sms(campaign, audience):
    return Delivery.objects.create(
        campaign=campaign,
        customer=audience["both"],
        channel="sms",
        to="+61411000321",
        status="delivered",
        reference=new_reference(),
        sent_at=timezone.now(),
    )


def check(client, typed):
    return client.post(VERIFY, {"reference": typed})


def test_a_genuine_reference_says_when_and_to_what_kind_of_contact(client, sms):
    html = check(client, format_reference(sms.reference).lower()).content.decode()
    assert "Yes, we sent this message." in html
    assert "a number ending in 21" in html
    assert "+61411000321" not in html and sms.customer.first_name not in html


def test_an_email_reference_shows_a_masked_address(client, campaign, audience):
    email = Delivery.objects.create(
        campaign=campaign,
        customer=audience["email_only"],
        channel="email",
        to="e1@example.com",
        status="sent",
        reference=new_reference(),
        sent_at=timezone.now(),
    )
    html = check(client, email.reference).content.decode()
    assert "e•••@example.com" in html and "e1@example.com" not in html


def test_anything_else_is_not_from_us_with_how_to_report(client, sms):
    genuine = format_reference(sms.reference)
    # One character off (never the genuine reference itself, which may end in 2).
    off_by_one = genuine[:-1] + ("3" if genuine.endswith("2") else "2")
    for typed in ["ZZZZ-ZZZZ-ZZZZ", off_by_one, off_by_one.lower().replace("-", " ")]:
        html = check(client, typed).content.decode()
        assert "We did not send this message." in html
    html = check(client, "ZZZZ-ZZZZ-ZZZZ").content.decode()
    assert "We did not send this message." in html and reverse("notices:report") in html


@pytest.mark.parametrize("typed", ["hello", "VAT2AB72H8X", "K7QM-3TXP-9HW0", "K7QM-3TXP-9HWCX"])
def test_what_cannot_be_a_reference_is_a_typo_to_check_not_a_verdict(
    client, typed, django_assert_num_queries
):
    """A genuine reference missing a character must not be answered "not from us,
    delete it": the reader is told what a reference looks like, to check again."""
    with django_assert_num_queries(0):
        response = check(client, typed)
    assert response.status_code == 400
    html = response.content.decode()
    assert "twelve letters and digits" in html and "We did not send" not in html
    french = client.post(VERIFY, {"reference": typed}, HTTP_ACCEPT_LANGUAGE="fr")
    assert "douze lettres et chiffres" in french.content.decode()


@pytest.mark.parametrize("status", ["pending", "failed"])
def test_a_pending_or_failed_delivery_is_not_claimed_as_sent(client, sms, status):
    Delivery.objects.filter(pk=sms.pk).update(status=status, sent_at=None)
    assert "We did not send" in check(client, sms.reference).content.decode()


def test_a_message_given_up_on_as_maybe_sent_is_vouched_for(client, sms):
    # Its answer lost, the sweep failed it as "may have reached the provider":
    # the customer may hold it, and "not from us" would make them distrust it.
    tried = timezone.now() - timedelta(hours=2)
    Delivery.objects.filter(pk=sms.pk).update(
        status="failed", in_doubt=True, sent_at=None, prepared_at=tried
    )
    html = check(client, sms.reference).content.decode()
    assert "Yes, we sent this message." in html and "a number ending in 21" in html


def test_found_and_not_found_cost_the_same_queries(client, sms, django_assert_num_queries):
    check(client, "warm-up")
    for typed in (sms.reference, "ZZZZZZZZZZZZ"):
        with django_assert_num_queries(1):
            check(client, typed)


def test_verify_is_rate_limited_per_address(client, settings, sms):
    settings.VERIFY_RATE_PER_IP = "5/m"
    statuses = [check(client, "ZZZZZZZZZZZZ").status_code for _ in range(6)]
    assert statuses[:5] == [200] * 5 and statuses[5] == 429
    other = client.post(VERIFY, {"reference": sms.reference}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_verify_is_rate_limited_overall(client, settings):
    settings.VERIFY_RATE_GLOBAL = "3/m"
    codes = [
        client.post(VERIFY, {"reference": "ZZZZZZZZZZZZ"}, REMOTE_ADDR=f"10.0.0.{n}").status_code
        for n in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_report_a_suspicious_message(client):
    response = client.post(
        reverse("notices:report"),
        {
            "channel": "sms",
            "sender": "+61400111222",
            "reference": "ABCD-EFGH-JKLM",
            "message": "Your account is locked, pay $5 at bit.ly/x",
            "contact": "",
        },
    )
    assert response.status_code == 302
    report = SuspiciousReport.objects.get()
    assert report.channel == "sms" and "bit.ly" in report.message


def test_the_report_form_asks_for_the_channel_in_words(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = client.get(reverse("notices:report")).content.decode()
    select = re.search(r'<select name="channel".*?</select>', html, re.S).group(0)
    assert '<option value="" selected>Choisissez une option</option>' in select
    assert "---" not in select


def test_report_needs_a_message_and_is_rate_limited(client, settings):
    assert client.post(reverse("notices:report"), {"channel": "sms"}).status_code == 400
    settings.REPORT_RATE_PER_IP = "2/h"
    data = {"channel": "sms", "message": "scam"}
    codes = [client.post(reverse("notices:report"), data).status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    assert SuspiciousReport.objects.count() == 2


def test_report_is_rate_limited_overall_and_says_so(client, settings):
    settings.REPORT_RATE_GLOBAL = "3/h"
    data = {"channel": "sms", "message": "scam"}
    responses = [
        client.post(reverse("notices:report"), data, REMOTE_ADDR=f"10.0.1.{n}") for n in range(4)
    ]
    assert [r.status_code for r in responses] == [302, 302, 302, 429]
    assert SuspiciousReport.objects.count() == 3
    page = responses[-1].content.decode()
    assert "unusually large number of reports" in page
    assert "You have sent several reports" not in page


def test_one_address_over_its_report_limit_does_not_spend_everyones(client, settings):
    settings.REPORT_RATE_PER_IP, settings.REPORT_RATE_GLOBAL = "2/h", "4/h"
    data = {"channel": "sms", "message": "scam"}
    hammering = [
        client.post(reverse("notices:report"), data, REMOTE_ADDR="10.0.2.1").status_code
        for _ in range(6)
    ]
    assert hammering == [302, 302, 429, 429, 429, 429]
    others = [
        client.post(reverse("notices:report"), data, REMOTE_ADDR=f"10.0.2.{n}").status_code
        for n in (2, 3, 4)
    ]
    assert others == [302, 302, 429]  # the overall budget: 4, two of them the first address's


# --- Transactional messages: sign-in, claim and contact codes ----------------------

REF_IN_TEXT = re.compile(r"\b([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})\b")


def reference_in(text: str) -> str:
    """The reference: the last code in the text (a claim code looks alike)."""
    found = REF_IN_TEXT.findall(text)
    assert found, text
    return found[-1]


def test_a_sign_in_code_email_carries_a_reference_we_vouch_for(
    client, django_capture_on_commit_callbacks
):
    from django.core import mail

    from portal.models import TransactionalMessage
    from tests.factories import CustomerFactory

    CustomerFactory(email="jane.doe@example.com", first_name="Jane")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_request_login_code"), {"email": "jane.doe@example.com"})
    (email,) = mail.outbox
    typed = reference_in(email.body)
    assert "http://localhost:8000/verify" in email.body or "/verify" in email.body
    stored = TransactionalMessage.objects.get()
    assert stored.sent_at is not None
    assert (stored.channel, stored.to_hint) == ("email", "j•••@example.com")
    client.cookies.clear()
    html = check(client, typed).content.decode()
    assert "Yes, we sent this message." in html
    assert "an address like j•••@example.com" in html
    # Nothing about whose account, or what the message was.
    for secret in ("jane.doe@example.com", "Jane", "sign-in", "code"):
        assert secret not in html.split("<form")[0].split("Is this message from us?")[-1]


def test_a_claim_code_text_carries_a_reference_we_vouch_for(
    client, django_capture_on_commit_callbacks
):
    from notices.channels import locmem
    from notices.services import support
    from portal.roles import SUPPORT_AGENT
    from tests.factories import CustomerFactory
    from tests.staff import staff_with_role

    agent = staff_with_role(SUPPORT_AGENT, username="sam")
    customer = CustomerFactory(phone="+61411000456")
    with django_capture_on_commit_callbacks(execute=True):
        support.claim_code_give(customer=customer, send_by_sms=True, by=agent)
    (sms,) = locmem.outbox
    typed = reference_in(sms.body)
    assert sms.reference == typed.replace("-", "")
    html = check(client, typed).content.decode()
    assert "Yes, we sent this message." in html
    assert "a number ending in 56" in html
    assert "+61411000456" not in html


@pytest.mark.parametrize("kind", ["email", "phone"])
def test_a_contact_change_code_carries_a_reference_we_vouch_for(client, alice, kind):
    from django.core import mail

    from notices.channels import locmem
    from notices.models import ContactVerification
    from notices.tasks import send_contact_code

    verification = ContactVerification.objects.create(
        customer=alice,
        kind=kind,
        value="new@example.com" if kind == "email" else "+61411000789",
        code_hash="-",
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    send_contact_code(verification.pk, "123456", "K7QM3TXP9HWC")
    body = mail.outbox[-1].body if kind == "email" else locmem.outbox[-1].body
    assert "123456" in body
    assert reference_in(body) == "K7QM-3TXP-9HWC"
    html = check(client, "K7QM-3TXP-9HWC").content.decode()
    assert "Yes, we sent this message." in html
    hint = "an address like n•••@example.com" if kind == "email" else "a number ending in 89"
    assert hint in html


def test_a_transactional_message_not_yet_sent_is_not_vouched_for(client):
    from portal.transactional import transactional_message_record

    transactional_message_record(reference="K7QM3TXP9HWC", channel="sms", to="+61411000789")
    assert "We did not send this message." in check(client, "K7QM-3TXP-9HWC").content.decode()


def test_a_failed_text_is_recorded_but_not_vouched_for(client, alice, settings):
    from notices.channels import locmem
    from notices.tasks import send_claim_code

    alice.phone = "+61411000999"
    alice.save()
    locmem.invalid_numbers.add("+61411000999")
    send_claim_code(alice.pk, "ABCD-EFGH-JKLM", "K7QM3TXP9HWC")
    assert "We did not send this message." in check(client, "K7QM-3TXP-9HWC").content.decode()


def test_found_and_not_found_cost_the_same_queries_for_transactional_too(
    client, django_assert_num_queries
):
    from portal.transactional import transactional_message_record, transactional_message_sent

    transactional_message_record(reference="K7QM3TXP9HWC", channel="sms", to="+61411000789")
    transactional_message_sent(reference="K7QM3TXP9HWC")
    check(client, "warm-up")
    for typed in ("K7QM-3TXP-9HWC", "ZZZZZZZZZZZZ"):
        with django_assert_num_queries(1):
            check(client, typed)


def test_a_push_reference_says_it_went_to_the_app(client, campaign, audience):
    push = Delivery.objects.create(
        campaign=campaign,
        customer=audience["both"],
        channel="push",
        to="device",
        status="sent",
        reference=new_reference(),
        sent_at=timezone.now(),
    )
    html = check(client, push.reference).content.decode()
    assert "as a notification to our app" in html


def test_the_home_page_names_every_channel_we_use(client):
    html = client.get("/").content.decode()
    assert "We text, email, notify the app and post in the portal ourselves" in html


def test_the_page_and_the_api_share_one_budget_of_guesses(client, settings):
    # Each had its own count: an address guessed twice the rate, and everyone
    # together twice the overall limit, by using both.
    from rest_framework.test import APIClient

    settings.VERIFY_RATE_PER_IP, settings.VERIFY_RATE_GLOBAL = "3/m", "5/m"
    api = APIClient()
    page = [check(client, "ZZZZZZZZZZZZ").status_code for _ in range(3)]
    app = api.post("/api/v1/verify", {"reference": "ZZZZZZZZZZZZ"}, format="json")
    assert page == [200] * 3 and app.status_code == 429
    elsewhere = [
        api.post(
            "/api/v1/verify", {"reference": "ZZZZZZZZZZZZ"}, format="json", REMOTE_ADDR=address
        ).status_code
        for address in ("10.1.0.1", "10.1.0.2", "10.1.0.3")
    ]
    # 3 by the page and 2 here: 5 (the refused one, refused for its address, is not
    # counted overall: an address over its limit does not spend everyone's budget).
    assert elsewhere == [200, 200, 429]

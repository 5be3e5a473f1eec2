"""The support agent's customer page and its actions, each on the audit log."""

from __future__ import annotations

import re

import pytest
from allauth.usersessions.models import UserSession
from django.urls import reverse

from customers.hashing import birth_date_hash
from customers.models import ClaimCode, ContactNote
from notices import dispatch, services
from notices.channels import locmem
from notices.models import Campaign, Delivery
from notices.planning import plan_chunk
from notices.references import format_reference
from notices.support_admin import mask_ip
from portal.models import AuditEntry
from portal.roles import AUDITOR, SUPPORT_AGENT
from tests.staff import login_staff, staff_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(db):
    return staff_with_role(SUPPORT_AGENT, username="sam", email="sam@firsthand.test")


@pytest.fixture
def agent_client(client, agent):
    return login_staff(client, agent)


@pytest.fixture
def sent(campaign, lead):
    """The campaign approved, planned and sent to the whole audience."""
    services.campaign_approve(campaign=campaign, by=lead)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    while not plan_chunk(campaign, 100):
        pass
    while dispatch.dispatch_batch(campaign.pk, batch_size=50).claimed:
        pass
    Campaign.objects.filter(pk=campaign.pk).update(status="completed")
    return campaign


@pytest.fixture
def customer(audience):
    """Reachable by SMS and email; sent the alert by SMS."""
    return audience["both"]


def page(client, customer):
    return client.get(reverse("admin:customers_customer_change", args=[customer.pk]))


def act(client, customer, action, **data):
    url = reverse("admin:customers_customer_support_action", args=[customer.pk, action])
    return client.post(url, data, follow=True)


def entries(action):
    return list(AuditEntry.objects.filter(action=action))


# --- the page ----------------------------------------------------------------------


def test_the_page_shows_status_exposures_and_messages_masked(agent_client, sent, customer):
    delivery = Delivery.objects.get(customer=customer)
    response = page(agent_client, customer)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert customer.customer_ref in html
    assert format_reference(delivery.reference) in html
    assert "•••• ••• 003" in html  # the phone, masked
    assert "b•••@example.com" in html
    # Never the raw values.
    assert customer.phone not in html and customer.email not in html
    assert customer.last_name not in html


def test_opening_the_page_is_on_the_audit_log(agent_client, agent, customer):
    page(agent_client, customer)
    (entry,) = entries("customer.view")
    assert (entry.actor, entry.target_type, entry.target_id) == (
        agent,
        "customer",
        str(customer.pk),
    )
    assert entry.target_label == customer.customer_ref
    assert entry.ip == "127.0.0.1"


def test_the_list_masks_names_and_contacts(agent_client, customer):
    html = agent_client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert customer.customer_ref in html
    assert customer.email not in html and customer.phone not in html
    assert customer.last_name not in html


def test_recent_sign_ins_are_listed_with_masked_addresses(agent_client, alice):
    UserSession.objects.create(
        user=alice.user, ip="203.0.113.45", session_key="k1", user_agent="Firefox/130"
    )
    html = page(agent_client, alice).content.decode()
    assert "203.0.113.•" in html and "203.0.113.45" not in html
    assert "Firefox/130" in html
    assert mask_ip("2001:db8:1:2::5") == "2001:db8:1:•"


# --- reveal --------------------------------------------------------------------------


def test_a_reveal_needs_a_reason_shows_the_value_once_and_is_audited(agent_client, customer):
    response = act(agent_client, customer, "reveal", field="phone", reason="short")
    assert "at least 10 characters" in response.content.decode()
    assert entries("customer.reveal") == []

    response = act(
        agent_client, customer, "reveal", field="phone", reason="Caller confirming their number"
    )
    assert response.status_code == 200
    assert customer.phone in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    (entry,) = entries("customer.reveal")
    assert (entry.field, entry.reason) == ("phone", "Caller confirming their number")
    # The next view is masked again.
    assert customer.phone not in page(agent_client, customer).content.decode()


def test_an_auditor_sees_the_page_but_cannot_reveal(client, customer):
    login_staff(client, staff_with_role(AUDITOR, username="audrey"))
    assert page(client, customer).status_code == 200
    html = page(client, customer).content.decode()
    assert "Reveal" not in html
    response = act(client, customer, "reveal", field="email", reason="I would like to see it")
    assert response.status_code == 403
    assert entries("customer.reveal") == []


# --- contact correction --------------------------------------------------------------


def test_a_correction_changes_alerts_not_the_sign_in_and_is_audited(agent_client, alice):
    login_email = alice.user.email
    act(
        agent_client,
        alice,
        "contact",
        field="email",
        value="Alice.Moved@Example.com",
        reason="Customer called from the number on record",
    )
    alice.refresh_from_db()
    alice.user.refresh_from_db()
    assert (alice.email, alice.email_verified) == ("alice.moved@example.com", False)
    assert alice.email_from_support
    assert alice.user.email == login_email
    (entry,) = entries("customer.contact_change")
    assert entry.field == "email"
    assert entry.detail == {"from": "a•••@example.com", "to": "a•••@example.com"}
    assert "alice.moved" not in str(entry.detail)


def test_a_malformed_phone_is_refused_with_a_message(agent_client, alice):
    response = act(
        agent_client, alice, "contact", field="phone", value="12", reason="Customer called today"
    )
    assert "valid phone number" in response.content.decode()
    assert entries("customer.contact_change") == []


# --- notes and claim codes ----------------------------------------------------------


def test_a_note_is_kept_and_audited(agent_client, agent, alice):
    act(agent_client, alice, "note", kind="call", text="Asked about the passport steps.")
    note = ContactNote.objects.get()
    assert (note.customer, note.author, note.kind) == (alice, agent, "call")
    assert "Asked about the passport steps." in page(agent_client, alice).content.decode()
    assert len(entries("customer.note_add")) == 1


def test_the_same_note_posted_twice_is_kept_once(agent_client, alice):
    # A double click or a reload posts the form again.
    for _ in range(2):
        response = act(agent_client, alice, "note", kind="call", text="Asked about the steps.")
    assert ContactNote.objects.count() == 1
    assert len(entries("customer.note_add")) == 1
    assert "This note is already added." in response.content.decode()


def test_a_different_note_or_the_same_later_is_kept(agent_client, alice):
    from datetime import timedelta

    import time_machine

    act(agent_client, alice, "note", kind="call", text="Asked about the steps.")
    act(agent_client, alice, "note", kind="email", text="Asked about the steps.")
    act(agent_client, alice, "note", kind="email", text="Sent the steps.")
    with time_machine.travel(timedelta(minutes=6)):
        act(agent_client, alice, "note", kind="email", text="Sent the steps.")
    assert ContactNote.objects.count() == 4


def test_a_claim_code_to_read_out_is_shown_once_and_works(agent_client, alice):
    alice.birth_date_hash = birth_date_hash("1987-03-14")
    alice.save()
    response = act(agent_client, alice, "claim-code", send="screen")
    code = re.search(r'<p class="fh-code">([A-Z0-9-]+)</p>', response.content.decode()).group(1)
    stored = ClaimCode.objects.get()
    assert (stored.via, stored.issued_by.username) == ("support", "sam")
    assert code.replace("-", "") not in stored.code_hash
    assert code not in page(agent_client, alice).content.decode()
    assert entries("claim_code.issue")[0].detail == {"via": "support"}


def test_a_claim_code_can_be_texted_without_the_agent_seeing_it(
    agent_client, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = act(agent_client, alice, "claim-code", send="sms")
    assert 'class="fh-code"' not in response.content.decode()
    (sms,) = locmem.outbox
    assert sms.to == alice.phone and "claim code" in sms.body
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", sms.body).group(0)
    assert code not in response.content.decode()
    assert ClaimCode.objects.get().via == "sms"


# --- resend ---------------------------------------------------------------------------


def test_resend_sends_the_latest_alert_again_with_a_new_reference(
    agent_client, agent, sent, customer, django_capture_on_commit_callbacks
):
    first = Delivery.objects.get(customer=customer)
    locmem.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(agent_client, customer, "resend", channel="email")
    assert "being sent again" in response.content.decode()
    resend = Delivery.objects.get(customer=customer, resent_by=agent)
    assert (resend.campaign_id, resend.channel, resend.status) == (sent.pk, "email", "sent")
    assert resend.reference and resend.reference != first.reference
    assert resend.to == customer.email
    (entry,) = entries("delivery.resend")
    assert entry.detail["channel"] == "email"

    # The same channel again is fine too (the partial unique index allows resends).
    with django_capture_on_commit_callbacks(execute=True):
        act(agent_client, customer, "resend", channel="sms")
    assert Delivery.objects.filter(customer=customer, channel="sms").count() == 2
    assert locmem.outbox[-1].to == customer.phone


def test_resend_refuses_a_channel_the_customer_cannot_be_reached_on(agent_client, sent, audience):
    sms_only = audience["sms_only"]
    response = act(agent_client, sms_only, "resend", channel="email")
    assert "Select a valid choice" in response.content.decode()
    assert not Delivery.objects.filter(customer=sms_only, resent_by__isnull=False).exists()


def test_resends_are_limited_per_customer(agent_client, sent, customer, settings):
    settings.RESEND_RATE_PER_CUSTOMER = "2/h"
    for _ in range(2):
        act(agent_client, customer, "resend", channel="sms")
    response = act(agent_client, customer, "resend", channel="sms")
    assert "several resends" in response.content.decode()
    assert Delivery.objects.filter(customer=customer, resent_by__isnull=False).count() == 2


def test_the_sweep_queues_a_waiting_resend_again_once_a_minute_not_at_every_sweep(
    agent, sent, customer, monkeypatch
):
    """While the transactional queue is backed up, every sweep (each 15 s) queued
    every pending resend once more: the queue grew behind the backlog that was
    holding them up. Its own task is queued when it is asked for; the sweep is
    for one lost since (a worker died), and repeats itself once a minute at most."""
    from datetime import timedelta

    from django.utils import timezone

    from notices import tasks

    resend = Delivery.objects.create(
        campaign=sent, customer=customer, channel="sms", to=customer.phone, resent_by=agent
    )
    queued = []
    monkeypatch.setattr(tasks.resend_send, "delay", queued.append)
    tasks.deliveries_sweep()
    assert queued == []  # just asked for: its own task is on its way
    Delivery.objects.filter(pk=resend.pk).update(updated_at=timezone.now() - timedelta(minutes=2))
    for _ in range(3):
        tasks.deliveries_sweep()
    assert queued == [resend.pk]


def test_a_failed_resend_does_not_fall_back(
    agent_client, sent, customer, django_capture_on_commit_callbacks
):
    locmem.invalid_numbers.add(customer.phone)
    with django_capture_on_commit_callbacks(execute=True):
        act(agent_client, customer, "resend", channel="sms")
    resend = Delivery.objects.get(customer=customer, resent_by__isnull=False)
    assert (resend.status, resend.fallback_pending) == ("failed", False)


def test_a_resend_is_left_to_its_own_task_by_the_campaigns_dispatchers(
    agent, sent, customer, django_capture_on_commit_callbacks
):
    """The campaign is still sending to others: its dispatchers claim its pending
    rows, but not a resend, which would then fall back like a campaign message
    (a second message on a channel the agent did not choose)."""
    Campaign.objects.filter(pk=sent.pk).update(status="sending")
    locmem.invalid_numbers.add(customer.phone)
    resend = Delivery.objects.create(
        campaign=sent, customer=customer, channel="sms", to=customer.phone, resent_by=agent
    )
    assert dispatch.dispatch_batch(sent.pk).claimed == 0
    resend.refresh_from_db()
    assert resend.status == "pending"
    dispatch.send_resend(resend.pk)
    resend.refresh_from_db()
    assert (resend.status, resend.fallback_pending) == ("failed", False)


def test_no_resend_form_before_any_alert(agent_client, alice):
    html = page(agent_client, alice).content.decode()
    assert "No messages yet." in html and "Resend" not in html
    response = act(agent_client, alice, "resend", channel="sms")
    assert "Select a valid choice" in response.content.decode()


def test_unknown_actions_and_gets_are_refused(agent_client, alice):
    url = reverse("admin:customers_customer_support_action", args=[alice.pk, "delete"])
    assert agent_client.post(url).status_code == 404
    url = reverse("admin:customers_customer_support_action", args=[alice.pk, "note"])
    assert agent_client.get(url).status_code == 405
    missing = reverse("admin:customers_customer_change", args=[999999])
    assert agent_client.get(missing).status_code == 404


@pytest.mark.parametrize("role", [SUPPORT_AGENT, AUDITOR])
def test_a_note_is_read_only_on_the_audited_customer_page(client, agent, alice, role):
    note = ContactNote.objects.create(
        customer=alice, text="Moved to 12 Quiet Street last week", author=agent
    )
    viewer = agent if role == SUPPORT_AGENT else staff_with_role(AUDITOR, username="ann")
    login_staff(client, viewer)
    before = AuditEntry.objects.count()

    response = client.get(reverse("admin:customers_contactnote_change", args=[note.pk]))

    assert response.status_code == 200
    assert "Quiet Street" not in response.content.decode()
    assert AuditEntry.objects.count() == before
    page = client.get(reverse("admin:customers_customer_change", args=[alice.pk]))
    assert "Quiet Street" in page.content.decode()
    assert AuditEntry.objects.filter(action="customer.view", actor=viewer).exists()


def test_a_providers_error_and_the_subject_show_no_contact_or_name(agent_client, alice, campaign):
    from notices.models import DeliveryEvent

    error = "HTTP 400 code 21211: The 'To' number +61412345321 is not a valid phone number."
    delivery = Delivery.objects.create(
        campaign=campaign,
        customer=alice,
        channel="sms",
        to="+61412345321",
        status="failed",
        subject="Alice, about the breach",
        last_error=error,
        reference="K7QM3TXP9HWC",
    )
    DeliveryEvent.objects.create(
        delivery=delivery, source="dispatch", status="failed", detail=error
    )
    pages = [
        agent_client.get(reverse("admin:notices_delivery_change", args=[delivery.pk])),
        agent_client.get(reverse("admin:customers_customer_change", args=[alice.pk])),
    ]
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert "412345321" not in html and "Alice," not in html
        assert "code 21211: The &#x27;To&#x27; number •••• ••• 321" in html


def test_a_cancelled_campaigns_alert_is_not_resent(
    agent_client, agent, campaign, lead, customer, django_capture_on_commit_callbacks
):
    from django.core.exceptions import ValidationError

    from notices.services import support

    # Cancelled before it reached this customer (their delivery skipped): a
    # resend sent the withdrawn message all the same.
    services.campaign_approve(campaign=campaign, by=lead)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    while not plan_chunk(campaign, 100):
        pass
    services.campaign_cancel(campaign=campaign, by=lead)
    assert Delivery.objects.get(customer=customer).status == "skipped"
    locmem.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(agent_client, customer, "resend", channel="sms")
    assert response.status_code == 200
    assert not Delivery.objects.filter(customer=customer, resent_by__isnull=False).exists()
    assert not locmem.outbox
    assert not entries("delivery.resend")
    assert page(agent_client, customer).context["can_resend"] is False
    with pytest.raises(ValidationError, match="cancelled"):
        support.alert_resend(customer=customer, channel="sms", by=agent)


def test_an_alert_still_on_its_way_is_not_resent(agent, campaign, lead, customer):
    # Planned but not yet sent: a resend went out at once, and the campaign's
    # own copy followed.
    from django.core.exceptions import ValidationError

    from notices.services import support

    services.campaign_approve(campaign=campaign, by=lead)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    while not plan_chunk(campaign, 100):
        pass
    latest = support.latest_alert(customer)
    assert latest.status == "pending"
    assert support.resend_channels(customer, latest) == []
    with pytest.raises(ValidationError, match="on its way"):
        support.alert_resend(customer=customer, channel="sms", by=agent)
    assert not Delivery.objects.filter(customer=customer, resent_by__isnull=False).exists()


def test_a_claim_code_text_clicked_twice_sends_one_code(
    agent_client, alice, django_capture_on_commit_callbacks
):
    # Two texts, and the first code withdrawn by the second: whichever the
    # customer read first was likely the dead one.
    with django_capture_on_commit_callbacks(execute=True):
        act(agent_client, alice, "claim-code", send="sms")
        again = act(agent_client, alice, "claim-code", send="sms")
    assert "just texted" in again.content.decode()
    assert len(locmem.outbox) == 1
    assert ClaimCode.objects.filter(customer=alice).count() == 1
    assert len(entries("claim_code.issue")) == 1


def test_provider_errors_quoting_the_address_are_shown_masked(client, sent, customer):
    """A refusal often quotes the number or address: the page and the delivery's
    admin page show it masked like everything else, to an auditor too."""
    from notices.models import DeliveryEvent

    delivery = Delivery.objects.get(customer=customer)
    Delivery.objects.filter(pk=delivery.pk).update(
        last_error=f"Invalid 'To' Phone Number: {customer.phone}"
    )
    DeliveryEvent.objects.create(
        delivery=delivery,
        source="provider",
        status="failed",
        detail=f"provider: sendgrid:bounced (550 5.1.1 <{customer.email}>: unknown)",
    )
    login_staff(client, staff_with_role(AUDITOR, username="audrey"))
    support = page(client, customer).content.decode()
    admin_page = client.get(reverse("admin:notices_delivery_change", args=[delivery.pk]))
    assert admin_page.status_code == 200
    for html in (support, admin_page.content.decode()):
        assert customer.phone not in html and customer.email not in html
    assert "Invalid &#x27;To&#x27; Phone Number: •••• ••• 003" in support
    assert "b•••@example.com" in admin_page.content.decode()

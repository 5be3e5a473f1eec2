"""The sending pipeline, one batch at a time, with in-process backends."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from notices import dispatch, services
from notices.channels import locmem
from notices.models import Campaign, Delivery, DeliveryEvent
from notices.planning import plan_chunk
from notices.references import format_reference
from tests.notices import backends

pytestmark = pytest.mark.django_db


@pytest.fixture
def sending(campaign, lead):
    services.campaign_approve(campaign=campaign, by=lead)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    while not plan_chunk(campaign, 100):
        pass
    campaign.refresh_from_db()
    return campaign


@pytest.fixture
def scripted(settings):
    backends.reset()
    settings.SMS_PROVIDERS = backends.SCRIPTED
    settings.DELIVERY_RETRY_BASE = 0
    yield backends
    backends.reset()


def run_until_idle(campaign, rounds=20):
    for _ in range(rounds):
        if not dispatch.dispatch_batch(campaign.pk, batch_size=2).claimed:
            Delivery.objects.filter(campaign=campaign, status="pending").update(
                next_attempt_at=None
            )
            if not dispatch.dispatch_batch(campaign.pk, batch_size=2).claimed:
                return


def test_every_recipient_gets_one_message_with_its_reference(sending, audience):
    run_until_idle(sending)
    sms_to = sorted(m.to for m in locmem.outbox)
    assert sms_to == ["+61411000001", "+61411000003", "+61411000005"]
    assert sorted(m.to[0] for m in mail.outbox) == ["e1@example.com", "p1@example.com"]
    for delivery in Delivery.objects.filter(campaign=sending):
        assert delivery.status == "sent"
        assert delivery.reference and format_reference(delivery.reference) in delivery.body
        assert delivery.events.filter(status="sent").count() == 1
    sms = next(m for m in locmem.outbox if m.to == "+61411000003")
    assert sms.callback_url.endswith(f"/webhooks/sms/primary/{sms.reference}")
    assert services.campaign_finish_if_done(sending.pk)


def test_a_batch_claimed_twice_sends_nothing_twice(sending):
    first = dispatch.claim(sending.pk, 100)
    second = dispatch.claim(sending.pk, 100)
    assert len(first) == 5 and second == []


def test_permanent_sms_failure_falls_back_to_email(sending, audience, scripted):
    scripted.script["+61411000003"] = ["permanent"]
    run_until_idle(sending)
    both = audience["both"]
    by_channel = {d.channel: d for d in Delivery.objects.filter(campaign=sending, customer=both)}
    assert by_channel["sms"].status == "failed"
    assert by_channel["email"].status == "sent"
    assert [m.to for m in mail.outbox].count(["b1@example.com"]) == 1
    assert by_channel["sms"].events.filter(detail="falling back to email").exists()


def test_no_channel_left_means_undeliverable(sending, audience, scripted):
    scripted.script["+61411000001"] = ["permanent"]
    run_until_idle(sending)
    delivery = Delivery.objects.get(campaign=sending, customer=audience["sms_only"])
    assert delivery.status == "undeliverable"
    assert not Delivery.objects.filter(
        campaign=sending, customer=audience["sms_only"], channel="email"
    ).exists()


def test_transient_errors_retry_with_backoff_then_succeed(sending, audience, scripted, settings):
    scripted.script["+61411000001"] = ["transient", "429", "ok"]
    dispatch.dispatch_batch(sending.pk, batch_size=100)
    delivery = Delivery.objects.get(campaign=sending, customer=audience["sms_only"])
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "503" in delivery.last_error
    # A 429's Retry-After is honoured.
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    dispatch.dispatch_batch(sending.pk, batch_size=100)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=25)
    run_until_idle(sending)
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 3
    assert [m.to for m in scripted.accepted].count("+61411000001") == 1


def test_repeated_transient_errors_give_up_and_fall_back(sending, audience, scripted, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 2
    scripted.script["+61411000003"] = ["transient", "transient"]
    run_until_idle(sending)
    sms = Delivery.objects.get(campaign=sending, customer=audience["both"], channel="sms")
    assert sms.status == "failed" and "gave up after 2 attempts" in sms.last_error
    assert (
        Delivery.objects.get(campaign=sending, customer=audience["both"], channel="email").status
        == "sent"
    )


def test_lost_answer_is_looked_up_not_resent(sending, audience, scripted):
    scripted.script["+61411000001"] = ["lost"]
    run_until_idle(sending)
    delivery = Delivery.objects.get(campaign=sending, customer=audience["sms_only"])
    assert delivery.status == "sent"
    assert scripted.lookups == [delivery.reference]
    assert [m.to for m in scripted.accepted].count("+61411000001") == 1
    assert delivery.events.filter(detail__contains="found at the provider").exists()


def test_worker_killed_after_sending_is_reconciled_not_resent(sending, audience, scripted):
    # A worker claims, records and sends, then dies before recording the outcome.
    items = dispatch.claim(sending.pk, 100)
    for item in items:
        item.provider = "primary"
    _, ready = dispatch.prepare_batch(sending, items)
    dispatch.send_batch(sending, ready, [])
    assert Delivery.objects.filter(campaign=sending, status="sending").count() == 5
    Delivery.objects.filter(campaign=sending).update(claimed_at=timezone.now() - timedelta(hours=1))

    assert services.deliveries_mark_in_doubt(older_than_seconds=60) == 5
    run_until_idle(sending)
    assert Delivery.objects.filter(campaign=sending, status="sent").count() == 5
    assert len(scripted.accepted) == 3  # the three SMS, once each
    assert len(mail.outbox) == 2  # email lookup through the locmem outbox


def test_worker_killed_before_sending_resends_after_lookup(sending, audience, scripted):
    dispatch.claim(sending.pk, 100)  # claimed, then the worker died
    Delivery.objects.filter(campaign=sending).update(claimed_at=timezone.now() - timedelta(hours=1))
    services.deliveries_mark_in_doubt(older_than_seconds=60)
    run_until_idle(sending)
    assert sorted(m.to for m in scripted.accepted) == [
        "+61411000001",
        "+61411000003",
        "+61411000005",
    ]


def test_pause_stops_between_batches_and_resume_continues(
    sending, lead, django_capture_on_commit_callbacks
):
    dispatch.dispatch_batch(sending.pk, batch_size=2)
    services.campaign_pause(campaign=sending, by=lead)
    assert dispatch.dispatch_batch(sending.pk, batch_size=2).claimed == 0
    assert Delivery.objects.filter(campaign=sending, status="pending").count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_resume(campaign=sending, by=lead)
    assert Delivery.objects.filter(campaign=sending, status="sent").count() == 5


def test_cancel_skips_what_is_not_sent(sending, lead):
    dispatch.dispatch_batch(sending.pk, batch_size=2)
    services.campaign_cancel(campaign=sending, by=lead)
    assert dispatch.dispatch_batch(sending.pk, batch_size=2).claimed == 0
    skipped = Delivery.objects.filter(campaign=sending, status="skipped")
    assert skipped.count() == 3
    assert (
        DeliveryEvent.objects.filter(delivery__in=skipped, detail="campaign cancelled").count() == 3
    )


def test_a_delivery_claimed_by_a_receipt_meanwhile_keeps_the_receipts_state(sending, scripted):
    items = dispatch.claim(sending.pk, 1)
    for item in items:
        item.provider = "primary"
    _, ready = dispatch.prepare_batch(sending, items)
    Delivery.objects.filter(pk=ready[0].id).update(status="delivered")  # callback arrived first
    outcomes = dispatch.send_batch(sending, ready, [])
    dispatch.record_outcomes(outcomes)
    delivery = Delivery.objects.get(pk=ready[0].id)
    assert delivery.status == "delivered" and delivery.provider_id.startswith("SM")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_dispatchers_side_by_side_plan_a_fall_back_once(sending, audience, scripted, monkeypatch):
    """Each batch starts by planning fall-backs. One dispatcher is held halfway
    through while another plans: the second must leave the first's rows alone,
    not plan them too, nor find email "tried" and call the delivery undeliverable."""
    scripted.script["+61411000003"] = ["permanent"]
    dispatch.dispatch_batch(sending.pk, batch_size=100)
    sms = Delivery.objects.get(campaign=sending, customer=audience["both"], channel="sms")
    assert sms.fallback_pending

    held, release = threading.Event(), threading.Event()
    latest_devices = dispatch._latest_devices

    def hold_the_first(user_ids):
        if threading.current_thread().name == "first":
            held.set()
            release.wait(10)
        return latest_devices(user_ids)

    monkeypatch.setattr(dispatch, "_latest_devices", hold_the_first)
    planned = {}

    def first():
        try:
            planned["first"] = dispatch.plan_fallbacks(sending)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first, name="first")
    thread.start()
    assert held.wait(10)
    planned["second"] = dispatch.plan_fallbacks(sending)
    release.set()
    thread.join(10)

    assert planned == {"first": 1, "second": 0}
    sms.refresh_from_db()
    assert sms.status == "failed" and not sms.fallback_pending
    emails = Delivery.objects.filter(campaign=sending, customer=audience["both"], channel="email")
    assert [e.status for e in emails] == ["pending"]
    details = list(sms.events.values_list("detail", flat=True))
    assert details.count("falling back to email") == 1
    assert "no other channel left" not in details

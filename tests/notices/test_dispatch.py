"""The sending pipeline, one batch at a time, with in-process backends."""

from __future__ import annotations

import itertools
import smtplib
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections
from django.db.models import F
from django.utils import timezone

from notices import dispatch, services
from notices.channels import locmem
from notices.models import Campaign, Delivery, DeliveryEvent
from notices.planning import plan_chunk
from notices.references import format_reference
from tests.explain import rows_read_in_vain
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


def test_a_claim_takes_due_retries_first_then_fresh_rows_never_future_retries(sending):
    rows = list(Delivery.objects.filter(campaign=sending).order_by("id"))
    later, due = timezone.now() + timedelta(minutes=5), timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(next_attempt_at=later)
    Delivery.objects.filter(pk=rows[4].pk).update(next_attempt_at=due)
    assert [c.id for c in dispatch.claim(sending.pk, 2)] == [rows[2].pk, rows[4].pk]
    assert [c.id for c in dispatch.claim(sending.pk, 100)] == [rows[3].pk]


@pytest.mark.postgres
def test_a_claim_reads_no_row_waiting_for_its_retry(sending):
    """In a provider outage, millions of rows wait for their retry: a claim that
    walked past them all (300,000 rows, 0.1 s, for each batch of each
    dispatcher) would slow the campaign to a crawl just when it has to catch up.
    Each claim statement finds its rows through an index, filtering none out."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    later = timezone.now() + timedelta(minutes=5)
    first = Delivery.objects.filter(campaign=sending).order_by("id").first()
    waiting = [
        Delivery(
            campaign=sending,
            customer_id=first.customer_id,
            channel="push",
            to="token",
            resent_by_id=first.customer_id,  # a resend: no unique (campaign, customer, channel)
            next_attempt_at=later,
        )
        for _ in range(200)
    ]
    Delivery.objects.bulk_create(waiting)
    Delivery.objects.filter(campaign=sending, resent_by__isnull=True).update(
        id=F("id") + 1_000_000
    )  # fresh rows after the waiting ones, as they are mid-campaign
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notices_delivery")
    with CaptureQueriesContext(connection) as captured:
        dispatch.claim(sending.pk, 2)
    claims = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().startswith("UPDATE")]
    assert claims
    assert sum(rows_read_in_vain(sql) for sql in claims) == 0


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


def _left_by_a_dead_worker(campaign) -> None:
    Delivery.objects.filter(campaign=campaign).update(
        claimed_at=timezone.now() - timedelta(hours=1)
    )


def test_worker_killed_after_claiming_only_is_retried_without_a_lookup(sending, audience, scripted):
    dispatch.claim(sending.pk, 100)  # claimed, then the worker died before preparing anything
    _left_by_a_dead_worker(sending)
    assert services.deliveries_mark_in_doubt(older_than_seconds=60) == 5
    swept = Delivery.objects.filter(campaign=sending)
    assert {(d.status, d.in_doubt) for d in swept} == {("pending", False)}
    run_until_idle(sending)
    assert scripted.lookups == []
    assert sorted(m.to for m in scripted.accepted) == [
        "+61411000001",
        "+61411000003",
        "+61411000005",
    ]
    assert Delivery.objects.filter(campaign=sending, status="sent").count() == 5


def test_worker_killed_after_preparing_is_in_doubt_then_looked_up(sending, audience, scripted):
    items = dispatch.claim(sending.pk, 100)
    for item in items:
        item.provider = "primary"
    dispatch.prepare_batch(sending, items)  # recorded; the worker died before any answer
    _left_by_a_dead_worker(sending)
    assert services.deliveries_mark_in_doubt(older_than_seconds=60) == 5
    swept = Delivery.objects.filter(campaign=sending)
    assert {(d.status, d.in_doubt) for d in swept} == {("pending", True)}
    run_until_idle(sending)
    sms = Delivery.objects.filter(campaign=sending, channel="sms")
    assert sorted(scripted.lookups) == sorted(d.reference for d in sms)
    assert len(scripted.accepted) == 3  # not found at the provider: sent, once each


def test_rows_a_dead_worker_left_in_a_cancelled_campaign_are_skipped_not_pending_for_good(
    sending, audience, scripted
):
    # No dispatcher runs for a cancelled campaign: put back to pending, they stayed so.
    items = dispatch.claim(sending.pk, 100)
    for item in items[:2]:
        item.provider = "primary"
    dispatch.prepare_batch(sending, items[:2])  # two may have reached the provider
    Campaign.objects.filter(pk=sending.pk).update(status="cancelled")
    _left_by_a_dead_worker(sending)
    assert services.deliveries_mark_in_doubt(older_than_seconds=60) == 5
    swept = Delivery.objects.filter(campaign=sending)
    # Skipped, and the two that may have gone out still say so.
    assert sorted((d.status, d.in_doubt) for d in swept) == [
        ("skipped", False),
        ("skipped", False),
        ("skipped", False),
        ("skipped", True),
        ("skipped", True),
    ]


def test_a_worker_that_stalled_after_claiming_leaves_swept_rows_to_their_new_claimant(
    sending, audience, scripted
):
    """A worker claims, then stalls past DELIVERY_IN_DOUBT_AFTER; the sweep puts its
    rows back and another worker claims them. When the first wakes it must neither
    overwrite the second's render nor send: each customer gets one message."""
    stalled = dispatch.claim(sending.pk, 100)
    for item in stalled:
        item.provider = "primary"
    _left_by_a_dead_worker(sending)
    assert services.deliveries_mark_in_doubt(older_than_seconds=60) == 5
    run_until_idle(sending)
    sent = {d.pk: (d.reference, d.body) for d in Delivery.objects.filter(campaign=sending)}
    assert len(scripted.accepted) == 3

    failures, ready = dispatch.prepare_batch(sending, stalled)
    assert (failures, ready) == ([], [])
    assert dispatch.send_batch(sending, ready, []) == []
    assert len(scripted.accepted) == 3
    after = {d.pk: (d.reference, d.body) for d in Delivery.objects.filter(campaign=sending)}
    assert after == sent


def test_a_stalled_worker_keeps_the_rows_still_its_own(sending, audience, scripted):
    items = dispatch.claim(sending.pk, 100)
    for item in items:
        item.provider = "primary"
    taken = items[0]
    # Only one row was swept and claimed again meanwhile.
    Delivery.objects.filter(pk=taken.id).update(claimed_at=timezone.now() + timedelta(seconds=1))
    failures, ready = dispatch.prepare_batch(sending, items)
    assert failures == [] and sorted(i.id for i in ready) == sorted(i.id for i in items[1:])
    prepared = Delivery.objects.filter(campaign=sending, prepared_at__isnull=False)
    assert sorted(prepared.values_list("pk", flat=True)) == sorted(i.id for i in ready)


def test_a_stalled_worker_records_no_failure_for_a_row_claimed_again(sending, audience, scripted):
    from notices.models import CampaignTemplate

    CampaignTemplate.objects.filter(campaign=sending, channel="sms").delete()
    items = [i for i in dispatch.claim(sending.pk, 100) if i.channel == "sms"]
    for item in items:
        item.provider = "primary"
    taken = items[0]
    Delivery.objects.filter(pk=taken.id).update(claimed_at=timezone.now() + timedelta(seconds=1))
    failures, ready = dispatch.prepare_batch(sending, items)
    assert ready == []
    assert sorted(o.item.id for o in failures) == sorted(i.id for i in items[1:])


def test_a_claim_only_sweep_keeps_an_earlier_doubt(sending, audience, scripted):
    # An earlier attempt's answer was lost; the next worker died right after claiming.
    scripted.script["+61411000001"] = ["lost"]
    dispatch.dispatch_batch(sending.pk, batch_size=100)
    delivery = Delivery.objects.get(campaign=sending, customer=audience["sms_only"])
    assert delivery.status == "pending" and delivery.in_doubt
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    dispatch.claim(sending.pk, 100)
    _left_by_a_dead_worker(sending)
    services.deliveries_mark_in_doubt(older_than_seconds=60)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.in_doubt


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


@pytest.mark.parametrize("stop", ["cancel", "pause"])
def test_a_batch_under_way_stops_sending_when_its_campaign_is_cancelled_or_paused(
    sending, audience, lead, settings, monkeypatch, stop
):
    """A batch claimed just before the cancel waits for its campaign's rate (one
    text a second here): what it has not yet handed over is not sent after the
    cancel (it is skipped) nor after a pause (it waits, pending, for the resume)."""
    from notices import ratelimit

    settings.RATE_HEADROOM = 1.0
    settings.DISPATCH_TASK_SECONDS = 30
    Campaign.objects.filter(pk=sending.pk).update(sms_rate=1)
    real_take = ratelimit.Pacer.take
    runs = []

    def take_then_stop(pacer):
        slots = real_take(pacer)
        if pacer.campaign_key.endswith(":sms") and not runs:
            getattr(services, f"campaign_{stop}")(campaign=sending, by=lead)
        runs.append(slots)
        return slots

    monkeypatch.setattr(ratelimit.Pacer, "take", take_then_stop)
    dispatch.dispatch_batch(sending.pk, batch_size=100)

    sms = Delivery.objects.filter(campaign=sending, channel="sms")
    assert len(locmem.outbox) == 1 and sms.filter(status="sent").count() == 1
    left = sms.exclude(status="sent")
    assert left.count() == 2
    if stop == "cancel":
        assert set(left.values_list("status", flat=True)) == {"skipped"}
        assert (
            DeliveryEvent.objects.filter(delivery__in=left, detail="campaign cancelled").count()
            == 2
        )
    else:
        assert set(left.values_list("status", flat=True)) == {"pending"}
        assert {d.attempts for d in left} == {0}


def test_a_contact_changed_since_planning_is_used_not_the_old_one(sending, audience):
    """Planned hours before its turn (9.8 million texts at 100 a second take a
    day): the customer has since confirmed a new number, or support corrected a
    wrong one. The alert names what of theirs was exposed: it goes to the number
    on record now, never to the one given up (someone else's, perhaps)."""
    from customers.models import Customer

    Customer.objects.filter(pk=audience["both"].pk).update(phone="+61411999999")
    run_until_idle(sending)
    sms_to = sorted(m.to for m in locmem.outbox)
    assert "+61411000003" not in sms_to and "+61411999999" in sms_to
    delivery = Delivery.objects.get(campaign=sending, customer=audience["both"], channel="sms")
    assert (delivery.status, delivery.to) == ("sent", "+61411999999")


def test_a_customer_erased_after_the_claim_fails_alone_not_the_whole_batch(sending, audience):
    """Deleted meanwhile (their deliveries went with them): the others of the
    batch are still rendered. Looking up the contact on record at render must
    not take a missing record for a crash of every message claimed with it."""
    from customers.models import Customer

    items = dispatch.claim(sending.pk, 100)
    gone = audience["both"].pk
    Customer.objects.filter(pk=gone).delete()
    failures = dispatch.render_batch(sending, items)
    assert {f.item.customer_id for f in failures} == {gone}
    assert all(i.body for i in items if i.customer_id != gone)
    # Its rows went with it: nothing of it is sent, recorded or fallen back to.
    for item in items:
        item.reference = item.stored_reference
    failures, ready = dispatch.prepare_batch(sending, items)
    assert failures == [] and gone not in {i.customer_id for i in ready}
    assert {i.customer_id for i in ready} == {i.customer_id for i in items} - {gone}


def test_a_contact_removed_since_planning_falls_back_to_the_next_channel(sending, audience):
    from customers.models import Customer

    Customer.objects.filter(pk=audience["both"].pk).update(phone="")
    run_until_idle(sending)
    assert "+61411000003" not in [m.to for m in locmem.outbox]
    by_channel = {
        d.channel: d for d in Delivery.objects.filter(campaign=sending, customer=audience["both"])
    }
    assert by_channel["sms"].status == "failed"
    assert "no longer" in by_channel["sms"].last_error
    assert by_channel["email"].status == "sent"
    assert [m.to for m in mail.outbox].count(["b1@example.com"]) == 1


def test_an_emails_message_id_on_a_real_domain_is_recorded_whole(sending, audience, settings):
    """The Message-ID names our host: on a real domain it is longer than 64
    characters. Recording it must not fail the batch after its emails went out
    (on PostgreSQL, a value too long for its column fails the whole statement)."""
    settings.PORTAL_BASE_URL = "https://alerts.customer-support.example-telco.com.au"
    run_until_idle(sending)
    emails = Delivery.objects.filter(campaign=sending, channel="email")
    assert {d.status for d in emails} == {"sent"}
    assert {d.provider_id for d in emails} == {m.extra_headers["Message-ID"] for m in mail.outbox}
    assert all(len(d.provider_id) > 64 for d in emails)


def _quiet_for(campaign, minutes: int) -> None:
    ago = timezone.now() - timedelta(minutes=minutes)
    Campaign.objects.filter(pk=campaign.pk).update(
        planning_done=True, dispatched_at=ago, updated_at=ago
    )


@pytest.mark.parametrize("due_in_minutes, restarted", [(10, False), (-5, True)])
def test_the_sweep_restarts_a_quiet_campaign_only_when_it_has_work_due(
    sending, monkeypatch, due_in_minutes, restarted
):
    """Every row waits for a retry ten minutes away (a provider asked us to wait):
    no dispatcher claims anything meanwhile, and its heartbeat goes quiet. Its
    dispatchers are only waiting, each with its next run queued: restarting it
    at every sweep added a set of dispatchers a minute, and each of them kept
    itself queued until the campaign ended. One whose rows have been due for
    minutes unclaimed has lost its dispatchers, and is restarted."""
    from notices import tasks

    Delivery.objects.filter(campaign=sending).update(
        next_attempt_at=timezone.now() + timedelta(minutes=due_in_minutes)
    )
    _quiet_for(sending, minutes=5)
    kicked = []
    monkeypatch.setattr(tasks, "kick_campaign", kicked.append)
    tasks.deliveries_sweep()
    assert kicked == ([sending.pk] if restarted else [])


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


def test_a_receipt_that_arrived_during_a_timed_out_send_keeps_no_retry_nor_error(sending, scripted):
    items = dispatch.claim(sending.pk, 1)
    for item in items:
        item.provider = "primary"
    _, ready = dispatch.prepare_batch(sending, items)
    scripted.script[ready[0].to] = ["lost"]  # accepted, but the answer never came
    outcomes = dispatch.send_batch(sending, ready, [])
    Delivery.objects.filter(pk=ready[0].id).update(status="delivered")  # its receipt did
    dispatch.record_outcomes(outcomes)
    delivery = Delivery.objects.get(pk=ready[0].id)
    assert delivery.status == "delivered"
    assert (delivery.last_error, delivery.next_attempt_at, delivery.in_doubt) == ("", None, False)


def test_a_batch_counts_a_transient_error_on_the_last_attempt_as_failed(
    sending, scripted, settings
):
    settings.DELIVERY_MAX_ATTEMPTS = 1
    for delivery in Delivery.objects.filter(campaign=sending, channel="sms"):
        scripted.script[delivery.to] = ["transient"]
    result = dispatch.dispatch_batch(sending.pk, batch_size=100)
    failed = Delivery.objects.filter(campaign=sending, status="failed").count()
    assert failed and result.failed == failed and result.retried == 0


def test_an_in_doubt_lookup_waits_for_its_rate_limit_slot(sending, scripted, monkeypatch):
    calls = []
    monkeypatch.setattr(dispatch, "wait_until", lambda slot: calls.append("slot"))
    lookup = scripted.ScriptedSmsBackend.lookup

    def recorded_lookup(backend, message):
        calls.append("lookup")
        return lookup(backend, message)

    monkeypatch.setattr(scripted.ScriptedSmsBackend, "lookup", recorded_lookup)
    items = dispatch.claim(sending.pk, 1)
    for item in items:
        item.provider = "primary"
        item.in_doubt = True
    _, ready = dispatch.prepare_batch(sending, items)
    dispatch.send_batch(sending, ready, [])
    # The batch's pacing may wait first; the send's own slot comes before its lookup.
    assert calls[-2:] == ["slot", "lookup"]


def test_campaigns_and_resends_on_one_provider_share_its_rate(
    sending, incident, comms, lead, audience, settings, monkeypatch
):
    settings.RATE_HEADROOM = 1.0
    settings.SMS_PROVIDERS = [
        {"name": "primary", "backend": "notices.channels.locmem.SmsBackend", "rate": 20}
    ]
    other = services.campaign_create(incident=incident, channels=["sms", "email"], by=comms)
    services.campaign_approve(campaign=other, by=lead)
    Campaign.objects.filter(pk=other.pk).update(status="sending")
    while not plan_chunk(other, 100):
        pass
    deadlines = []

    def record(backend, item, slot, latencies, refusal=None):
        deadlines.append((item.channel, slot))
        return dispatch.Outcome(item, provider_id=f"SM{item.id}")

    monkeypatch.setattr(dispatch, "deliver_one", record)
    monkeypatch.setattr(dispatch, "wait_until", lambda deadline: None)
    dispatch.dispatch_batch(sending.pk, batch_size=100)
    dispatch.dispatch_batch(other.pk, batch_size=100)
    resend = Delivery.objects.create(
        campaign=other,
        customer=audience["sms_only"],
        channel="sms",
        to=audience["sms_only"].phone,
        resent_by=lead,
    )
    dispatch.send_resend(resend.pk)

    sms = sorted(slot for channel, slot in deadlines if channel == "sms")
    assert len(sms) == 7  # three SMS of each campaign, and the resend
    gaps = [b - a for a, b in itertools.pairwise(sms)]
    assert min(gaps) >= 1 / 20 - 0.005  # one account's 20 a second, not 20 a campaign


@pytest.mark.postgres
def test_a_subject_longer_than_its_column_does_not_break_the_batch(sending, audience):
    """A template saved before subjects were measured (or a title made longer
    since) renders a subject over 200 characters: cut, not a DataError that
    would fail every message of the batch."""
    from notices.models import CampaignTemplate

    sending.incident.title = "T" * 200
    sending.incident.save(update_fields=["title"])
    CampaignTemplate.objects.filter(campaign=sending, channel="email").update(
        subject="{incident_title}: {first_name}"
    )
    run_until_idle(sending)
    assert all(d.status == "sent" for d in Delivery.objects.filter(campaign=sending))
    emails = Delivery.objects.filter(campaign=sending, channel="email")
    assert emails.count() == 2
    for delivery in emails:
        assert delivery.status == "sent", delivery.last_error
        assert len(delivery.subject) <= 200
        assert delivery.subject.endswith("…")


def test_a_text_that_would_be_too_long_is_sent_in_a_shorter_form(sending, audience, settings):
    """A name outside GSM-7 makes the whole SMS UCS-2 (67 characters a part):
    the name is left out rather than an over-long text sent."""
    from customers.models import Customer
    from notices.models import CampaignTemplate
    from notices.sms import sms_segments

    settings.SMS_MAX_SEGMENTS = 1
    Customer.objects.filter(pk=audience["sms_only"].pk).update(first_name="Łucja")
    CampaignTemplate.objects.filter(campaign=sending, channel="sms").update(
        body="Hi {first_name}, news about our data breach: see the steps to take on our site. "
        "Ref {reference}"
    )
    run_until_idle(sending)
    delivery = Delivery.objects.get(campaign=sending, customer=audience["sms_only"])
    assert delivery.status == "sent"
    assert delivery.body.startswith("Hi, news about our data breach: see the steps")
    assert sms_segments(delivery.body).segments == 1
    sent = next(m for m in locmem.outbox if m.to == "+61411000001")
    assert sent.body == delivery.body


@pytest.mark.parametrize("campaign_rate, provider_rate", [(1, 100), (100, 1)])
def test_a_batch_sends_only_what_its_rate_allows_in_its_time_and_puts_the_rest_back(
    sending, audience, settings, campaign_rate, provider_rate
):
    """A batch larger than its rate lets go in a task's time (3 SMS at 1 a second,
    the campaign's cap or the provider's, and 1 s a batch): what cannot go in
    time goes back to pending untouched, rather than hold the task past its time
    limit (killed mid-batch, its rows in doubt, some never sent)."""
    import time

    settings.RATE_HEADROOM = 1.0
    settings.DISPATCH_TASK_SECONDS = 1
    settings.SMS_PROVIDERS = [{**p, "rate": provider_rate} for p in settings.SMS_PROVIDERS]
    Campaign.objects.filter(pk=sending.pk).update(sms_rate=campaign_rate)
    started = time.monotonic()
    result = dispatch.dispatch_batch(sending.pk, batch_size=100)
    assert time.monotonic() - started < 2.5  # one booked run past its second, at most
    sms = Delivery.objects.filter(campaign=sending, channel="sms")
    sent = sms.filter(status="sent")
    back = sms.filter(status="pending")
    assert 1 <= sent.count() <= 2 and sent.count() + back.count() == 3
    assert len(locmem.outbox) == sent.count() and result.sent == sent.count() + 2  # + 2 emails
    for delivery in back:
        assert (delivery.attempts, delivery.claimed_at, delivery.prepared_at) == (0, None, None)
        assert not delivery.in_doubt and delivery.reference  # kept for the next attempt
    run_until_idle(sending)
    assert sorted(m.to for m in locmem.outbox) == sorted(sms.values_list("to", flat=True))


def test_the_sweep_leaves_a_row_claimed_again_since_it_looked(
    sending, audience, scripted, monkeypatch
):
    """Two sweeps overlap: the other has put the rows back and a worker has
    claimed them again between this sweep's read and its update. They are that
    worker's now: put back to pending, they would be claimed and sent twice."""
    import contextlib

    from notices.services import campaigns

    dispatch.claim(sending.pk, 100)
    _left_by_a_dead_worker(sending)
    real_atomic = campaigns.transaction.atomic
    fresh: list[int] = []

    @contextlib.contextmanager
    def meanwhile(*args, **kwargs):
        monkeypatch.setattr(campaigns.transaction, "atomic", real_atomic)
        # Whatever this sweep read by now, the rows were swept and claimed afresh.
        Delivery.objects.filter(campaign=sending).update(status="pending", claimed_at=None)
        fresh.extend(i.id for i in dispatch.claim(sending.pk, 100))
        with real_atomic(*args, **kwargs):
            yield

    monkeypatch.setattr(campaigns.transaction, "atomic", meanwhile)
    assert campaigns.deliveries_mark_in_doubt(older_than_seconds=60) == 0
    assert set(Delivery.objects.filter(pk__in=fresh).values_list("status", flat=True)) == {
        "sending"
    }
    assert not DeliveryEvent.objects.filter(source="sweep").exists()


@pytest.fixture
def counting_email(settings):
    backends.CountingEmailBackend.reset()
    settings.EMAIL_BACKEND = "tests.notices.backends.CountingEmailBackend"
    yield backends.CountingEmailBackend
    backends.CountingEmailBackend.reset()


def test_a_batch_sends_its_emails_over_one_connection_and_closes_it(
    sending, audience, counting_email
):
    dispatch.dispatch_batch(sending.pk, batch_size=100)
    assert sorted(m.to[0] for m in mail.outbox) == ["e1@example.com", "p1@example.com"]
    assert (counting_email.made, counting_email.opened, counting_email.closed) == (1, 1, 1)


def test_a_broken_email_connection_is_replaced_for_the_next_message(
    sending, audience, counting_email
):
    import smtplib

    counting_email.failures = [smtplib.SMTPServerDisconnected("gone")]
    dispatch.dispatch_batch(sending.pk, batch_size=100)
    assert len(mail.outbox) == 1  # the other one is retried later, after a lookup
    assert (counting_email.made, counting_email.opened, counting_email.closed) == (2, 2, 2)
    emails = Delivery.objects.filter(campaign=sending, channel="email")
    assert sorted(d.status for d in emails) == ["pending", "sent"]


def test_a_batch_leaves_a_providers_shared_connection_pool_open(
    sending, audience, scripted, monkeypatch
):
    """Only what a batch opened for itself is released at its end: closing the
    SMS provider's pool would cost every batch new TLS connections."""
    released = []
    monkeypatch.setattr(
        backends.ScriptedSmsBackend, "close", lambda self: released.append("close"), raising=False
    )
    monkeypatch.setattr(
        backends.ScriptedSmsBackend, "end_batch", lambda self: released.append("end_batch")
    )
    dispatch.dispatch_batch(sending.pk, batch_size=100)
    assert released == ["end_batch"]


def test_a_batch_that_fails_midway_still_releases_its_email_connections(
    sending, audience, counting_email, monkeypatch
):
    real_send_in_runs = dispatch._send_in_runs

    def sent_then_failed(*args):
        real_send_in_runs(*args)
        raise RuntimeError("the rate store went away")

    monkeypatch.setattr(dispatch, "_send_in_runs", sent_then_failed)
    with pytest.raises(RuntimeError):
        dispatch.dispatch_batch(sending.pk, batch_size=100)
    assert (counting_email.opened, counting_email.closed) == (1, 1)


def test_emails_go_out_in_parallel_over_smtp_each_thread_on_its_own_connection(
    sending, audience, settings
):
    import smtplib

    from notices.channels.email import EmailChannel
    from tests.notices.smtp_sink import SmtpSink

    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    assert EmailChannel().thread_safe
    # Each send waits for the other to be under way too: sent one after the
    # other, the first would wait in vain and fail.
    both_sending = threading.Barrier(2, timeout=10)
    real_sendmail = smtplib.SMTP.sendmail

    def sendmail_alongside_the_other(self, *args, **kwargs):
        both_sending.wait()
        return real_sendmail(self, *args, **kwargs)

    smtplib.SMTP.sendmail = sendmail_alongside_the_other
    try:
        dispatch.dispatch_batch(sending.pk, batch_size=100)
    finally:
        smtplib.SMTP.sendmail = real_sendmail
        sink.stop()
    assert sorted(sink.recipients) == ["e1@example.com", "p1@example.com"]
    # One connection per sending thread, each closed when the batch ended.
    assert sink.connections == 2 and sink.quits == 2
    emails = Delivery.objects.filter(campaign=sending, channel="email")
    assert {d.status for d in emails} == {"sent"}


def test_in_process_email_backends_send_in_order_on_the_batch_thread(settings):
    from notices.channels.email import EmailChannel

    for backend in (
        "notices.channels.outbox.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
    ):
        settings.EMAIL_BACKEND = backend
        assert not EmailChannel().thread_safe
    settings.EMAIL_BACKEND = "anymail.backends.amazon_ses.EmailBackend"
    assert EmailChannel().thread_safe


def test_a_batch_whose_queueing_fails_midway_waits_for_the_sends_under_way(
    sending, audience, scripted, monkeypatch
):
    """The sends already queued keep their connections until they return: the
    batch releases them only after, even when queueing the next send raised."""
    first_started, let_it_finish = threading.Event(), threading.Event()
    events = []
    real_send = backends.ScriptedSmsBackend.send

    def slow_first_send(self, message):
        if not first_started.is_set():
            first_started.set()
            let_it_finish.wait(10)
            events.append("first send returned")
        return real_send(self, message)

    real_executor = dispatch._executor()
    submitted = itertools.count()

    class FailsOnSecondSubmit:
        def submit(self, *args):
            if next(submitted) == 1:
                first_started.wait(10)
                threading.Timer(0.2, let_it_finish.set).start()
                raise RuntimeError("can't start new thread")
            return real_executor.submit(*args)

    monkeypatch.setattr(backends.ScriptedSmsBackend, "send", slow_first_send)
    monkeypatch.setattr(
        backends.ScriptedSmsBackend, "end_batch", lambda self: events.append("end_batch")
    )
    monkeypatch.setattr(dispatch, "_executor", FailsOnSecondSubmit)
    with pytest.raises(RuntimeError):
        dispatch.dispatch_batch(sending.pk, batch_size=100)
    assert events == ["first send returned", "end_batch"]


def test_a_message_that_cannot_be_rendered_fails_alone_and_the_batch_goes_out(sending, audience):
    """A template saved before it was checked (here the French text, with a
    placeholder that does not exist) fails only the messages it renders: those
    are failed for good, with a reason staff can act on, and fall back; the
    rest of the batch is sent. Raised, it failed the whole batch, which the
    sweep then put back and claimed again, without end."""
    from notices.models import CampaignTemplate

    CampaignTemplate.objects.filter(campaign=sending, channel="sms", language="fr").update(
        body="Bonjour {prenom}, réf. {reference}"
    )
    both = audience["both"]
    Delivery.objects.filter(campaign=sending, customer=both, channel="sms").update(language="fr")
    result = dispatch.dispatch_batch(sending.pk, batch_size=100)
    assert (result.claimed, result.sent, result.failed) == (5, 4, 1)
    sms = Delivery.objects.get(campaign=sending, customer=both, channel="sms")
    assert sms.status == "failed" and sms.body == ""
    assert "could not be rendered" in sms.last_error and "prenom" in sms.last_error
    assert "+61411000003" not in [m.to for m in locmem.outbox]
    assert sorted(m.to for m in locmem.outbox) == ["+61411000001", "+61411000005"]
    run_until_idle(sending)
    email = Delivery.objects.get(campaign=sending, customer=both, channel="email")
    assert email.status == "sent"
    assert [m.to for m in mail.outbox].count(["b1@example.com"]) == 1


def test_rows_whose_worker_dies_every_time_are_failed_after_the_last_attempt(
    sending, audience, settings, monkeypatch
):
    """Whatever kills the worker between claim and outcome (a crash in render, a
    hard time limit), the sweep put the rows back to pending and they were
    claimed again, for ever. After DELIVERY_MAX_ATTEMPTS claims the sweep fails
    them: those never handed to a provider fall back to the next channel."""
    settings.DELIVERY_MAX_ATTEMPTS = 2

    def dies(campaign, items):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(dispatch, "render_batch", dies)
    sms = Delivery.objects.filter(campaign=sending, channel="sms")
    for _attempt in range(2):
        with pytest.raises(RuntimeError):
            dispatch.dispatch_batch(sending.pk, batch_size=100)
        _left_by_a_dead_worker(sending)
        services.deliveries_mark_in_doubt(older_than_seconds=60)
    assert {(d.status, d.fallback_pending) for d in sms} == {("failed", True)}
    assert all("gave up after 2 attempts" in d.last_error for d in sms)
    assert dispatch.claim(sending.pk, 100) == []


def test_rows_that_may_have_reached_the_provider_are_failed_without_a_fall_back(
    sending, audience, scripted, settings
):
    """Prepared, then the worker died, on its last attempt: the message may have
    gone out, so the sweep fails it in doubt and plans no other channel."""
    settings.DELIVERY_MAX_ATTEMPTS = 1
    items = dispatch.claim(sending.pk, 100)
    for item in items:
        item.provider = "primary"
    dispatch.prepare_batch(sending, items)
    _left_by_a_dead_worker(sending)
    assert services.deliveries_mark_in_doubt(older_than_seconds=60) == 5
    swept = Delivery.objects.filter(campaign=sending)
    assert {(d.status, d.in_doubt, d.fallback_pending) for d in swept} == {("failed", True, False)}
    assert all("may have reached the provider" in d.last_error for d in swept)
    # It had: the provider's receipt says one was delivered, and so it is.
    from notices.receipts import apply_receipt

    reached = swept.filter(channel="sms").first()
    apply_receipt(
        reference=reached.reference,
        provider="primary",
        provider_status="delivered",
        status="delivered",
    )
    reached.refresh_from_db()
    assert (reached.status, reached.fallback_pending) == ("delivered", False)
    assert swept.filter(status="failed").count() == 4


@pytest.mark.parametrize(
    "refusal",
    [
        smtplib.SMTPSenderRefused(550, b"5.7.1 Sender address rejected", "alerts@example.com"),
        smtplib.SMTPDataError(554, b"Message rejected: Sending suspended for this account"),
        smtplib.SMTPRecipientsRefused(
            {"e1@example.com": (554, b"5.7.1 <e1@example.com>: Relay access denied")}
        ),
    ],
    ids=["sender", "suspended", "relay-denied"],
)
def test_a_refusal_of_the_email_account_stops_the_batch_and_fails_no_one(
    sending, audience, counting_email, refusal
):
    """The account is refused, not the customers: the batch's other emails are not
    tried, and every one is tried again later, its attempt not counted (a
    misconfigured account must not fail a whole campaign's emails, nor use up
    their retries); once the account is put right, each is sent once."""
    counting_email.failures = [refusal]
    result = dispatch.dispatch_batch(sending.pk, batch_size=100)
    assert result.failed == 0
    assert mail.outbox == []  # the second email was not tried after the first was refused
    emails = Delivery.objects.filter(campaign=sending, channel="email")
    assert {(d.status, d.attempts, d.fallback_pending) for d in emails} == {("pending", 0, False)}
    assert all(d.next_attempt_at > timezone.now() for d in emails)
    assert all("refused" in d.last_error for d in emails)
    assert Delivery.objects.filter(campaign=sending, status="failed").count() == 0
    # The account put right: each email goes out once, no fall-back planned.
    Delivery.objects.filter(campaign=sending).update(next_attempt_at=None)
    run_until_idle(sending)
    assert sorted(m.to[0] for m in mail.outbox) == ["e1@example.com", "p1@example.com"]
    assert {d.status for d in Delivery.objects.filter(campaign=sending)} == {"sent"}
    assert Delivery.objects.filter(campaign=sending).count() == 5


def test_a_greylisted_email_is_retried_counted_not_failed_nor_fallen_back(
    sending, audience, counting_email
):
    """A 4xx at RCPT TO (greylisting, a mailbox busy) is the recipient's server
    asking for a retry: the email is retried later, its attempt counted."""
    counting_email.failures = [
        smtplib.SMTPRecipientsRefused(
            {"e1@example.com": (451, b"4.7.1 Greylisted, please try again later")}
        )
    ]
    result = dispatch.dispatch_batch(sending.pk, batch_size=100)
    assert (result.failed, result.retried) == (0, 1)
    assert len(mail.outbox) == 1  # the batch's other email went out
    deferred = Delivery.objects.get(campaign=sending, channel="email", status="pending")
    assert deferred.attempts == 1 and not deferred.fallback_pending
    assert deferred.next_attempt_at is not None and "451" in deferred.last_error


def test_a_resend_the_email_account_refuses_waits_for_it_and_keeps_its_attempts(
    sending, audience, lead, counting_email
):
    counting_email.failures = [
        smtplib.SMTPSenderRefused(550, b"5.7.1 Sender address rejected", "alerts@example.com")
    ]
    resend = Delivery.objects.create(
        campaign=sending,
        customer=audience["email_only"],
        channel="email",
        to="e1@example.com",
        resent_by=lead,
    )
    outcome = dispatch.send_resend(resend.pk)
    assert outcome.error.account and not outcome.error.permanent
    resend.refresh_from_db()
    assert (resend.status, resend.attempts, resend.fallback_pending) == ("pending", 0, False)
    assert resend.next_attempt_at > timezone.now()
    assert mail.outbox == []


def test_a_text_whose_last_attempt_timed_out_is_looked_up_not_fallen_back(
    sending, audience, scripted, settings
):
    """The provider took the text on its last attempt but the answer was lost:
    falling straight back to email sent the customer both. It is asked for first."""
    settings.DELIVERY_MAX_ATTEMPTS = 1
    scripted.script["+61411000003"] = ["lost"]
    run_until_idle(sending)
    sms = Delivery.objects.get(campaign=sending, customer=audience["both"], channel="sms")
    assert sms.status == "sent" and sms.provider_id
    assert scripted.lookups == [sms.reference]
    assert [m.to for m in scripted.accepted].count("+61411000003") == 1
    assert not Delivery.objects.filter(
        campaign=sending, customer=audience["both"], channel="email"
    ).exists()
    assert "b1@example.com" not in [m.to[0] for m in mail.outbox]


def test_a_text_whose_last_attempt_timed_out_falls_back_once_the_provider_has_not_got_it(
    sending, audience, scripted, settings
):
    settings.DELIVERY_MAX_ATTEMPTS = 1
    scripted.script["+61411000003"] = ["timeout"]
    run_until_idle(sending)
    sms = Delivery.objects.get(campaign=sending, customer=audience["both"], channel="sms")
    assert sms.status == "failed" and "not found at the provider" in sms.last_error
    assert scripted.lookups == [sms.reference]
    assert "+61411000003" not in [m.to for m in scripted.accepted]  # not sent again
    email = Delivery.objects.get(campaign=sending, customer=audience["both"], channel="email")
    assert email.status == "sent"
    assert [m.to for m in mail.outbox].count(["b1@example.com"]) == 1


def test_a_text_whose_last_attempt_timed_out_falls_back_after_a_few_failed_lookups(
    sending, audience, scripted, settings
):
    settings.DELIVERY_MAX_ATTEMPTS = 1
    scripted.script["+61411000003"] = ["timeout"]
    scripted.lookup_down = True
    run_until_idle(sending)
    sms = Delivery.objects.get(campaign=sending, customer=audience["both"], channel="sms")
    assert sms.status == "failed"
    assert len(scripted.lookups) == dispatch.LAST_LOOKUPS
    email = Delivery.objects.get(campaign=sending, customer=audience["both"], channel="email")
    assert email.status == "sent"


def test_a_text_whose_last_attempt_timed_out_falls_back_when_the_provider_cannot_be_asked(
    sending, audience, scripted, settings
):
    settings.SMS_PROVIDERS = backends.NO_LOOKUP
    settings.DELIVERY_MAX_ATTEMPTS = 1
    scripted.script["+61411000003"] = ["lost"]
    run_until_idle(sending)
    sms = Delivery.objects.get(campaign=sending, customer=audience["both"], channel="sms")
    assert sms.status == "failed"
    email = Delivery.objects.get(campaign=sending, customer=audience["both"], channel="email")
    assert email.status == "sent"


def test_a_pause_and_resume_within_a_minute_keeps_the_campaigns_number_of_dispatchers(
    sending, lead, monkeypatch, django_capture_on_commit_callbacks
):
    """Dispatchers waiting for a retry sit queued for up to a minute. Paused and
    resumed meanwhile, the campaign was given a new set beside them: twice its
    parallelism, and more with each resume. The set a resume replaces stops."""
    from notices import tasks

    Campaign.objects.filter(pk=sending.pk).update(parallelism=2, planning_done=True)
    Delivery.objects.filter(campaign=sending).update(
        next_attempt_at=timezone.now() + timedelta(seconds=30)
    )
    queued: list[tuple] = []
    monkeypatch.setattr(tasks.campaign_dispatch, "delay", lambda *args: queued.append(args))
    monkeypatch.setattr(
        tasks.campaign_dispatch, "apply_async", lambda args, **options: queued.append(args)
    )
    tasks.kick_campaign(sending.pk)
    services.campaign_pause(campaign=sending, by=lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_resume(campaign=sending, by=lead)
    assert len(queued) == 4  # the first two are still queued, waiting for the retries
    running, queued[:] = list(queued), []
    for args in running:
        tasks.campaign_dispatch.run(*args)
    assert len(queued) == 2  # those still alive queued themselves again: the parallelism


def test_rows_on_their_last_attempt_that_a_dead_worker_left_in_a_cancelled_campaign_are_skipped(
    sending, audience, settings
):
    settings.DELIVERY_MAX_ATTEMPTS = 1
    dispatch.claim(sending.pk, 100)
    Campaign.objects.filter(pk=sending.pk).update(status="cancelled")
    _left_by_a_dead_worker(sending)
    services.deliveries_mark_in_doubt(older_than_seconds=60)
    swept = Delivery.objects.filter(campaign=sending)
    assert {(d.status, d.fallback_pending) for d in swept} == {("skipped", False)}


@pytest.mark.parametrize("status, account", [(401, True), (403, True), (500, False)])
def test_an_email_providers_api_refusing_our_key_stops_the_batch_and_fails_no_one(
    sending, audience, counting_email, status, account
):
    from anymail.exceptions import AnymailAPIError

    counting_email.failures = [AnymailAPIError("refused", status_code=status)]
    dispatch.dispatch_batch(sending.pk, batch_size=100)
    emails = Delivery.objects.filter(campaign=sending, channel="email")
    # Refused as an account, neither email is tried nor counted; otherwise the
    # first is retried (an attempt spent) and the second goes out.
    assert len(mail.outbox) == (0 if account else 1)
    assert sorted(d.attempts for d in emails) == ([0, 0] if account else [1, 1])


def test_a_refused_smtp_sign_in_fails_no_email_of_a_parallel_batch(sending, audience, settings):
    """Over SMTP the batch's emails go out side by side, each thread signing in
    on its own connection: each refusal puts its email back, none is failed."""
    from tests.notices.smtp_sink import SmtpSink

    sink = SmtpSink(answer_to_auth=b"535 5.7.8 Authentication credentials invalid").start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "alerts", "wrong"
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        result = dispatch.dispatch_batch(sending.pk, batch_size=100)
    finally:
        sink.stop()
    assert result.failed == 0 and sink.messages == 0
    emails = Delivery.objects.filter(campaign=sending, channel="email")
    assert {(d.status, d.attempts) for d in emails} == {("pending", 0)}
    assert all("535" in d.last_error for d in emails)


@pytest.fixture
def revoked_twilio(settings):
    """The only SMS provider, over the Twilio wire format, refusing our token."""
    from tests.fakes.twilio_server import running_fake_twilio

    sid = "AC" + "2" * 32
    with running_fake_twilio(sid, "right-token") as fake:
        settings.SMS_PROVIDERS = [
            {
                "name": "primary",
                "backend": "notices.channels.twilio.TwilioBackend",
                "api_base_url": fake.base_url,
                "account_sid": sid,
                "auth_token": "revoked-token",
                "from_number": "+61400000000",
                "timeout": 2,
            }
        ]
        yield fake


def test_an_sms_provider_refusing_our_account_holds_the_texts_back_and_fails_no_one(
    sending, audience, settings, revoked_twilio
):
    """A revoked token or a suspended account (401/403) at the only SMS provider:
    each text used to spend an attempt and, after DELIVERY_MAX_ATTEMPTS, fall back
    to email. Like an email account refusal, the texts now wait, uncounted, and
    staff see why (the rows' error and events, the pipeline page's retries)."""
    from portal.observability import pipeline

    settings.DELIVERY_MAX_ATTEMPTS = 1
    result = dispatch.dispatch_batch(sending.pk, batch_size=100)
    assert revoked_twilio.messages() == []
    assert result.failed == 0
    sms = Delivery.objects.filter(campaign=sending, channel="sms")
    assert {(d.status, d.attempts, d.fallback_pending) for d in sms} == {("pending", 0, False)}
    assert all(d.next_attempt_at > timezone.now() and "401" in d.last_error for d in sms)
    # The emails of the batch went out; no text fell back to email.
    assert sorted(m.to[0] for m in mail.outbox) == ["e1@example.com", "p1@example.com"]
    assert Delivery.objects.filter(campaign=sending).count() == 5
    # Each text the provider refused (those sent side by side before the first
    # answer came back) has its event; the pipeline page counts them as retried.
    refused = list(DeliveryEvent.objects.filter(delivery__channel="sms", status="pending"))
    assert refused and all("not counted" in e.detail and "401" in e.detail for e in refused)
    first = pipeline.first_event_id_since(timezone.now() - timedelta(hours=1))
    row = next(r for r in pipeline.provider_errors(first) if r.channel == "sms")
    assert (row.sent, row.retried, row.failed) == (0, len(refused), 0)


def test_a_text_in_doubt_whose_lookup_our_account_refuses_waits_uncounted(
    sending, audience, settings, revoked_twilio
):
    """Its last attempt's answer lost, a text is only looked up: a lookup refused
    for our account says nothing about the text. It waits, still in doubt, its
    lookups not used up (three failed ones would fall back, maybe a second copy)."""
    settings.DELIVERY_MAX_ATTEMPTS = 1
    sms = Delivery.objects.filter(campaign=sending, channel="sms")
    for n, delivery in enumerate(sms):
        delivery.reference = f"ABCDEFGHJK{n}{n}"
        delivery.save(update_fields=["reference"])
    sms.update(attempts=1, in_doubt=True, provider="primary")
    dispatch.dispatch_batch(sending.pk, batch_size=100)
    assert {(d.status, d.attempts, d.in_doubt, d.fallback_pending) for d in sms} == {
        ("pending", 1, True, False)
    }
    assert all("lookup failed" in d.last_error and "401" in d.last_error for d in sms)

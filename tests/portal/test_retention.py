"""Data retention: personal data goes when its period ends, in bounded batches;
the breach record (every figure the reports show) stays."""

# The campaign fixtures of tests/notices are imported below, so pytest finds them.
# ruff: noqa: F811

from __future__ import annotations

import dataclasses
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import ClaimCode, Exposure, ImportJob, Incident
from notices import selectors, services
from notices.models import (
    Campaign,
    CampaignRecord,
    ContactVerification,
    Delivery,
    DeliveryEvent,
    IncidentRecord,
    OutboxMessage,
)
from portal.models import AuditAction, AuditEntry, TransactionalMessage
from portal.retention import RULES, months_before, retention_apply
from portal.tasks import apply_retention
from tests.factories import CustomerFactory, ExposureFactory, IncidentFactory
from tests.notices.conftest import audience, campaign, comms, lead, make_notice  # noqa: F401
from tests.staff import login_staff

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=800)


@pytest.fixture
def sent(campaign, lead, django_capture_on_commit_callbacks):
    """The campaign approved and sent (eager Celery): five deliveries handed over."""
    services.campaign_approve(campaign=campaign, by=lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_send(campaign=campaign, by=lead)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    return campaign


def backdate_deliveries(**filters) -> None:
    Delivery.objects.filter(**filters).update(updated_at=LONG_AGO)


def outbox(*, old: int, recent: int) -> None:
    for n in range(old + recent):
        OutboxMessage.objects.create(channel="sms", to=f"+6141100000{n}", body="Ref ABC")
    old_ids = OutboxMessage.objects.order_by("pk").values_list("pk", flat=True)[:old]
    OutboxMessage.objects.filter(pk__in=list(old_ids)).update(created_at=LONG_AGO)


def close_long_ago(incident: Incident) -> None:
    Incident.objects.filter(pk=incident.pk).update(
        status=Incident.Status.CLOSED, closed_at=months_before(timezone.now(), 25)
    )


def old_audit_entry() -> int:
    """Entries cannot be changed, so an old one is written old."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO portal_auditentry (created_at, actor_label, action, target_type, "
            "target_id, target_label, field, reason, detail, ip) "
            "VALUES (%s, 'system', 'export', '', '', '', '', '', '{}', NULL)",
            [timezone.now() - timedelta(days=8 * 366)],
        )
    return AuditEntry.objects.order_by("-id").values_list("pk", flat=True).first()


def codes(customer, *, dead_since: timedelta) -> None:
    now = timezone.now()
    ClaimCode.objects.create(
        customer=customer,
        code_hash=f"h{customer.pk}-{dead_since.days}",
        via=ClaimCode.Via.LETTER,
        expires_at=now - dead_since,
    )
    ContactVerification.objects.create(
        customer=customer,
        kind=ContactVerification.Kind.EMAIL,
        value="new@example.com",
        code_hash="x",
        expires_at=now - dead_since,
    )


def transactional(*, old: int, recent: int) -> None:
    """Sign-in and claim code references, some older than the content period."""
    from portal.transactional import message_reference_new

    for i in range(old + recent):
        row = TransactionalMessage.objects.create(
            reference=message_reference_new(), channel="sms", to_hint="21", sent_at=timezone.now()
        )
        if i < old:
            TransactionalMessage.objects.filter(pk=row.pk).update(
                created_at=timezone.now() - timedelta(days=91)
            )


def reports(incident: Incident, campaign: Campaign) -> dict:
    """Every figure the incident page and the campaign page show."""
    cache.clear()
    progress = selectors.campaign_progress(campaign)
    return {
        "timeline": dataclasses.replace(selectors.incident_timeline(incident), recorded_at=None),
        "direct_first": selectors.direct_first_status(incident),
        "coverage": dataclasses.replace(selectors.campaign_coverage(campaign), recorded_at=None),
        "progress": (
            progress.counts,
            progress.by_channel,
            progress.total,
            progress.done,
            progress.handed_over,
        ),
    }


# --- dry run, content, batches ----------------------------------------------------


def test_a_dry_run_changes_nothing_and_counts_what_a_run_then_does(sent, audience):
    backdate_deliveries()
    outbox(old=3, recent=1)
    codes(audience["both"], dead_since=timedelta(days=40))
    codes(audience["sms_only"], dead_since=timedelta(days=3))  # still within its period
    old_audit_entry()
    transactional(old=2, recent=1)
    before = list(Delivery.objects.order_by("pk").values())
    audit_entries = AuditEntry.objects.count()

    dry = retention_apply(dry_run=True)

    expected = {
        "claim_codes": 1,
        "contact_verifications": 1,
        "outbox_messages": 3,
        "transactional_messages": 2,
        "audit_log": 1,
        "delivery_content": 5,
    }
    assert dry.counts == {**dict.fromkeys(RULES, 0), **expected}
    assert list(Delivery.objects.order_by("pk").values()) == before
    assert ClaimCode.objects.count() == 2 and OutboxMessage.objects.count() == 4
    assert AuditEntry.objects.count() == audit_entries  # not even an entry of its own

    real = retention_apply()
    assert real.counts == dry.counts
    assert ClaimCode.objects.count() == ContactVerification.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    assert TransactionalMessage.objects.count() == 1


def test_old_message_content_goes_and_the_address_stays_masked(
    sent,
    audience,
):
    recent = Delivery.objects.get(customer=audience["both"])
    backdate_deliveries(customer=audience["sms_only"])
    backdate_deliveries(customer=audience["email_only"])
    DeliveryEvent.objects.update(detail="provider said +61411000001 is invalid")

    report = retention_apply()

    assert report.counts["delivery_content"] == 2
    sms = Delivery.objects.get(customer=audience["sms_only"])
    email = Delivery.objects.get(customer=audience["email_only"])
    assert (sms.body, sms.subject, sms.last_error) == ("", "", "")
    assert sms.to == "•••• ••• 001"
    assert email.to == "e•••@example.com" and email.body == ""
    assert sms.content_removed_at is not None
    assert sms.status == "sent" and sms.reference and sms.sent_at  # counts unchanged
    assert set(sms.events.values_list("detail", flat=True)) == {""}
    # The recent message is untouched, events and all.
    after = Delivery.objects.get(pk=recent.pk)
    assert (after.to, after.body, after.content_removed_at) == (recent.to, recent.body, None)
    assert after.body and "+61411000001" in after.events.first().detail
    # "Is this message from us?" still answers, with the same hint.
    answer = selectors.verify_reference(sms.reference)
    assert answer.genuine and answer.to_hint == "01"


def test_the_customer_still_sees_when_and_how_we_wrote_but_not_the_text(
    alice,
    campaign,
    lead,
    django_capture_on_commit_callbacks,
    client,
):
    services.campaign_approve(campaign=campaign, by=lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_send(campaign=campaign, by=lead)
    mine = Delivery.objects.get(customer=alice)
    backdate_deliveries()
    retention_apply()
    client.force_login(alice.user)
    html = client.get(reverse("notices:messages")).content.decode()
    assert "We no longer keep the text of this message" in html
    assert mine.body and mine.body.splitlines()[0] not in html
    assert mine.reference[:4] in html


def test_rows_are_changed_in_batches_of_the_configured_size(sent, settings):
    settings.RETENTION_BATCH_SIZE = 2
    backdate_deliveries()

    with CaptureQueriesContext(connection) as queries:
        report = retention_apply()

    updates = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "notices_delivery"')
    ]
    assert len(updates) == 3  # 5 rows: 2 + 2 + 1
    assert report.counts["delivery_content"] == 5
    assert report.batches == 3
    assert not Delivery.objects.filter(content_removed_at__isnull=True).exists()


def test_a_second_run_finds_nothing_to_do(sent):
    backdate_deliveries()
    outbox(old=3, recent=0)
    close_long_ago(sent.incident)
    first = retention_apply()
    assert first.total > 0
    second = retention_apply()
    assert second.total == 0 and second.batches == 0
    # Each run is on the audit log with its counts, even one that did nothing.
    entries = AuditEntry.objects.filter(action=AuditAction.RETENTION_APPLY).order_by("id")
    assert [e.detail["counts"] for e in entries] == [first.counts, second.counts]
    assert entries[0].actor_label == "system"
    assert entries[0].detail["policy"]["RETENTION_BATCH_SIZE"] == 1000


def test_a_run_out_of_time_stops_between_batches_and_the_next_carries_on(sent, settings):
    settings.RETENTION_BATCH_SIZE = 2
    backdate_deliveries()
    stopped = retention_apply(seconds=1e-9)
    assert not stopped.complete
    assert Delivery.objects.filter(content_removed_at__isnull=True).count() == 5
    finished = retention_apply()
    assert finished.complete and finished.counts["delivery_content"] == 5


def test_a_period_of_zero_turns_its_rule_off(sent, settings):
    settings.RETENTION_DELIVERY_CONTENT_DAYS = 0
    backdate_deliveries()
    assert retention_apply().counts["delivery_content"] == 0
    assert not Delivery.objects.filter(content_removed_at__isnull=False).exists()


# --- closed incidents: the breach record stays --------------------------------------


def test_the_reports_show_the_same_figures_after_the_rows_are_gone(
    client,
    sent,
    lead,
    make_notice,
):
    incident = sent.incident
    make_notice(status="published", published_at=timezone.now() + timedelta(hours=1))
    Delivery.objects.filter(customer__email="e1@example.com").update(status="failed")
    close_long_ago(incident)
    before = reports(incident, sent)
    assert before["timeline"].affected == 6 and before["timeline"].heard_before_public == 4
    assert before["timeline"].by_data_class == {"email": 6, "name": 6, "passport_number": 1}
    login_staff(client, lead)
    page = reverse("admin:customers_incident_change", args=[incident.pk])
    sentence = "4 of 6 affected customers (5 reachable) heard from us directly before the public"
    assert sentence in client.get(page).content.decode()

    report = retention_apply()

    assert report.counts["incident_records"] == 1
    assert report.counts["incident_exposures"] == 6
    assert report.counts["incident_deliveries"] == 5
    assert not Exposure.objects.filter(incident=incident).exists()
    assert not Delivery.objects.filter(campaign__incident=incident).exists()
    assert not DeliveryEvent.objects.exists()
    assert IncidentRecord.objects.get(incident=incident).rows_removed_at is not None
    assert CampaignRecord.objects.filter(campaign=sent).exists()
    assert reports(incident, sent) == before
    cache.clear()  # the incident page keeps its timeline for a while (sessions too)
    login_staff(client, lead)
    html = client.get(page).content.decode()
    assert sentence in html and "before the retention policy removed" in html
    assert "Affected customers by data exposed" in html
    review = client.get(reverse("admin:notices_campaign_review", args=[sent.pk])).content.decode()
    assert "before the retention policy removed" in review


def test_a_dry_run_counts_the_rows_of_a_closed_incident_without_recording(sent):
    close_long_ago(sent.incident)
    report = retention_apply(dry_run=True)
    assert (
        report.counts["incident_records"],
        report.counts["incident_deliveries"],
        report.counts["incident_exposures"],
    ) == (1, 5, 6)
    assert not IncidentRecord.objects.exists() and Exposure.objects.count() == 6


def test_exposures_of_open_and_recently_closed_incidents_are_kept(sent, audience):
    recent = IncidentFactory(slug="recent", status=Incident.Status.CLOSED, closed_at=timezone.now())
    ExposureFactory(incident=recent, customer=audience["both"])
    old_but_open = IncidentFactory(slug="open")
    Incident.objects.filter(pk=old_but_open.pk).update(discovered_at=LONG_AGO)
    ExposureFactory(incident=old_but_open, customer=CustomerFactory())

    report = retention_apply()

    assert report.counts["incident_exposures"] == 0
    assert Exposure.objects.count() == 8
    assert not IncidentRecord.objects.exists()


def test_an_incident_with_a_campaign_still_sending_waits(sent):
    close_long_ago(sent.incident)
    Campaign.objects.filter(pk=sent.pk).update(status=Campaign.Status.PAUSED)
    report = retention_apply()
    assert report.skipped == [sent.incident.slug]
    assert Exposure.objects.count() == 6 and Delivery.objects.count() == 5


def test_the_record_is_taken_once_even_if_a_run_stops_midway(sent, settings, monkeypatch):
    from portal import retention

    settings.RETENTION_BATCH_SIZE = 2
    close_long_ago(sent.incident)
    expected = reports(sent.incident, sent)
    # The run stops (its time is up) after the figures were taken and two batches went.
    calls = {"n": 0}
    real_apply = retention._Run.apply

    def stop_after_two_batches(self, rule, rows, action, **options):
        def counted(batch):
            calls["n"] += 1
            if calls["n"] > 2:
                raise retention._OutOfTime
            return action(batch)

        return real_apply(self, rule, rows, counted, **options)

    with monkeypatch.context() as patch:
        patch.setattr(retention._Run, "apply", stop_after_two_batches)
        partial = retention_apply()
    assert not partial.complete
    assert 0 < Delivery.objects.count() < 5
    assert IncidentRecord.objects.get().rows_removed_at is None
    assert reports(sent.incident, sent) == expected  # figures from the record already

    retention_apply()
    assert IncidentRecord.objects.get().rows_removed_at is not None
    assert reports(sent.incident, sent) == expected


# --- codes, imports, the audit log ----------------------------------------------------


def test_import_files_are_deleted_and_the_counts_kept(settings, tmp_path, lead, incident):
    settings.MEDIA_ROOT = tmp_path
    job = ImportJob(kind="customers", status="done", inserted=3, created_by=lead)
    job.file.save("customers.csv", ContentFile(b"customer_ref,email\nA1,a@example.com\n"))
    job.report.save("report.csv", ContentFile(b"line,column,reason\n"))
    ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=31))
    fresh = ImportJob(kind="customers", status="done", created_by=lead)
    fresh.file.save("fresh.csv", ContentFile(b"customer_ref\nB1\n"))
    ImportJob.objects.filter(pk=fresh.pk).update(finished_at=timezone.now())
    paths = [job.file.path, job.report.path]

    assert retention_apply().counts["import_files"] == 1

    job.refresh_from_db()
    assert (job.file.name, job.report.name, job.inserted) == ("", "", 3)
    assert not any(Path(p).exists() for p in paths)
    assert Path(fresh.file.path).exists()


def test_the_file_of_an_import_that_never_ran_goes_too(settings, tmp_path, lead):
    """Its task lost with a broker, a job stays queued: nothing runs it again."""
    settings.MEDIA_ROOT = tmp_path
    stuck = ImportJob(kind="customers", created_by=lead)
    stuck.file.save("stuck.csv", ContentFile(b"customer_ref,email\nA1,a@example.com\n"))
    ImportJob.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(days=31))
    waiting = ImportJob(kind="customers", created_by=lead)
    waiting.file.save("waiting.csv", ContentFile(b"customer_ref\nB1\n"))
    path = stuck.file.path

    assert retention_apply().counts["import_files"] == 1

    stuck.refresh_from_db()
    assert (stuck.file.name, stuck.status) == ("", "failed")
    assert stuck.finished_at is not None and "upload it again" in stuck.message
    assert not Path(path).exists()
    assert Path(waiting.file.path).exists()
    waiting.refresh_from_db()
    assert waiting.status == "queued"


def test_the_audit_log_is_kept_for_its_years_and_only_then_purged(lead):
    old = old_audit_entry()
    recent = AuditEntry.objects.create(actor_label="x", action=AuditAction.EXPORT).pk
    report = retention_apply()
    assert report.counts["audit_log"] == 1
    assert not AuditEntry.objects.filter(pk=old).exists()
    assert AuditEntry.objects.filter(pk=recent).exists()


# --- closing an incident ----------------------------------------------------------------


def test_an_incident_lead_closes_incidents_from_the_admin(client, lead, incident):
    login_staff(client, lead)
    response = client.post(
        reverse("admin:customers_incident_changelist"),
        {"action": "close_incidents", "_selected_action": [incident.pk]},
        follow=True,
    )
    assert "1 incident closed." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "closed" and incident.closed_at is not None
    assert AuditEntry.objects.filter(
        action=AuditAction.INCIDENT_CLOSE, target_id=str(incident.pk)
    ).exists()


def test_setting_the_status_dates_the_closing_and_reopening_clears_it(
    client,
    lead,
    incident,
):
    from customers.services import incident_close, incident_reopen

    assert incident_close(incident=incident, by=lead)
    closed_at = incident.closed_at
    assert not incident_close(incident=incident, by=lead)  # already closed: same date
    assert Incident.objects.get(pk=incident.pk).closed_at == closed_at
    assert incident_reopen(incident=incident, by=lead)
    assert (incident.status, incident.closed_at) == ("active", None)
    # The status field of the change form goes through the same services.
    login_staff(client, lead)
    url = reverse("admin:customers_incident_change", args=[incident.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(
        status="closed",
        discovered_at_0=incident.discovered_at.date().isoformat(),
        discovered_at_1="12:00:00",
    )
    data.pop("discovered_at", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    incident.refresh_from_db()
    assert incident.status == "closed" and incident.closed_at is not None


# --- schedule, task, command -------------------------------------------------------------


def test_the_policy_runs_daily_from_beat_on_the_default_queue():
    entry = django_settings.CELERY_BEAT_SCHEDULE["apply-retention"]
    assert entry["task"] == "portal.tasks.apply_retention"
    assert entry["schedule"].hour == {3}
    assert django_settings.CELERY_TASK_ROUTES["portal.tasks.apply_retention"] == {
        "queue": "default"
    }


def test_the_task_applies_the_policy(sent):
    backdate_deliveries()
    apply_retention.delay()
    assert not Delivery.objects.filter(content_removed_at__isnull=True).exists()
    assert AuditEntry.objects.filter(action=AuditAction.RETENTION_APPLY).count() == 1


def test_the_command_prints_the_report_and_a_dry_run_changes_nothing(sent):
    backdate_deliveries()
    out = io.StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Dry run: nothing changed" in text
    assert "delivery_content" in text and "would be affected" in text
    assert not Delivery.objects.filter(content_removed_at__isnull=False).exists()
    out = io.StringIO()
    call_command("apply_retention", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["counts"]["delivery_content"] == 5 and report["dry_run"] is False


def test_months_before_keeps_the_day_within_the_month():
    moment = timezone.now().replace(year=2026, month=3, day=31)
    assert months_before(moment, 1).date().isoformat() == "2026-02-28"
    assert months_before(moment, 24).date().isoformat() == "2024-03-31"
    assert months_before(moment, 3).date().isoformat() == "2025-12-31"


# --- sign-ins -----------------------------------------------------------------------------


def test_old_sign_ins_go_once_their_session_has_ended(alice):
    """Each sign-in leaves its address and browser; allauth clears ended ones only
    when the same person signs in again, and most of the affected never do."""
    from allauth.usersessions.models import UserSession
    from django.contrib.sessions.backends.cache import SessionStore

    def sign_in(*, days_ago: int, live: bool) -> int:
        session = SessionStore()
        session["seen"] = True
        session.save()
        key = session.session_key
        if not live:
            session.delete()
        when = timezone.now() - timedelta(days=days_ago)
        return UserSession.objects.create(
            user=alice.user,
            session_key=key,
            ip="203.0.113.7",
            user_agent="Firefox",
            created_at=when,
            last_seen_at=when,
        ).pk

    ended_long_ago = sign_in(days_ago=200, live=False)
    old_but_live = sign_in(days_ago=200, live=True)  # the devices page still ends it
    recent = sign_in(days_ago=3, live=False)

    assert retention_apply(dry_run=True).counts["sign_ins"] == 1
    assert UserSession.objects.count() == 3
    assert retention_apply().counts["sign_ins"] == 1
    assert set(UserSession.objects.values_list("pk", flat=True)) == {old_but_live, recent}
    assert retention_apply().counts["sign_ins"] == 0
    assert not UserSession.objects.filter(pk=ended_long_ago).exists()


# --- suspicious-message reports ---------------------------------------------------------


def test_suspicious_message_reports_go_after_their_period_reviewed_or_not(settings):
    """A report holds a sender, a message and the reporter's contact."""
    from notices.models import SuspiciousReport

    def report(*, days_ago: int, reviewed: bool = False) -> int:
        row = SuspiciousReport.objects.create(
            channel="sms",
            sender="+61400000001",
            message="Your account is locked, call 0400 000 002",
            contact="reporter@example.com",
            reviewed=reviewed,
        )
        when = timezone.now() - timedelta(days=days_ago)
        SuspiciousReport.objects.filter(pk=row.pk).update(created_at=when)
        return row.pk

    report(days_ago=400, reviewed=True)
    report(days_ago=366)
    recent = report(days_ago=300)
    settings.RETENTION_BATCH_SIZE = 1

    assert retention_apply(dry_run=True).counts["suspicious_reports"] == 2
    assert SuspiciousReport.objects.count() == 3
    done = retention_apply()
    assert done.counts["suspicious_reports"] == 2
    assert done.batches >= 2
    assert list(SuspiciousReport.objects.values_list("pk", flat=True)) == [recent]

    settings.RETENTION_REPORTS_DAYS = 0  # a legal hold keeps them
    report(days_ago=400)
    assert retention_apply().counts["suspicious_reports"] == 0
    assert SuspiciousReport.objects.count() == 2


# --- app devices and support notes -----------------------------------------------------


def test_devices_the_app_has_not_refreshed_for_their_period_go_with_their_token(settings, alice):
    """A push token is personal data; the app registers again whenever it runs."""
    from notices.models import Device
    from notices.services.contacts import device_register, devices_deactivate

    def device(token: str, *, days_ago: int) -> int:
        row = device_register(user=alice.user, token=token, platform="android")
        when = timezone.now() - timedelta(days=days_ago)
        Device.objects.filter(pk=row.pk).update(updated_at=when)
        return row.pk

    device("stale-token", days_ago=300)
    rejected = device("rejected-token", days_ago=0)
    devices_deactivate(tokens=["rejected-token"])
    Device.objects.filter(pk=rejected).update(updated_at=timezone.now() - timedelta(days=271))
    in_use = device("in-use-token", days_ago=10)
    settings.RETENTION_BATCH_SIZE = 1

    assert retention_apply(dry_run=True).counts["devices"] == 2
    assert Device.objects.count() == 3
    done = retention_apply()
    assert done.counts["devices"] == 2 and done.batches >= 2
    assert list(Device.objects.values_list("pk", flat=True)) == [in_use]
    assert done.as_dict()["counts"]["devices"] == 2

    settings.RETENTION_DEVICES_DAYS = 0
    device("another-stale-token", days_ago=1000)
    assert retention_apply().counts["devices"] == 0


def test_a_device_registered_again_is_kept(settings, alice):
    from notices.models import Device
    from notices.services.contacts import device_register

    row = device_register(user=alice.user, token="token", platform="ios")
    Device.objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(days=300))
    device_register(user=alice.user, token="token", platform="ios")  # the app ran again
    assert retention_apply().counts["devices"] == 0
    assert Device.objects.filter(pk=row.pk).exists()


def test_support_notes_go_after_their_period_and_the_audit_entry_stays(settings):
    from customers.models import ContactNote
    from notices.services.support import contact_note_add
    from portal.roles import SUPPORT_AGENT
    from tests.staff import staff_with_role

    customer, agent = CustomerFactory(), staff_with_role(SUPPORT_AGENT)

    def note(text: str, *, days_ago: int) -> int:
        row = contact_note_add(customer=customer, kind="call", text=text, by=agent)
        when = timezone.now() - timedelta(days=days_ago)
        ContactNote.objects.filter(pk=row.pk).update(created_at=when)
        return row.pk

    note("Called about her passport; lives at 12 George St", days_ago=800)
    note("Asked for a letter", days_ago=731)
    recent = note("Called back", days_ago=700)
    settings.RETENTION_BATCH_SIZE = 1

    assert retention_apply(dry_run=True).counts["contact_notes"] == 2
    done = retention_apply()
    assert done.counts["contact_notes"] == 2 and done.batches >= 2
    assert list(ContactNote.objects.values_list("pk", flat=True)) == [recent]
    assert AuditEntry.objects.filter(action=AuditAction.NOTE_ADD).count() == 3
    policy = AuditEntry.objects.filter(action=AuditAction.RETENTION_APPLY).last().detail["policy"]
    assert policy["RETENTION_CONTACT_NOTES_DAYS"] == 730
    assert policy["RETENTION_DEVICES_DAYS"] == 270

    settings.RETENTION_CONTACT_NOTES_DAYS = 0
    note("Legal hold", days_ago=2000)
    assert retention_apply().counts["contact_notes"] == 0

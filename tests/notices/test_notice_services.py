"""Publishing notices: the regulator's sections, direct first, schedules, updates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from notices import services
from notices.models import Campaign, Delivery, Notice

pytestmark = pytest.mark.django_db


def hand_over(campaign, customers, status="sent"):
    from notices.references import new_reference

    for customer in customers:
        Delivery.objects.create(
            campaign=campaign,
            customer=customer,
            channel="sms",
            to=customer.phone or "+61400000000",
            status=status,
            reference=new_reference(),
            sent_at=timezone.now(),
        )


def test_a_breach_notice_needs_every_section_in_both_languages(make_notice, lead):
    notice = make_notice(audience="customers", body="## What happened\nOnly this.")
    with pytest.raises(ValidationError) as excinfo:
        services.notice_publish(notice=notice, by=lead)
    messages = " ".join(excinfo.value.messages)
    assert "What information was involved" in messages and "For more information" in messages
    assert Notice.objects.get(pk=notice.pk).status == "draft"


def test_an_advisory_needs_no_sections_but_links_stay_on_allowed_hosts(make_notice, lead):
    advisory = make_notice(
        kind="advisory",
        audience="customers",
        body="Beware [this](https://evil.example).",
        body_fr="Attention.",
    )
    with pytest.raises(ValidationError, match=r"evil\.example"):
        services.notice_publish(notice=advisory, by=lead)
    advisory.body = "Beware of scam texts."
    advisory.save()
    assert services.notice_publish(notice=advisory, by=lead).status == "published"


def test_a_public_notice_waits_for_the_direct_alert(make_notice, lead, campaign, audience):
    notice = make_notice()
    with pytest.raises(ValidationError, match="Direct first"):
        services.notice_publish(notice=notice, by=lead)
    # Five reachable affected customers; four handed over is 80% < 95%.
    reachable = [
        audience[k] for k in ("sms_only", "email_only", "both", "prefers_email", "former_passport")
    ]
    hand_over(campaign, reachable[:4])
    with pytest.raises(ValidationError, match="80%"):
        services.notice_publish(notice=notice, by=lead)
    hand_over(campaign, reachable[4:], status="delivered")
    assert services.notice_publish(notice=notice, by=lead).status == "published"


def test_an_incident_lead_can_override_with_a_reason(make_notice, lead, comms, incident):
    notice = make_notice()
    comms.is_superuser = False
    comms.save()
    with pytest.raises(PermissionDenied):
        services.direct_first_override(
            incident=incident, reason="The press already has it, publish now.", by=comms
        )
    with pytest.raises(ValidationError):
        services.direct_first_override(incident=incident, reason="because", by=lead)
    override = services.direct_first_override(
        incident=incident, reason="The data is being sold online: people must act now.", by=lead
    )
    assert (override.by, override.created_at is not None) == (lead, True)
    assert services.notice_publish(notice=notice, by=lead).status == "published"


def test_notices_for_customers_are_not_held_by_direct_first(make_notice, lead):
    notice = make_notice(audience="affected")
    assert services.notice_publish(notice=notice, by=lead).status == "published"


def test_a_scheduled_notice_publishes_itself_when_due(make_notice, lead):
    notice = make_notice(audience="customers")
    at = timezone.now() + timedelta(hours=1)
    services.notice_schedule(notice=notice, at=at, by=lead)
    assert services.notices_publish_due(now=timezone.now()) == 0
    assert services.notices_publish_due(now=at + timedelta(seconds=1)) == 1
    notice.refresh_from_db()
    assert notice.status == "published"


def test_a_scheduled_public_notice_held_by_direct_first_says_why(make_notice, lead, campaign):
    notice = make_notice()
    services.notice_schedule(notice=notice, at=timezone.now() - timedelta(minutes=1), by=lead)
    assert services.notices_publish_due() == 0
    notice.refresh_from_db()
    assert notice.status == "scheduled" and "Direct first" in notice.held_because


def test_updates_are_dated_additions_and_can_start_a_draft_alert(make_notice, lead):
    notice = make_notice(audience="customers")
    with pytest.raises(ValidationError):
        services.notice_update_add(notice=notice, body="x", body_fr="y", by=lead)
    services.notice_publish(notice=notice, by=lead)
    update = services.notice_update_add(
        notice=notice,
        body="We now know passports were taken.",
        body_fr="Nous savons maintenant que des passeports ont été dérobés.",
        notify_affected=True,
        by=lead,
    )
    assert update.campaign is not None and update.campaign.status == "draft"
    assert Campaign.objects.filter(incident=notice.incident, name__startswith="Update:").exists()
    assert notice.updates.count() == 1


def test_publishing_moves_the_content_generation(
    make_notice, lead, django_capture_on_commit_callbacks
):
    """Customer pages keep per-process copies of the latest notices (portal/generations.py)."""
    from portal import generations

    notice = make_notice(audience="affected")
    before = generations.current()
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_publish(notice=notice, by=lead)
    assert generations.current() > before


def test_a_public_notice_waits_when_no_affected_customer_is_reachable(make_notice, lead, incident):
    """Nobody reachable is not 'everyone told': an incident lead must decide."""
    notice = make_notice()
    with pytest.raises(ValidationError, match="Direct first"):
        services.notice_publish(notice=notice, by=lead)
    services.direct_first_override(
        incident=incident,
        reason="Nobody can be reached directly; letters are in the post.",
        by=lead,
    )
    assert services.notice_publish(notice=notice, by=lead).status == "published"


# --- roles and four eyes ---------------------------------------------------------------


@pytest.fixture
def lead2(db):
    from portal.roles import INCIDENT_LEAD
    from tests.staff import staff_with_role

    return staff_with_role(INCIDENT_LEAD, username="erin")


def test_editing_a_scheduled_notice_sends_it_back_to_draft(make_notice, lead, comms):
    from portal.models import AuditEntry

    notice = make_notice(audience="customers")
    at = timezone.now() + timedelta(hours=1)
    services.notice_schedule(notice=notice, at=at, by=lead)
    edited = services.notice_edit(notice=notice, changes={"title": "Notice 0, reworded"}, by=comms)
    assert edited.status == "draft" and edited.publish_at is None
    assert edited.scheduled_by is None and edited.edited_by == comms
    assert edited.title == "Notice 0, reworded"
    assert AuditEntry.objects.filter(actor=comms, action="notice.redraft").exists()
    # Nothing goes out when the time comes: it must be scheduled again.
    assert services.notices_publish_due(at + timedelta(minutes=1)) == 0
    assert Notice.objects.get(pk=notice.pk).status == "draft"


def test_a_published_notice_is_never_edited(make_notice, lead, comms):
    notice = make_notice(audience="customers")
    services.notice_publish(notice=notice, by=lead)
    with pytest.raises(ValidationError, match="dated update"):
        services.notice_edit(notice=notice, changes={"body": "Rewritten."}, by=comms)
    assert Notice.objects.get(pk=notice.pk).body != "Rewritten."


def test_whoever_last_edited_a_notice_cannot_publish_or_schedule_it(make_notice, lead, lead2):
    notice = make_notice(audience="customers")  # written by comms
    services.notice_edit(notice=notice, changes={"summary": "Shorter."}, by=lead)
    with pytest.raises(PermissionDenied, match="another staff member"):
        services.notice_publish(notice=notice, by=lead)
    with pytest.raises(PermissionDenied, match="another staff member"):
        services.notice_schedule(notice=notice, at=timezone.now(), by=lead)
    assert Notice.objects.get(pk=notice.pk).status == "draft"
    assert services.notice_publish(notice=notice, by=lead2).published_by == lead2


def test_an_earlier_editor_of_a_notice_cannot_publish_it_after_a_later_edit(
    make_notice, comms, lead, lead2
):
    notice = make_notice(audience="customers")  # written by comms
    services.notice_edit(notice=notice, changes={"summary": "The lead's wording."}, by=lead)
    services.notice_edit(notice=notice, changes={"title": "Retitled"}, by=comms)
    with pytest.raises(PermissionDenied, match="another staff member"):
        services.notice_publish(notice=notice, by=lead)
    with pytest.raises(PermissionDenied, match="another staff member"):
        services.notice_schedule(notice=notice, at=timezone.now(), by=lead)
    assert services.notice_publish(notice=notice, by=lead2).published_by == lead2


def test_the_author_of_a_notice_cannot_publish_it(make_notice, lead, lead2):
    notice = make_notice(audience="customers", created_by=lead)
    with pytest.raises(PermissionDenied):
        services.notice_publish(notice=notice, by=lead)
    assert services.notice_publish(notice=notice, by=lead2).status == "published"


def test_a_notice_without_an_author_cannot_be_published(make_notice, lead):
    notice = make_notice(audience="customers", created_by=None)
    with pytest.raises(PermissionDenied, match="no author"):
        services.notice_publish(notice=notice, by=lead)


def test_publishing_needs_a_named_user_with_the_publish_permission(make_notice, lead, comms):
    from portal.models import AuditEntry

    notice = make_notice(audience="customers", created_by=lead)
    for by in (None, comms):
        with pytest.raises(PermissionDenied):
            services.notice_publish(notice=notice, by=by)
        with pytest.raises(PermissionDenied):
            services.notice_schedule(notice=notice, at=timezone.now(), by=by)
    assert Notice.objects.get(pk=notice.pk).status == "draft"
    assert not AuditEntry.objects.filter(action__startswith="notice.").exists()


def test_a_schedule_whose_scheduler_lost_the_role_is_held(make_notice, lead):
    notice = make_notice(audience="customers")
    services.notice_schedule(notice=notice, at=timezone.now(), by=lead)
    lead.groups.clear()
    lead = type(lead).objects.get(pk=lead.pk)  # no cached permissions
    assert services.notices_publish_due(timezone.now() + timedelta(seconds=1)) == 0
    notice.refresh_from_db()
    assert notice.status == "scheduled" and "incident lead" in notice.held_because


def test_an_update_needs_the_publish_permission_and_is_audited(make_notice, lead, comms):
    from portal.models import AuditEntry

    notice = make_notice(audience="customers")
    services.notice_publish(notice=notice, by=lead)
    with pytest.raises(PermissionDenied):
        services.notice_update_add(
            notice=notice, body="Also passports.", body_fr="Aussi.", by=comms
        )
    with pytest.raises(PermissionDenied):
        services.notice_update_add(notice=notice, body="Also passports.", body_fr="Aussi.", by=None)
    assert notice.updates.count() == 0
    update = services.notice_update_add(
        notice=notice, body="Also passports.", body_fr="Aussi les passeports.", by=lead
    )
    entry = AuditEntry.objects.get(action="notice.update")
    assert entry.actor == lead and entry.target_id == str(notice.pk)
    assert entry.detail["update"] == update.pk


def test_a_breach_notice_with_an_empty_section_is_not_published(make_notice, lead):
    from tests.notices.conftest import BREACH_BODY_FR

    body_fr = BREACH_BODY_FR.replace(
        "## Ce que nous faisons\nNous avons fermé l'accès et contactons chaque client concerné.\n",
        "## Ce que nous faisons\n",
    )
    notice = make_notice(audience="customers", body_fr=body_fr)
    with pytest.raises(ValidationError) as excinfo:
        services.notice_publish(notice=notice, by=lead)
    assert excinfo.value.messages == [
        "In the FR version, the section “Ce que nous faisons” is empty: write what it must "
        "tell customers under its heading."
    ]
    assert Notice.objects.get(pk=notice.pk).status == "draft"


def test_a_breach_notice_needs_other_important_information(make_notice, lead):
    from tests.notices.conftest import BREACH_BODY

    body = BREACH_BODY.replace(
        "## Other important information\nWe will never ask for your password or a payment.\n", ""
    )
    with pytest.raises(ValidationError, match="Other important information"):
        services.notice_publish(notice=make_notice(audience="customers", body=body), by=lead)


def test_whoever_edits_a_notice_with_no_author_becomes_its_author(make_notice, comms, lead):
    """Otherwise it could never be published: nobody could ever be its author."""
    notice = make_notice(audience="customers", created_by=None)
    services.notice_edit(notice=notice, changes={"summary": "Reviewed"}, by=comms)
    assert Notice.objects.get(pk=notice.pk).created_by == comms
    assert services.notice_publish(notice=notice, by=lead).status == "published"


def test_a_schedule_whose_scheduler_is_no_longer_staff_is_held(make_notice, lead):
    """Taking away staff status (the admin's usual way to let someone go, their
    groups left as they were) stops what they scheduled, as it stops them."""
    notice = make_notice(audience="customers")
    services.notice_schedule(notice=notice, at=timezone.now(), by=lead)
    type(lead).objects.filter(pk=lead.pk).update(is_staff=False)
    assert services.notices_publish_due(timezone.now() + timedelta(seconds=1)) == 0
    notice.refresh_from_db()
    assert notice.status == "scheduled" and notice.held_because


def test_someone_no_longer_staff_cannot_approve_by_command(campaign, lead):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    type(lead).objects.filter(pk=lead.pk).update(is_staff=False)
    with pytest.raises(CommandError):
        call_command("campaign", "approve", str(campaign.pk), "--by", lead.username)
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_a_lead_cannot_publish_their_own_edit_that_lands_during_the_publish(
    make_notice, lead, monkeypatch
):
    """Four eyes under a race: the lead's own edit (another tab) commits after
    the publish checked who wrote the notice; the version checked, not the one
    read afterwards, is the one published, or nothing is."""
    from notices.services import notices as notice_services
    from notices.services.reviews import version

    notice = make_notice(audience="customers")
    seen = version(notice)
    checked = notice_services.require_seen

    def edit_lands(obj, seen_version, message):
        checked(obj, seen_version, message)
        services.notice_edit(notice=notice, changes={"summary": "Edited by the lead."}, by=lead)

    monkeypatch.setattr(notice_services, "require_seen", edit_lands)
    with pytest.raises(ValidationError, match="review it again"):
        services.notice_publish(notice=notice, by=lead, seen=seen)
    stored = Notice.objects.get(pk=notice.pk)
    assert (stored.status, stored.summary) == ("draft", "Edited by the lead.")


def test_editing_a_draft_notice_is_on_the_audit_log(make_notice, comms):
    # Like a draft campaign's edit: who changed which part of what the public will read.
    from portal.models import AuditEntry

    notice = make_notice(audience="customers")
    services.notice_edit(notice=notice, changes={"summary": "Shorter.", "title": "T"}, by=comms)
    entry = AuditEntry.objects.get(action="notice.edit")
    assert (entry.actor, entry.target_type, entry.target_id) == (comms, "notice", str(notice.pk))
    assert entry.detail["fields"] == ["summary", "title"]
    assert not AuditEntry.objects.filter(action="notice.redraft").exists()

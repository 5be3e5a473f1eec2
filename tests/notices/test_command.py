from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from django.core.management import CommandError, call_command

from notices.models import Campaign
from portal.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("campaign", *args, stdout=out)
    return out.getvalue().strip()


@pytest.fixture
def lead_code(lead):
    """The lead's authenticator app: a function giving its current code."""
    secret = generate_totp_secret()
    TOTP.activate(lead, secret)
    return lambda: f"{hotp_value(secret, int(datetime.now(UTC).timestamp()) // 30):06d}"


def approve(campaign_id, user, code) -> str:
    return run("approve", str(campaign_id), "--by", user.username, "--code", code)


def test_full_lifecycle_from_the_command_line(
    incident, comms, lead, lead_code, audience, django_capture_on_commit_callbacks
):
    campaign_id = int(
        run(
            "create",
            "--incident",
            incident.slug,
            "--channels",
            "sms,email",
            "--name",
            "First alert",
            "--by",
            comms.username,
        )
    )
    campaign = Campaign.objects.get(pk=campaign_id)
    assert campaign.name == "First alert" and campaign.channels == ["sms", "email"]

    with pytest.raises(CommandError, match="incident lead"):
        run("approve", str(campaign_id), "--by", comms.username)
    approve(campaign_id, lead, lead_code())
    with django_capture_on_commit_callbacks(execute=True):
        assert "sending" in run("send", str(campaign_id), "--by", lead.username)

    status = json.loads(run("status", str(campaign_id), "--json"))
    # Eager Celery in tests: everything was sent at once.
    assert status["status"] == "completed"
    assert status["counts"]["sent"] == 5
    assert status["by_channel"]["sms"]["sent"] == 3
    assert "sent" in run("status", str(campaign_id))


def test_create_narrowed_to_data_classes(incident, audience, comms):
    campaign_id = int(
        run(
            "create",
            "--incident",
            incident.slug,
            "--channels",
            "email",
            "--data-classes",
            "passport_number",
            "--by",
            comms.username,
        )
    )
    campaign = Campaign.objects.get(pk=campaign_id)
    assert list(campaign.data_classes.values_list("code", flat=True)) == ["passport_number"]


def test_clear_errors(incident, comms, lead):
    by = ("--by", comms.username)
    with pytest.raises(CommandError, match="No incident"):
        run("create", "--incident", "nope", "--channels", "sms", *by)
    with pytest.raises(CommandError, match="unknown"):
        run("create", "--incident", incident.slug, "--channels", "fax", *by)
    with pytest.raises(CommandError, match="Name each channel once"):
        run("create", "--incident", incident.slug, "--channels", "sms,sms", *by)
    with pytest.raises(CommandError, match="No campaign"):
        run("send", "999", "--by", lead.username)
    with pytest.raises(CommandError, match="Unknown data classes"):
        run(
            "create", "--incident", incident.slug, "--channels", "sms", "--data-classes", "dna", *by
        )
    with pytest.raises(CommandError, match="not an active staff member"):
        run("create", "--incident", incident.slug, "--channels", "sms", "--by", "nobody")


def test_pause_resume_cancel(incident, comms, lead, audience):
    campaign_id = run(
        "create", "--incident", incident.slug, "--channels", "sms", "--by", comms.username
    )
    Campaign.objects.filter(pk=campaign_id).update(status="sending")
    assert "paused" in run("pause", campaign_id, "--by", lead.username)
    assert "cancelled" in run("cancel", campaign_id, "--by", lead.username)
    with pytest.raises(CommandError, match="paused campaign"):
        run("resume", campaign_id, "--by", lead.username)


def test_every_action_names_who_does_it(incident, comms):
    """Without --by the command refuses before doing anything (argparse)."""
    with pytest.raises(CommandError, match="--by"):
        run("create", "--incident", incident.slug, "--channels", "sms")
    campaign_id = run(
        "create", "--incident", incident.slug, "--channels", "sms", "--by", comms.username
    )
    with pytest.raises(CommandError, match="--by"):
        run("send", campaign_id)


def test_the_command_obeys_the_actors_role(incident, comms, lead, lead_code, audience):
    """The services check permissions: a communications officer cannot approve,
    send or cancel from the command line either, and nothing is audited."""
    from portal.models import AuditEntry

    campaign_id = run(
        "create", "--incident", incident.slug, "--channels", "sms", "--by", comms.username
    )
    other = run("create", "--incident", incident.slug, "--channels", "sms", "--by", lead.username)
    with pytest.raises(CommandError, match="incident lead"):
        run("approve", other, "--by", comms.username)
    approve(campaign_id, lead, lead_code())
    for action in ("send", "cancel"):
        with pytest.raises(CommandError, match="incident lead"):
            run(action, campaign_id, "--by", comms.username)
    assert Campaign.objects.get(pk=campaign_id).status == "approved"
    # Only what they did: write their campaign.
    done = AuditEntry.objects.filter(actor=comms).exclude(action="staff.roles_change")
    assert list(done.values_list("action", "target_id")) == [("campaign.create", campaign_id)]
    later = time_machine.travel(datetime.now(UTC) + timedelta(seconds=60))
    with later, pytest.raises(CommandError, match="another staff member"):
        approve(other, lead, lead_code())


def _draft(incident, author) -> str:
    return run("create", "--incident", incident.slug, "--channels", "sms", "--by", author.username)


def test_approving_needs_the_approvers_own_authenticator_code(
    incident, comms, lead, lead_code, audience
):
    campaign_id = _draft(incident, comms)
    with pytest.raises(CommandError, match="authenticator code"):
        run("approve", campaign_id, "--by", lead.username)  # no terminal to ask on
    wrong = f"{(int(lead_code()) + 1) % 1_000_000:06d}"
    with pytest.raises(CommandError, match="wrong or was already used"):
        approve(campaign_id, lead, wrong)
    assert Campaign.objects.get(pk=campaign_id).status == "draft"
    code = lead_code()
    approve(campaign_id, lead, code)
    assert Campaign.objects.get(pk=campaign_id).status == "approved"
    # The same code cannot approve a second campaign.
    second = _draft(incident, comms)
    with pytest.raises(CommandError, match="already used"):
        approve(second, lead, code)


def test_a_lead_without_an_authenticator_app_approves_in_the_admin(incident, comms, lead):
    campaign_id = _draft(incident, comms)
    with pytest.raises(CommandError, match="no authenticator app"):
        approve(campaign_id, lead, "123456")
    assert Campaign.objects.get(pk=campaign_id).status == "draft"


def test_an_inactive_or_former_staff_member_cannot_act(incident, comms, lead, lead_code, audience):
    campaign_id = _draft(incident, comms)
    type(lead).objects.filter(pk=lead.pk).update(is_active=False)
    with pytest.raises(CommandError, match="not an active staff member"):
        approve(campaign_id, lead, lead_code())
    type(lead).objects.filter(pk=lead.pk).update(is_active=True, is_staff=False)
    with pytest.raises(CommandError, match="not an active staff member"):
        run("cancel", campaign_id, "--by", lead.username)
    assert Campaign.objects.get(pk=campaign_id).status == "draft"


def test_the_author_cannot_approve_their_own_campaign_by_command(incident, lead, lead_code):
    campaign_id = _draft(incident, lead)
    with pytest.raises(CommandError, match="another staff member must approve"):
        approve(campaign_id, lead, lead_code())
    assert Campaign.objects.get(pk=campaign_id).status == "draft"


def test_the_audit_log_says_it_was_done_from_the_command_line(
    incident, comms, lead, lead_code, audience
):
    campaign_id = _draft(incident, comms)
    approve(campaign_id, lead, lead_code())
    run("cancel", campaign_id, "--by", lead.username)
    for action in (AuditAction.CAMPAIGN_APPROVE, AuditAction.CAMPAIGN_CANCEL):
        entry = AuditEntry.objects.get(action=action, target_id=campaign_id)
        assert entry.actor == lead
        assert entry.detail["via"] == "command line"
        assert entry.detail["os_user"] and entry.detail["host"]


def test_writing_a_campaign_by_command_is_on_the_audit_log(incident, comms, lead, lead_code):
    # An operator could write a campaign in a colleague's name (--by), then
    # approve it with their own code: only the approval said "command line".
    campaign_id = _draft(incident, comms)
    entry = AuditEntry.objects.get(action=AuditAction.CAMPAIGN_CREATE, target_id=campaign_id)
    assert entry.actor == comms
    assert entry.detail["via"] == "command line"
    assert entry.detail["os_user"] and entry.detail["host"]

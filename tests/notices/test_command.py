from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from notices.models import Campaign

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("campaign", *args, stdout=out)
    return out.getvalue().strip()


def test_full_lifecycle_from_the_command_line(
    incident, comms, lead, audience, django_capture_on_commit_callbacks
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
    run("approve", str(campaign_id), "--by", lead.username)
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
    with pytest.raises(CommandError, match="No user"):
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


def test_the_command_obeys_the_actors_role(incident, comms, lead, audience):
    """The services check permissions: a communications officer cannot approve,
    send or cancel from the command line either, and nothing is audited."""
    from portal.models import AuditEntry

    campaign_id = run(
        "create", "--incident", incident.slug, "--channels", "sms", "--by", comms.username
    )
    other = run("create", "--incident", incident.slug, "--channels", "sms", "--by", lead.username)
    with pytest.raises(CommandError, match="incident lead"):
        run("approve", other, "--by", comms.username)
    run("approve", campaign_id, "--by", lead.username)
    for action in ("send", "cancel"):
        with pytest.raises(CommandError, match="incident lead"):
            run(action, campaign_id, "--by", comms.username)
    assert Campaign.objects.get(pk=campaign_id).status == "approved"
    assert not AuditEntry.objects.filter(actor=comms).exclude(action="staff.roles_change").exists()
    with pytest.raises(CommandError, match="another staff member"):
        run("approve", other, "--by", lead.username)

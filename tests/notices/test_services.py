from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from notices import services
from notices.models import Campaign, CampaignTemplate, IncidentTemplate

pytestmark = pytest.mark.django_db


def test_a_new_campaign_gets_templates_for_each_channel_and_language(campaign):
    assert set(campaign.templates.values_list("channel", "language")) == {
        ("sms", "en"),
        ("sms", "fr"),
        ("email", "en"),
        ("email", "fr"),
    }
    assert campaign.status == "draft"


def test_incident_default_templates_are_used_when_present(incident, comms, audience):
    IncidentTemplate.objects.create(
        incident=incident, channel="sms", language="en", body="Our own words. Ref {reference}"
    )
    campaign = services.campaign_create(incident=incident, channels=["sms"], by=comms)
    assert (
        campaign.templates.get(channel="sms", language="en").body
        == "Our own words. Ref {reference}"
    )


def test_unknown_channel_or_data_class_is_refused(incident, comms):
    with pytest.raises(ValueError):
        services.campaign_create(incident=incident, channels=["fax"], by=comms)
    with pytest.raises(ValidationError):
        services.campaign_create(
            incident=incident, channels=["sms"], by=comms, data_classes=["dna"]
        )


def test_a_channel_named_twice_is_refused(incident, comms):
    with pytest.raises(ValidationError, match="Name each channel once"):
        services.campaign_create(incident=incident, channels=["sms", "email", "sms"], by=comms)
    assert not Campaign.objects.exists()


def test_the_author_cannot_approve(campaign, comms):
    with pytest.raises(PermissionDenied):
        services.campaign_approve(campaign=campaign, by=comms)
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_a_second_person_approves(campaign, lead):
    services.campaign_approve(campaign=campaign, by=lead)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.approved_by) == ("approved", lead)
    with pytest.raises(ValidationError):
        services.campaign_approve(campaign=campaign, by=lead)


def test_an_invalid_template_blocks_approval(campaign, lead):
    CampaignTemplate.objects.filter(campaign=campaign, channel="sms", language="en").update(
        body="Click http://evil.example.net now"
    )
    with pytest.raises(ValidationError) as excinfo:
        services.campaign_approve(campaign=campaign, by=lead)
    assert any("evil.example.net" in m for m in excinfo.value.messages)


def test_send_needs_approval_and_lifecycle_transitions(
    campaign, lead, django_capture_on_commit_callbacks
):
    with pytest.raises(ValidationError):
        services.campaign_send(campaign=campaign, by=lead)
    services.campaign_approve(campaign=campaign, by=lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_send(campaign=campaign, by=lead)
    campaign.refresh_from_db()
    # Eager Celery in tests: planned and sent at once.
    assert campaign.status == "completed"
    assert campaign.deliveries.filter(status="sent").count() == 5
    with pytest.raises(ValidationError):
        services.campaign_pause(campaign=campaign, by=lead)
    with pytest.raises(ValidationError):
        services.campaign_cancel(campaign=campaign, by=lead)


@pytest.mark.parametrize("status", ["draft", "closed"])
def test_a_campaign_is_only_for_an_active_incident(incident, comms, audience, status):
    from customers.models import Incident

    Incident.objects.filter(pk=incident.pk).update(status=status)
    incident.refresh_from_db()
    with pytest.raises(ValidationError, match="active incident"):
        services.campaign_create(incident=incident, channels=["sms"], by=comms)
    assert not Campaign.objects.exists()


def test_a_campaign_is_not_sent_once_its_incident_is_closed(campaign, lead):
    from customers.models import Incident

    services.campaign_approve(campaign=campaign, by=lead)
    Incident.objects.filter(pk=campaign.incident_id).update(status="closed")
    with pytest.raises(ValidationError, match="active incident"):
        services.campaign_send(campaign=campaign, by=lead)
    assert Campaign.objects.get(pk=campaign.pk).status == "approved"


def test_a_campaign_of_a_closed_incident_cannot_be_approved(campaign, lead):
    from customers.models import Incident

    Incident.objects.filter(pk=campaign.incident_id).update(status="closed")
    campaign.refresh_from_db()
    with pytest.raises(ValidationError, match="active incident"):
        services.campaign_approve(campaign=campaign, by=lead)


# --- roles and four eyes ---------------------------------------------------------------


def test_whoever_last_edited_a_campaign_cannot_approve_it(campaign, lead):
    from portal.roles import INCIDENT_LEAD
    from tests.staff import staff_with_role

    services.campaign_edited(campaign=campaign, by=lead)  # the lead touched it
    with pytest.raises(PermissionDenied, match="another staff member"):
        services.campaign_approve(campaign=campaign, by=lead)
    other = staff_with_role(INCIDENT_LEAD, username="erin")
    assert services.campaign_approve(campaign=campaign, by=other).approved_by == other


def test_an_earlier_editor_cannot_approve_once_someone_else_edited_after_them(
    campaign, comms, lead
):
    """Four eyes: the lead's own wording is not reviewed because a colleague
    touched the campaign after them."""
    from portal.roles import COMMUNICATIONS, INCIDENT_LEAD
    from tests.staff import staff_with_role

    services.campaign_edited(campaign=campaign, by=lead)
    services.campaign_edited(campaign=campaign, by=staff_with_role(COMMUNICATIONS, username="fay"))
    with pytest.raises(PermissionDenied, match="another staff member"):
        services.campaign_approve(campaign=campaign, by=lead)
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    other = staff_with_role(INCIDENT_LEAD, username="erin")
    assert services.campaign_approve(campaign=campaign, by=other).approved_by == other


def test_an_approved_campaign_cannot_be_edited(campaign, lead, comms):
    services.campaign_approve(campaign=campaign, by=lead)
    with pytest.raises(ValidationError, match="draft"):
        services.campaign_edited(campaign=campaign, by=comms)


def test_a_campaign_without_an_author_cannot_be_approved(campaign, lead):
    Campaign.objects.filter(pk=campaign.pk).update(created_by=None, edited_by=None)
    with pytest.raises(PermissionDenied, match="no author"):
        services.campaign_approve(campaign=campaign, by=lead)


def test_a_campaign_needs_an_author_with_the_role(incident, audience):
    from portal.roles import SUPPORT_AGENT
    from tests.staff import staff_with_role

    for by in (None, staff_with_role(SUPPORT_AGENT)):
        with pytest.raises(PermissionDenied):
            services.campaign_create(incident=incident, channels=["sms"], by=by)
    assert not Campaign.objects.exists()


def test_approving_and_sending_need_the_role_in_the_service(campaign, comms, lead):
    from portal.models import AuditEntry
    from portal.roles import COMMUNICATIONS
    from tests.staff import staff_with_role

    other_comms = staff_with_role(COMMUNICATIONS, username="frank")
    with pytest.raises(PermissionDenied):
        services.campaign_approve(campaign=campaign, by=other_comms)
    services.campaign_approve(campaign=campaign, by=lead)
    for service in (services.campaign_send, services.campaign_cancel):
        for by in (None, comms):
            with pytest.raises(PermissionDenied):
                service(campaign=campaign, by=by)
    assert Campaign.objects.get(pk=campaign.pk).status == "approved"
    assert not AuditEntry.objects.filter(action__in=["campaign.send", "campaign.cancel"]).exists()


def test_an_approved_campaign_gets_no_new_messages(campaign, lead):
    """Saving it again in the admin must not add a message nobody approved."""
    campaign.templates.filter(channel="sms", language="fr").delete()
    services.campaign_approve(campaign=campaign, by=lead)
    IncidentTemplate.objects.create(
        incident=campaign.incident, channel="sms", language="fr", body="Nouveau. {reference}"
    )
    assert services.campaign_templates_fill(campaign=campaign) == 0
    assert not campaign.templates.filter(channel="sms", language="fr").exists()


def test_whoever_edits_a_campaign_with_no_author_becomes_its_author(campaign, comms, lead):
    Campaign.objects.filter(pk=campaign.pk).update(created_by=None, edited_by=None)
    services.campaign_edited(campaign=campaign, by=comms)
    assert Campaign.objects.get(pk=campaign.pk).created_by == comms
    assert services.campaign_approve(campaign=campaign, by=lead).status == "approved"


def test_the_editors_migration_records_each_author_and_last_editor(campaign, comms, lead):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("notices.migrations.0012_editors")
    Campaign.objects.filter(pk=campaign.pk).update(edited_by=lead)
    campaign.editors.clear()
    migration.editors_from_authors(apps, None)
    assert set(campaign.editors.all()) == {comms, lead}


def test_a_french_message_naming_the_incident_needs_its_french_title(incident, comms, lead):
    # Without one, {incident_title} put the English title into every French message.
    from customers.models import Incident

    Incident.objects.filter(pk=incident.pk).update(title_fr="")
    campaign = services.campaign_create(incident=incident, channels=["sms"], by=comms)
    CampaignTemplate.objects.filter(campaign=campaign, language="fr").update(
        body="{incident_title} : vos données. Réf. {reference} sur {verify_url}"
    )
    campaign.refresh_from_db()  # as the review page reads it
    problems = services.campaign_problems(campaign)
    assert any("French title" in problem for problem in problems)
    with pytest.raises(ValidationError):
        services.campaign_approve(campaign=campaign, by=lead)
    Incident.objects.filter(pk=incident.pk).update(title_fr="Cyberattaque")
    campaign.incident.refresh_from_db()
    assert services.campaign_problems(campaign) == []


def test_a_campaign_is_not_sent_once_a_host_it_links_to_is_no_longer_allowed(
    campaign, lead, settings
):
    # Approval checked the links against MESSAGE_LINK_HOSTS as it was then; sending
    # checks them again against the list as it is now.
    settings.MESSAGE_LINK_HOSTS = ["localhost", "help.bank.example"]
    CampaignTemplate.objects.filter(campaign=campaign, channel="sms", language="en").update(
        body="News about our data breach: help.bank.example. Ref {reference}"
    )
    services.campaign_approve(campaign=campaign, by=lead)
    settings.MESSAGE_LINK_HOSTS = ["localhost"]
    with pytest.raises(ValidationError) as excinfo:
        services.campaign_send(campaign=campaign, by=lead)
    messages = excinfo.value.messages
    assert "no longer passes the checks" in messages[0]
    assert any("help.bank.example" in m for m in messages)
    assert Campaign.objects.get(pk=campaign.pk).status == "approved"


def test_a_paused_campaign_does_not_resume_once_a_host_it_links_to_is_no_longer_allowed(
    campaign, lead, settings
):
    settings.MESSAGE_LINK_HOSTS = ["localhost", "help.bank.example"]
    CampaignTemplate.objects.filter(campaign=campaign, channel="sms", language="en").update(
        body="News about our data breach: help.bank.example. Ref {reference}"
    )
    services.campaign_approve(campaign=campaign, by=lead)
    Campaign.objects.filter(pk=campaign.pk).update(status="paused")  # sent, then paused
    settings.MESSAGE_LINK_HOSTS = ["localhost"]
    with pytest.raises(ValidationError) as excinfo:
        services.campaign_resume(campaign=campaign, by=lead)
    assert any("help.bank.example" in m for m in excinfo.value.messages)
    assert Campaign.objects.get(pk=campaign.pk).status == "paused"


def test_a_campaign_is_not_sent_once_its_incident_lost_the_french_title_it_names(
    incident, comms, lead
):
    from customers.models import Incident

    campaign = services.campaign_create(incident=incident, channels=["sms"], by=comms)
    CampaignTemplate.objects.filter(campaign=campaign, language="fr").update(
        body="{incident_title} : vos données. Réf. {reference} sur {verify_url}"
    )
    services.campaign_approve(campaign=campaign, by=lead)
    Incident.objects.filter(pk=incident.pk).update(title_fr="")
    with pytest.raises(ValidationError) as excinfo:
        services.campaign_send(campaign=campaign, by=lead)
    assert any("French title" in m for m in excinfo.value.messages)
    assert Campaign.objects.get(pk=campaign.pk).status == "approved"

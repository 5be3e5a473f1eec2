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
        services.campaign_send(campaign=campaign)
    services.campaign_approve(campaign=campaign, by=lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_send(campaign=campaign)
    campaign.refresh_from_db()
    # Eager Celery in tests: planned and sent at once.
    assert campaign.status == "completed"
    assert campaign.deliveries.filter(status="sent").count() == 5
    with pytest.raises(ValidationError):
        services.campaign_pause(campaign=campaign)
    with pytest.raises(ValidationError):
        services.campaign_cancel(campaign=campaign)


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

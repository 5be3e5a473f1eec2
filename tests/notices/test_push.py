"""Push through FCM's HTTP v1 wire format, against a fake FCM on loopback."""

from __future__ import annotations

import pytest

from notices import dispatch
from notices.channels.base import ChannelError, LookupUnsupported, OutgoingMessage
from notices.channels.push import FcmBackend
from notices.models import Campaign, Delivery, Device
from notices.planning import plan_chunk
from notices.services import campaign_approve, campaign_create, device_register
from tests.fakes.fcm_server import running_fake_fcm

pytestmark = pytest.mark.django_db


@pytest.fixture
def fcm(settings):
    with running_fake_fcm() as fake:
        settings.PUSH_PROVIDERS = [
            {
                "name": "primary",
                "backend": "notices.channels.push.FcmBackend",
                "api_base_url": fake.base_url,
                "project_id": fake.project_id,
                "access_token": fake.access_token,
                "timeout": 2,
            }
        ]
        yield fake


def backend(fake) -> FcmBackend:
    return FcmBackend(
        "primary",
        api_base_url=fake.base_url,
        project_id=fake.project_id,
        access_token=fake.access_token,
        timeout=2,
    )


def message(token="device-1") -> OutgoingMessage:
    return OutgoingMessage(
        reference="ABCDEFGHJKLM", to=token, body="Your data was exposed.", subject="Data breach"
    )


def test_push_sends_the_v1_message(fcm):
    name = backend(fcm).send(message())
    assert name.startswith(f"projects/{fcm.project_id}/messages/")
    [sent] = fcm.sent
    assert sent["token"] == "device-1" and sent["notification"]["title"] == "Data breach"
    assert sent["data"] == {"reference": "ABCDEFGHJKLM"}


def test_an_unregistered_token_is_a_dead_address(fcm):
    fcm.unregistered.add("gone")
    with pytest.raises(ChannelError) as excinfo:
        backend(fcm).send(message("gone"))
    assert excinfo.value.permanent and excinfo.value.invalid_address


def test_provider_trouble_is_transient(fcm):
    fcm.fail_with = 503
    with pytest.raises(ChannelError) as excinfo:
        backend(fcm).send(message())
    assert not excinfo.value.permanent


def test_fcm_cannot_be_asked_about_a_message(fcm):
    with pytest.raises(LookupUnsupported):
        backend(fcm).lookup(message())


def test_a_campaign_pushes_to_the_app_and_retires_dead_tokens(
    fcm, incident, alice, bob, comms, lead
):
    device_register(user=alice.user, token="alice-phone", platform="android")
    device_register(user=bob.user, token="bob-old-phone", platform="ios")
    fcm.unregistered.add("bob-old-phone")
    campaign = campaign_create(incident=incident, channels=["push", "email"], by=comms)
    campaign_approve(campaign=campaign, by=lead)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    while not plan_chunk(campaign, 100):
        pass
    assert set(Delivery.objects.filter(campaign=campaign).values_list("channel", "to")) == {
        ("push", "alice-phone"),
        ("push", "bob-old-phone"),
    }
    for _ in range(3):
        dispatch.dispatch_batch(campaign.pk)
    assert [m["token"] for m in fcm.sent] == ["alice-phone"]
    assert not Device.objects.get(user=bob.user).active
    # Bob's app is gone: he gets the email instead.
    assert Delivery.objects.get(campaign=campaign, customer=bob, channel="email").status == "sent"
    assert Delivery.objects.get(campaign=campaign, customer=bob, channel="push").status == "failed"

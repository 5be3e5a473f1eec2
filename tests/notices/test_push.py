"""Push through FCM's HTTP v1 wire format, against a fake FCM on loopback."""

from __future__ import annotations

import pytest

from notices import dispatch
from notices.channels.base import ChannelError, LookupUnsupported, OutgoingMessage
from notices.channels.push import (
    BAD_REQUEST,
    FCM_ERROR,
    MAX_PAYLOAD_BYTES,
    FcmBackend,
    fit_body,
    payload_size,
)
from notices.models import Campaign, CampaignTemplate, Delivery, Device
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


def test_a_token_fcm_calls_invalid_retires_the_device(fcm):
    fcm.invalid_argument["not-a-token"] = "message.token"
    with pytest.raises(ChannelError) as excinfo:
        backend(fcm).send(message("not-a-token"))
    assert excinfo.value.permanent and excinfo.value.invalid_address


def test_a_malformed_message_fails_but_keeps_the_device(fcm):
    # INVALID_ARGUMENT about anything but the token is the message's fault.
    fcm.invalid_argument["device-1"] = "message.android.ttl"
    with pytest.raises(ChannelError) as excinfo:
        backend(fcm).send(message("device-1"))
    assert excinfo.value.permanent and not excinfo.value.invalid_address
    assert "message.android.ttl" in str(excinfo.value)


def test_invalid_argument_without_details_keeps_the_device(fcm):
    fcm.answers["device-1"] = (400, {"error": {"code": 400, "status": "INVALID_ARGUMENT"}})
    with pytest.raises(ChannelError) as excinfo:
        backend(fcm).send(message("device-1"))
    assert excinfo.value.permanent and not excinfo.value.invalid_address


def test_a_token_of_another_sender_retires_the_device(fcm):
    fcm.answers["foreign"] = (
        403,
        {
            "error": {
                "code": 403,
                "status": "PERMISSION_DENIED",
                "details": [{"@type": FCM_ERROR, "errorCode": "SENDER_ID_MISMATCH"}],
            }
        },
    )
    with pytest.raises(ChannelError) as excinfo:
        backend(fcm).send(message("foreign"))
    assert excinfo.value.permanent and excinfo.value.invalid_address


def test_a_wrong_project_is_not_a_dead_device(fcm):
    wrong = FcmBackend(
        "primary",
        api_base_url=fcm.base_url,
        project_id="not-our-project",
        access_token=fcm.access_token,
        timeout=2,
    )
    with pytest.raises(ChannelError) as excinfo:
        wrong.send(message())
    assert not excinfo.value.invalid_address


def test_an_oversized_message_fails_before_any_request_and_keeps_the_device(fcm):
    big = OutgoingMessage(reference="ABCDEFGHJKLM", to="device-1", body="é" * 3000, subject="x")
    with pytest.raises(ChannelError) as excinfo:
        backend(fcm).send(big)
    assert excinfo.value.permanent and not excinfo.value.invalid_address
    assert "4096-byte limit" in str(excinfo.value)
    assert fcm.requests == 0


@pytest.mark.parametrize("letter", ["x", "é", "\\", '"', "😀"])
def test_a_long_body_is_cut_to_fit_on_a_character_boundary(letter):
    body = "Start " + letter * 5000
    fitted = fit_body(subject="Data breach", body=body, reference="ABCDEFGHJKLM")
    assert fitted.endswith("\u2026") and body.startswith(fitted[:-1])
    size = payload_size(subject="Data breach", body=fitted, reference="ABCDEFGHJKLM")
    assert size <= MAX_PAYLOAD_BYTES
    longer = body[: len(fitted)] + "\u2026"
    assert payload_size(subject="Data breach", body=longer, reference="ABCDEFGHJKLM") > (
        MAX_PAYLOAD_BYTES
    )


def test_a_body_that_fits_is_kept_whole():
    body = "Your data was exposed. Ref ABCD-EFGH-JKLM"
    assert fit_body(subject="Data breach", body=body, reference="ABCDEFGHJKLM") == body


def _push_campaign(incident, comms, lead, body: str | None = None) -> Campaign:
    campaign = campaign_create(incident=incident, channels=["push", "email"], by=comms)
    campaign_approve(campaign=campaign, by=lead)
    if body is not None:
        # As if approved before push sizes were checked at save: fit_body is the last guard.
        CampaignTemplate.objects.filter(campaign=campaign, channel="push").update(body=body)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    while not plan_chunk(campaign, 100):
        pass
    return campaign


def test_a_long_push_is_stored_and_sent_cut_to_fcms_limit(fcm, incident, alice, comms, lead):
    device_register(user=alice.user, token="alice-phone", platform="android")
    campaign = _push_campaign(incident, comms, lead, body="{reference} " + "é" * 5000)
    dispatch.dispatch_batch(campaign.pk)
    delivery = Delivery.objects.get(campaign=campaign, channel="push")
    assert delivery.status == "sent"
    [sent] = fcm.sent
    assert sent["notification"]["body"] == delivery.body and delivery.body.endswith("\u2026")


def test_a_message_fcm_refuses_falls_back_and_keeps_the_device(fcm, incident, alice, comms, lead):
    device_register(user=alice.user, token="alice-phone", platform="android")
    fcm.invalid_argument["alice-phone"] = "message.notification.body"
    campaign = _push_campaign(incident, comms, lead)
    for _ in range(3):
        dispatch.dispatch_batch(campaign.pk)
    assert Device.objects.get(user=alice.user).active
    assert Delivery.objects.get(campaign=campaign, channel="push").status == "failed"
    assert Delivery.objects.get(campaign=campaign, channel="email").status == "sent"


@pytest.mark.parametrize(
    "error",
    [
        {"status": "INVALID_ARGUMENT", "details": "message.token"},
        {"status": ["NOT_FOUND"], "details": [{"@type": FCM_ERROR, "errorCode": ["UNREGISTERED"]}]},
        {"status": "INVALID_ARGUMENT", "details": [{"@type": BAD_REQUEST, "fieldViolations": [1]}]},
        "INVALID_ARGUMENT",
    ],
)
def test_an_odd_error_answer_is_a_plain_failure(fcm, error):
    fcm.answers["device-1"] = (400, {"error": error})
    with pytest.raises(ChannelError) as excinfo:
        backend(fcm).send(message("device-1"))
    assert excinfo.value.permanent and not excinfo.value.invalid_address


def test_a_cut_push_keeps_its_reference_and_cuts_the_text_before_it():
    reference = "ABCDEFGHJKLM"
    ending = "Ref ABCD-EFGH-JKLM, check it at https://firsthand.example/verify"
    body = "Our data breach exposed " + "é" * 3000 + ". " + ending
    fitted = fit_body(subject="Data breach", body=body, reference=reference)
    assert fitted.endswith("\u2026 " + ending)
    assert fitted.startswith("Our data breach exposed é")
    assert payload_size(subject="Data breach", body=fitted, reference=reference) <= (
        MAX_PAYLOAD_BYTES
    )


def test_a_cut_push_keeps_a_reference_followed_by_long_text():
    reference = "ABCDEFGHJKLM"
    body = "x" * 3000 + " Ref ABCD-EFGH-JKLM " + "y" * 3000
    fitted = fit_body(subject="Data breach", body=body, reference=reference)
    assert "ABCD-EFGH-JKLM" in fitted
    assert payload_size(subject="Data breach", body=fitted, reference=reference) <= (
        MAX_PAYLOAD_BYTES
    )


def test_no_access_token_is_a_transient_failure_before_any_request(fcm, monkeypatch):
    """Google's token service down: nothing reached FCM, so the message is retried
    as usual -- not left in doubt, where FCM (no lookup) would count it as sent."""
    fcm_backend = backend(fcm)

    def refresh_fails():
        raise RuntimeError("token endpoint unreachable")

    monkeypatch.setattr(fcm_backend, "_access_token", refresh_fails)
    with pytest.raises(ChannelError) as excinfo:
        fcm_backend.send(message())
    error = excinfo.value
    assert not error.permanent and not error.ambiguous and not error.invalid_address
    assert fcm.requests == 0


@pytest.mark.parametrize("answer", [["upstream", "error"], "Bad gateway", 42])
def test_an_error_whose_body_is_not_an_object_is_still_a_channel_error(fcm, answer):
    """A gateway's 502 whose JSON is not an object: a plain transient error, not an
    unexpected exception (recorded as in doubt, then counted as sent unsent)."""
    fcm.answers["device-1"] = (502, answer)
    with pytest.raises(ChannelError) as excinfo:
        backend(fcm).send(message())
    assert not excinfo.value.permanent and not excinfo.value.invalid_address

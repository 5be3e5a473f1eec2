"""Provider status callbacks: signed, deduplicated, forward-only."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from notices.channels.twilio import twilio_signature
from notices.models import Delivery, DeliveryEvent
from notices.receipts import apply_receipt

pytestmark = pytest.mark.django_db
TOKEN = "test-auth-token"


@pytest.fixture
def delivery(campaign, audience):
    return Delivery.objects.create(
        campaign=campaign,
        customer=audience["both"],
        channel="sms",
        to="+61411000003",
        status="sent",
        reference="ABCDEFGHJKLM",
        provider="primary",
        provider_id="SM1",
    )


@pytest.fixture
def twilio_provider(settings):
    settings.SMS_PROVIDERS = [
        {"name": "primary", "backend": "notices.channels.locmem.SmsBackend", "auth_token": TOKEN}
    ]


def post_callback(client, reference, params, *, token=TOKEN, signature=None):
    url = f"/webhooks/sms/primary/{reference}"
    signature = (
        signature
        if signature is not None
        else twilio_signature(token, "http://localhost:8000" + url, params)
    )
    return client.post(
        url,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


def test_delivered_receipt_moves_the_delivery_forward(delivery):
    assert apply_receipt(
        reference=delivery.reference,
        provider="primary",
        provider_status="delivered",
        status="delivered",
    )
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.delivered_at


def test_receipts_never_move_a_delivery_back(delivery):
    apply_receipt(reference=delivery.reference, provider_status="delivered", status="delivered")
    apply_receipt(reference=delivery.reference, provider_status="sent", status="sent")
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert delivery.events.filter(source="callback").count() == 2


def test_a_repeated_receipt_is_stored_once(delivery):
    assert apply_receipt(
        reference=delivery.reference, provider_status="delivered", status="delivered"
    )
    assert not apply_receipt(
        reference=delivery.reference, provider_status="delivered", status="delivered"
    )
    assert DeliveryEvent.objects.filter(delivery=delivery, source="callback").count() == 1


def test_an_undelivered_receipt_asks_for_fallback(delivery):
    apply_receipt(
        reference=delivery.reference, provider_status="undelivered", status="failed", error="30003"
    )
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.fallback_pending
    assert delivery.last_error == "30003"


def test_a_receipt_for_an_unknown_reference_changes_nothing(delivery):
    assert not apply_receipt(
        reference="ZZZZZZZZZZZZ", provider_status="delivered", status="delivered"
    )


def test_signed_callback_is_accepted(client, delivery, twilio_provider):
    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+61411000003"}
    assert post_callback(client, delivery.reference, params).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_unsigned_and_forged_callbacks_are_refused(client, delivery, twilio_provider):
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    assert post_callback(client, delivery.reference, params, signature="").status_code == 403
    assert post_callback(client, delivery.reference, params, token="wrong").status_code == 403
    forged = twilio_signature(TOKEN, "http://localhost:8000/webhooks/sms/primary/OTHER", params)
    assert post_callback(client, delivery.reference, params, signature=forged).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "sent"


def test_a_signature_that_is_not_ascii_is_refused_not_an_error(client, delivery, twilio_provider):
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    assert post_callback(client, delivery.reference, params, signature="é").status_code == 403


def test_a_nul_character_in_a_signed_callback_is_not_an_error(client, delivery, twilio_provider):
    # PostgreSQL refuses text with a NUL character (a DataError, a 500, if it got there).
    params = {"MessageSid": "SM1\x00", "MessageStatus": "undelivered", "ErrorCode": "300\x0003"}
    assert post_callback(client, delivery.reference, params).status_code == 204
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == ("failed", "30003")
    assert delivery.events.get(source="callback").detail == "provider: undelivered (30003)"
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    assert post_callback(client, "ABCDEFGHJKL%00", params).status_code == 404


def test_signature_is_checked_against_the_public_url_not_the_host_header(
    client, delivery, twilio_provider, settings
):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    settings.ALLOWED_HOSTS = ["internal-lb"]
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    url = f"/webhooks/sms/primary/{delivery.reference}"
    signature = twilio_signature(TOKEN, "https://portal.example.com" + url, params)
    response = client.post(
        url,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
        HTTP_HOST="internal-lb",
    )
    assert response.status_code == 204


def test_twilio_signature_matches_twilios_documented_example():
    # From Twilio's "Webhooks security" documentation.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_anymail_bounce_marks_the_email_failed(campaign, audience):
    from anymail.signals import AnymailTrackingEvent, tracking

    email = Delivery.objects.create(
        campaign=campaign,
        customer=audience["email_only"],
        channel="email",
        to="e1@example.com",
        status="sent",
        reference="EMAILREF2345",
    )
    event = AnymailTrackingEvent(
        event_type="bounced",
        message_id="<x@y>",
        metadata={"reference": email.reference},
        description="mailbox full",
    )
    tracking.send(sender=object, event=event, esp_name="Postmark")
    email.refresh_from_db()
    assert email.status == "failed" and email.fallback_pending


@pytest.mark.parametrize(
    "reference", [{"$gt": ""}, ["EMAILREF2345"], 12345, None, "EMAILREF2345\x00"]
)
def test_anymail_events_with_a_reference_that_is_not_one_are_ignored(campaign, audience, reference):
    from anymail.signals import AnymailTrackingEvent, tracking

    email = Delivery.objects.create(
        campaign=campaign,
        customer=audience["email_only"],
        channel="email",
        to="e1@example.com",
        status="sent",
        reference="EMAILREF2345",
    )
    event = AnymailTrackingEvent(
        event_type="bounced", message_id="<x@y>", metadata={"reference": reference}
    )
    tracking.send(sender=object, event=event, esp_name="Postmark")
    email.refresh_from_db()
    assert email.status == "sent"


def test_anymail_text_with_a_nul_character_is_recorded_without_it(campaign, audience):
    from anymail.signals import AnymailTrackingEvent, tracking

    email = Delivery.objects.create(
        campaign=campaign,
        customer=audience["email_only"],
        channel="email",
        to="e1@example.com",
        status="sent",
        reference="EMAILREF2345",
    )
    event = AnymailTrackingEvent(
        event_type="bounced",
        message_id="<x\x00@y>",
        metadata={"reference": email.reference},
        description="mailbox\x00 full",
    )
    tracking.send(sender=object, event=event, esp_name="Postmark")
    email.refresh_from_db()
    assert (email.status, email.last_error, email.provider_id) == (
        "failed",
        "mailbox full",
        "<x@y>",
    )


@pytest.fixture
def buffered(settings):
    import os

    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1").rsplit("/", 1)[0] + "/6"
    settings.RECEIPTS_BUFFER_URL = url
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.mark.redis
def test_buffered_callbacks_are_applied_by_the_drain(
    client, delivery, twilio_provider, buffered, django_capture_on_commit_callbacks
):
    import redis

    from notices.receipts import DRAIN_SCHEDULED, drain_receipts

    # A drain is already scheduled this second: the receipt waits in the buffer.
    redis.Redis.from_url(buffered).set(DRAIN_SCHEDULED, 1, ex=60)
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    assert post_callback(client, delivery.reference, params).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == "sent"  # queued, not yet applied
    assert drain_receipts() == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert drain_receipts() == 0


def test_a_batch_of_receipts_moves_each_delivery_to_its_furthest_state(
    delivery, campaign, audience
):
    from notices.receipts import apply_receipts

    other = Delivery.objects.create(
        campaign=campaign,
        customer=audience["sms_only"],
        channel="sms",
        to="+61411000001",
        status="sent",
        reference="OTHERREF2345",
        provider="primary",
    )
    apply_receipts(
        [
            {
                "reference": delivery.reference,
                "provider": "primary",
                "provider_status": "delivered",
                "status": "delivered",
                "provider_id": "SM1",
                "error": "",
            },
            {
                "reference": delivery.reference,
                "provider": "primary",
                "provider_status": "sent",
                "status": "sent",
                "provider_id": "SM1",
                "error": "",
            },
            {
                "reference": delivery.reference,
                "provider": "primary",
                "provider_status": "sent",
                "status": "sent",
                "provider_id": "SM1",
                "error": "",
            },
            {
                "reference": other.reference,
                "provider": "primary",
                "provider_status": "undelivered",
                "status": "failed",
                "provider_id": "SM2",
                "error": "30003",
            },
        ]
    )
    delivery.refresh_from_db()
    other.refresh_from_db()
    assert delivery.status == "delivered"
    assert delivery.events.filter(source="callback").count() == 2
    assert (other.status, other.fallback_pending, other.last_error) == ("failed", True, "30003")


def test_a_receipt_with_an_overlong_provider_id_is_recorded_cut_not_an_error(delivery):
    """A provider's id longer than the column is cut: on PostgreSQL it would fail the
    statement (a buffered batch of receipts, all of them, again at every drain)."""
    from notices.receipts import apply_receipts

    Delivery.objects.filter(pk=delivery.pk).update(provider_id="")
    receipt = {
        "reference": delivery.reference,
        "provider": "primary",
        "provider_status": "delivered",
        "status": "delivered",
        "provider_id": "X" * 300,
        "error": "",
    }
    apply_receipts([receipt])
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.provider_id == "X" * 255


def _failed_by_the_sweep(delivery, *, in_doubt: bool) -> None:
    """As the sweep leaves a delivery whose workers died on every attempt: failed,
    in doubt when an attempt may have reached the provider (then no fall-back)."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status="failed", in_doubt=in_doubt, fallback_pending=not in_doubt, delivered_at=None
    )


DELIVERED = {"provider": "primary", "provider_status": "delivered", "status": "delivered"}


@pytest.mark.parametrize("batched", [False, True], ids=["one", "batch"])
def test_a_delivery_failed_in_doubt_that_the_provider_delivered_becomes_delivered(
    delivery, batched
):
    """The sweep failed it as "may have been sent"; the provider's receipt says the
    customer got it. Left failed, the customer would count as never reached."""
    from notices.receipts import apply_receipts

    _failed_by_the_sweep(delivery, in_doubt=True)
    receipt = {"reference": delivery.reference, "provider_id": "SM1", "error": "", **DELIVERED}
    if batched:
        apply_receipts([receipt])
    else:
        apply_receipt(**receipt)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.fallback_pending) == ("delivered", False)
    assert delivery.delivered_at is not None


@pytest.mark.parametrize("batched", [False, True], ids=["one", "batch"])
@pytest.mark.parametrize(
    "in_doubt, provider_status, status",
    [(False, "delivered", "delivered"), (True, "sent", "sent"), (True, "undelivered", "failed")],
    ids=["failed-not-in-doubt", "in-doubt-sent", "in-doubt-undelivered"],
)
def test_other_failed_deliveries_stay_failed_whatever_the_receipt(
    delivery, batched, in_doubt, provider_status, status
):
    from notices.receipts import apply_receipts

    _failed_by_the_sweep(delivery, in_doubt=in_doubt)
    receipt = {
        "reference": delivery.reference,
        "provider": "primary",
        "provider_status": provider_status,
        "status": status,
        "provider_id": "SM1",
        "error": "",
    }
    if batched:
        apply_receipts([receipt])
    else:
        apply_receipt(**receipt)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.fallback_pending) == ("failed", not in_doubt)
    assert delivery.delivered_at is None

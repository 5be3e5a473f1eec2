"""Email delivery reports through django-anymail: refused until a secret is set,
then only with it (a forged bounce would otherwise send a fall-back)."""

from __future__ import annotations

import base64
import json

import pytest

from notices.models import Delivery

pytestmark = pytest.mark.django_db
URL = "/webhooks/email/postmark/tracking/"


@pytest.fixture
def email(campaign, audience):
    return Delivery.objects.create(
        campaign=campaign,
        customer=audience["email_only"],
        channel="email",
        to="e1@example.com",
        status="sent",
        reference="EMAILREF2345",
    )


def bounce(reference: str) -> str:
    return json.dumps(
        {
            "RecordType": "Bounce",
            "Type": "HardBounce",
            "TypeCode": 1,
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Email": "e1@example.com",
            "BouncedAt": "2026-12-07T10:00:00Z",
            "Description": "The server was unable to deliver your message",
            "Metadata": {"reference": reference},
        }
    )


def post(client, body, auth: str | None = None):
    headers = {}
    if auth is not None:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return client.post(URL, body, content_type="application/json", **headers)


def test_without_a_secret_the_webhooks_are_not_there(client, email, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": []}
    assert post(client, bounce(email.reference)).status_code == 404
    email.refresh_from_db()
    assert email.status == "sent" and not email.fallback_pending


def test_with_a_secret_an_unsigned_or_wrongly_signed_report_is_refused(client, email, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": ["hooks:s3cret-value"]}
    assert post(client, bounce(email.reference)).status_code == 400
    assert post(client, bounce(email.reference), "hooks:guess").status_code == 400
    email.refresh_from_db()
    assert email.status == "sent"


def test_a_report_with_the_secret_moves_the_delivery(client, email, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": ["old:rotating-out", "hooks:s3cret-value"]}
    assert post(client, bounce(email.reference), "hooks:s3cret-value").status_code == 200
    email.refresh_from_db()
    assert email.status == "failed" and email.fallback_pending


def test_inbound_mail_webhooks_are_not_mounted(client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": ["hooks:s3cret-value"]}
    response = client.post(
        "/webhooks/email/postmark/inbound/",
        "{}",
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"hooks:s3cret-value").decode(),
    )
    assert response.status_code == 404

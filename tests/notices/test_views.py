from __future__ import annotations

import pytest
from django.urls import reverse

from notices.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_to_alice_and_bob(campaign, alice, bob):
    for customer, ref in [(alice, "ALICEREF2345"), (bob, "BOBREF234567")]:
        Delivery.objects.create(
            campaign=campaign,
            customer=customer,
            channel="inapp",
            status="delivered",
            reference=ref,
            subject="Your data",
            body=f"Message for {customer.first_name}",
            sent_at="2026-11-01T10:00Z",
        )


def test_messages_page_lists_my_messages_with_references(client, alice, sent_to_alice_and_bob):
    client.force_login(alice.user)
    html = client.get(reverse("notices:messages")).content.decode()
    assert "ALIC-EREF-2345" in html and "Message for Alice" in html


def test_customer_cannot_see_another_customers_messages(client, alice, sent_to_alice_and_bob):
    client.force_login(alice.user)
    html = client.get(reverse("notices:messages")).content.decode()
    assert "BOBR-EF23-4567" not in html and "Message for Bob" not in html


def test_a_message_is_marked_in_the_language_it_was_written_in(
    client, alice, sent_to_alice_and_bob, settings
):
    # Sent in English, read on the French page: screen readers must read it in English.
    client.force_login(alice.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = client.get(reverse("notices:messages")).content.decode()
    assert '<html lang="fr">' in html
    assert 'class="message-title" lang="en">Your data</h2>' in html
    assert '<div class="message-body" lang="en"><p>Message for Alice</p></div>' in html


def test_messages_page_needs_a_login(client):
    assert client.get(reverse("notices:messages")).status_code == 302


def test_pending_messages_are_not_shown(client, alice, campaign):
    Delivery.objects.create(campaign=campaign, customer=alice, channel="sms", status="pending")
    client.force_login(alice.user)
    html = client.get(reverse("notices:messages")).content.decode()
    # Only alerts are listed: a customer who got sign-in codes must not read "no messages".
    assert "We have not sent you any alerts. Sign-in and confirmation codes are not" in html


def test_outbox_is_not_for_customers(client, alice):
    client.force_login(alice.user)
    assert client.get(reverse("notices:outbox")).status_code == 302

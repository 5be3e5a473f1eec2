"""Several SMS providers: one that keeps failing is set aside for the next."""

from __future__ import annotations

import pytest

from notices import channels, dispatch, services
from notices.models import Campaign, Delivery
from notices.planning import plan_chunk
from tests.notices import backends

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_providers(settings):
    backends.reset()
    settings.SMS_PROVIDERS = backends.FAILOVER
    settings.PROVIDER_FAILURE_THRESHOLD = 2
    settings.DELIVERY_RETRY_BASE = 0
    yield
    backends.reset()


def test_choose_provider_prefers_the_first_until_its_circuit_opens(two_providers):
    assert channels.choose_provider("sms") == "primary"
    channels.record_provider_health("sms", "primary", failures=1, successes=0)
    assert channels.choose_provider("sms") == "primary"
    channels.record_provider_health("sms", "primary", failures=1, successes=0)
    assert channels.choose_provider("sms") == "backup"


def test_successes_reset_the_failure_count(two_providers):
    channels.record_provider_health("sms", "primary", failures=1, successes=0)
    channels.record_provider_health("sms", "primary", failures=0, successes=5)
    channels.record_provider_health("sms", "primary", failures=1, successes=0)
    assert channels.choose_provider("sms") == "primary"


def test_traffic_moves_to_the_backup_during_an_outage(two_providers, campaign, lead):
    services.campaign_approve(campaign=campaign, by=lead)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    while not plan_chunk(campaign, 100):
        pass
    for _ in range(10):
        Delivery.objects.filter(campaign=campaign, status="pending").update(next_attempt_at=None)
        dispatch.dispatch_batch(campaign.pk, batch_size=100)
    sms = Delivery.objects.filter(campaign=campaign, channel="sms")
    assert {d.status for d in sms} == {"sent"}
    assert {d.provider for d in sms} == {"backup"}
    assert sorted(m.to for m in backends.accepted) == sorted(d.to for d in sms)


def test_a_provider_refusing_our_account_is_set_aside_at_once(settings, campaign, lead):
    """Its batch stops at the first refusal, one failure a batch: counted like a
    transient error it would never reach the threshold, and every text would
    wait for the refused account while the backup is idle."""
    backends.reset()
    settings.SMS_PROVIDERS = backends.REFUSED_PRIMARY
    settings.PROVIDER_FAILURE_THRESHOLD = 20
    services.campaign_approve(campaign=campaign, by=lead)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    while not plan_chunk(campaign, 100):
        pass
    dispatch.dispatch_batch(campaign.pk, batch_size=100)
    sms = Delivery.objects.filter(campaign=campaign, channel="sms")
    assert {(d.status, d.attempts) for d in sms} == {("pending", 0)}
    assert channels.choose_provider("sms") == "backup"
    sms.update(next_attempt_at=None)
    dispatch.dispatch_batch(campaign.pk, batch_size=100)
    assert {(d.status, d.provider) for d in sms} == {("sent", "backup")}
    assert sorted(m.to for m in backends.accepted) == sorted(d.to for d in sms)
    backends.reset()


@pytest.fixture
def two_accounts(settings):
    backends.reset()
    settings.SMS_PROVIDERS = backends.TWO_ACCOUNTS
    settings.PROVIDER_FAILURE_THRESHOLD = 1
    settings.DELIVERY_RETRY_BASE = 0
    yield backends
    backends.reset()


def test_a_message_in_doubt_is_looked_up_where_it_was_sent_not_sent_again_elsewhere(
    two_accounts, campaign, lead, audience
):
    """The primary took the text but its answer was lost, and the failures set it
    aside: the retry asks the primary, and does not send a second copy by the backup."""
    services.campaign_approve(campaign=campaign, by=lead)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    while not plan_chunk(campaign, 100):
        pass
    number = audience["sms_only"].phone
    two_accounts.script[number] = ["lost"]
    dispatch.dispatch_batch(campaign.pk, batch_size=100)
    assert channels.choose_provider("sms") == "backup"  # the lost answer opened the circuit
    delivery = Delivery.objects.get(campaign=campaign, customer=audience["sms_only"])
    assert (delivery.status, delivery.in_doubt, delivery.provider) == ("pending", True, "primary")

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    dispatch.dispatch_batch(campaign.pk, batch_size=100)

    delivery.refresh_from_db()
    copies = [m for sent in two_accounts.by_account.values() for m in sent if m.to == number]
    assert len(copies) == 1
    assert two_accounts.lookups == [f"primary:{delivery.reference}"]
    # Its receipts still come from, and are matched to, the provider that has it.
    assert (delivery.status, delivery.provider, delivery.provider_id) == (
        "sent",
        "primary",
        "primary-1",
    )

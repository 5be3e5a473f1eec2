from __future__ import annotations

import pytest

from notices import dispatch, selectors
from notices.models import Campaign
from notices.planning import plan_chunk
from notices.services import campaign_create

pytestmark = pytest.mark.django_db


def test_coverage_counts_each_channel_at_least_one_and_none(campaign, audience):
    coverage = selectors.campaign_coverage(campaign)
    assert coverage.audience == 6
    assert coverage.by_channel["sms"] == 4
    assert coverage.by_channel["email"] == 4
    assert coverage.reachable == 5
    assert coverage.unreachable == 1


def test_coverage_follows_the_audience_filter(incident, comms, audience):
    passport = campaign_create(
        incident=incident, channels=["sms"], by=comms, data_classes=["passport_number"]
    )
    coverage = selectors.campaign_coverage(passport)
    assert (coverage.audience, coverage.reachable) == (1, 1)


def test_unreachable_customers_are_listed_for_letters(campaign, audience):
    rows = list(selectors.unreachable_customers(campaign))
    assert [r[0] for r in rows] == [audience["unreachable"].customer_ref]


def test_progress_counts_by_status_and_channel(campaign, lead):
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    while not plan_chunk(campaign, 100):
        pass
    dispatch.dispatch_batch(campaign.pk, batch_size=2)
    progress = selectors.campaign_progress(campaign)
    assert progress.total == 5
    assert progress.counts["sent"] == 2 and progress.counts["pending"] == 3
    assert sum(progress.by_channel["sms"].values()) == 3
    assert progress.done == 2 and progress.percent == 40


def test_messages_for_customer_lists_only_their_handed_over_messages(campaign, audience):
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    while not plan_chunk(campaign, 100):
        pass
    while dispatch.dispatch_batch(campaign.pk).claimed:
        pass
    mine = list(selectors.messages_for_customer(audience["both"]))
    assert [m.channel for m in mine] == ["sms"]
    assert list(selectors.messages_for_customer(audience["unreachable"])) == []

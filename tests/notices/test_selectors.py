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


def _sent(campaign, customer, at):
    from notices.models import Delivery
    from notices.references import new_reference

    Delivery.objects.create(
        campaign=campaign,
        customer=customer,
        channel="sms",
        to=customer.phone or "+61400000000",
        status="sent",
        reference=new_reference(),
        sent_at=at,
    )


def test_the_public_heard_at_the_announcement_when_it_came_before_the_notice(
    incident, campaign, audience
):
    """Direct first counts against the earlier of the press release and the
    first public notice."""
    from datetime import timedelta

    from django.utils import timezone

    from notices.models import Notice

    now = timezone.now()
    incident.announced_at = now - timedelta(hours=2)
    incident.save()
    _sent(campaign, audience["sms_only"], now - timedelta(hours=3))  # before the press
    _sent(campaign, audience["both"], now - timedelta(hours=1))  # after the press
    Notice.objects.create(
        incident=incident,
        slug="public",
        audience="public",
        title="t",
        title_fr="t",
        summary="s",
        summary_fr="s",
        body="b",
        body_fr="b",
        status="published",
        published_at=now,
    )
    timeline = selectors.incident_timeline_live(incident)
    assert timeline.public_heard_at == incident.announced_at
    assert timeline.heard_before_public == 1


def test_the_public_heard_at_the_notice_when_it_came_before_the_announcement(
    incident, campaign, audience
):
    from datetime import timedelta

    from django.utils import timezone

    from notices.models import Notice

    now = timezone.now()
    incident.announced_at = now
    incident.save()
    _sent(campaign, audience["sms_only"], now - timedelta(hours=3))
    _sent(campaign, audience["both"], now - timedelta(hours=1))
    Notice.objects.create(
        incident=incident,
        slug="public",
        audience="public",
        title="t",
        title_fr="t",
        summary="s",
        summary_fr="s",
        body="b",
        body_fr="b",
        status="published",
        published_at=now - timedelta(hours=2),
    )
    timeline = selectors.incident_timeline_live(incident)
    assert timeline.public_heard_at == now - timedelta(hours=2)
    assert timeline.heard_before_public == 1


def test_direct_first_is_not_met_when_nobody_is_reachable(incident):
    from customers.masking import mask_value
    from tests.factories import CustomerFactory, ExposureFactory

    ExposureFactory(
        incident=incident,
        customer=CustomerFactory(email="", phone=""),
        fields={"name": mask_value("name", "A B")},
    )
    status = selectors.direct_first_status_live(incident)
    assert status.reachable == 0
    assert status.share == 0.0 and not status.met and not status.allows_public_notice


def test_unreachable_customers_are_read_a_chunk_a_query(campaign, audience, incident):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers.masking import mask_value
    from tests.factories import CustomerFactory, ExposureFactory

    more = [CustomerFactory(email="", phone="") for _ in range(4)]
    for customer in more:
        fields = {"name": mask_value("name", "A B")}
        ExposureFactory(incident=incident, customer=customer, fields=fields)
    with CaptureQueriesContext(connection) as queries:
        rows = list(selectors.unreachable_customers(campaign, chunk_size=2))
    expected = [audience["unreachable"], *more]
    assert [r[0] for r in rows] == [c.customer_ref for c in expected]
    assert len(rows[0]) == 5
    # Five rows in chunks of two: three queries, none of them for everything.
    assert len([q for q in queries if "LIMIT" in q["sql"]]) == 3

from __future__ import annotations

import pytest

from notices.models import Delivery
from notices.planning import plan_chunk
from notices.services import campaign_create

pytestmark = pytest.mark.django_db


def plan_all(campaign, size=2):
    while not plan_chunk(campaign, size):
        pass


def test_one_delivery_per_reachable_customer_on_their_best_channel(campaign, audience):
    plan_all(campaign)
    planned = {d.customer_id: (d.channel, d.to) for d in Delivery.objects.filter(campaign=campaign)}
    assert planned == {
        audience["sms_only"].pk: ("sms", "+61411000001"),
        audience["email_only"].pk: ("email", "e1@example.com"),
        audience["both"].pk: ("sms", "+61411000003"),
        # The customer's preferred channel comes first when the campaign uses it.
        audience["prefers_email"].pk: ("email", "p1@example.com"),
        audience["former_passport"].pk: ("sms", "+61411000005"),
    }
    assert all(d.status == "pending" and d.reference is None for d in Delivery.objects.all())


def test_planning_again_changes_nothing(campaign):
    plan_all(campaign)
    before = list(Delivery.objects.order_by("id").values_list("id", "customer_id", "channel"))
    campaign.planned_through = 0
    plan_all(campaign, size=100)
    assert (
        list(Delivery.objects.order_by("id").values_list("id", "customer_id", "channel")) == before
    )


def test_audience_narrowed_by_data_class_and_customer_status(incident, comms, audience):
    passport = campaign_create(
        incident=incident, channels=["email"], by=comms, data_classes=["passport_number"]
    )
    plan_all(passport)
    assert list(
        Delivery.objects.filter(campaign=passport).values_list("customer_id", flat=True)
    ) == [audience["former_passport"].pk]
    current = campaign_create(
        incident=incident, channels=["email"], by=comms, customer_status="current"
    )
    plan_all(current)
    planned = set(Delivery.objects.filter(campaign=current).values_list("customer_id", flat=True))
    assert audience["former_passport"].pk not in planned
    assert audience["email_only"].pk in planned


def test_chunks_advance_the_cursor_until_done(campaign):
    assert plan_chunk(campaign, 2) is False
    assert campaign.planned_through > 0
    plan_all(campaign)
    campaign.refresh_from_db()
    assert campaign.planning_done


def test_a_chunk_planned_while_the_campaign_is_cancelled_is_skipped_not_left_pending(
    campaign, lead, monkeypatch
):
    """The cancel skips the rows pending when it commits; a chunk being planned
    then commits its rows after it. They would stay pending for good (never sent,
    but counted as waiting in every report): they are skipped like the others."""
    from notices import planning, tasks
    from notices.models import Campaign, Delivery
    from notices.services import campaign_approve, campaign_cancel

    campaign_approve(campaign=campaign, by=lead)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    real_bound = planning.chunk_upper_bound

    def cancelled_meanwhile(*args, **kwargs):
        campaign_cancel(campaign=Campaign.objects.get(pk=campaign.pk), by=lead)
        return real_bound(*args, **kwargs)

    monkeypatch.setattr(planning, "chunk_upper_bound", cancelled_meanwhile)
    tasks.campaign_plan(campaign.pk)
    statuses = set(Delivery.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert statuses == {"skipped"}

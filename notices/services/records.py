"""The breach record: figures frozen before retention removes per-customer rows."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from customers.models import Incident
from notices import selectors
from notices.models import Campaign, CampaignRecord, IncidentRecord


def incident_record_take(*, incident: Incident) -> IncidentRecord:
    """Freeze the incident's reach figures, and each campaign's coverage and
    delivery counts, from the rows as they are now.

    Idempotent: an existing record is kept as it is (it was taken before any
    row was removed); only a campaign without a record yet gets one.
    """
    with transaction.atomic():
        # One taker at a time: two retention runs must not both count.
        Incident.objects.select_for_update().filter(pk=incident.pk).first()
        now = timezone.now()
        record = IncidentRecord.objects.filter(incident=incident).first()
        if record is None:
            timeline = selectors.incident_timeline_live(incident)
            record = IncidentRecord.objects.create(
                incident=incident,
                affected=timeline.affected,
                by_data_class=timeline.by_data_class,
                reachable=timeline.reachable,
                handed_over=timeline.direct_first.handed_over,
                threshold=timeline.direct_first.threshold,
                heard_before_public=timeline.heard_before_public,
                first_direct_at=timeline.first_direct_at,
                threshold_reached_at=timeline.threshold_reached_at,
                recorded_at=now,
            )
        for campaign in Campaign.objects.filter(incident=incident, record__isnull=True):
            coverage = selectors.campaign_coverage_live(campaign)
            CampaignRecord.objects.create(
                campaign=campaign,
                audience=coverage.audience,
                reachable=coverage.reachable,
                reach_by_channel=coverage.by_channel,
                deliveries=selectors.campaign_delivery_counts_live(campaign),
                recorded_at=now,
            )
    # The admin keeps the timeline for a few seconds; show the record from now on.
    cache.delete(f"incident-timeline:{incident.pk}")
    return record

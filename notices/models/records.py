"""The breach record: the figures kept after retention removes per-customer rows.

A regulator expects the record of a breach to outlive the personal data in it
(how many were affected, which kinds of data, how many heard from us and when).
Retention (portal/retention.py) takes these once, before it removes the first
exposure or delivery of a closed incident; from then on the reports read them
instead of counting rows (notices/selectors.py).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Incident
from notices.models.campaigns import Campaign


class IncidentRecord(models.Model):
    # PROTECT: the breach record must not disappear with its incident.
    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="record")
    affected = models.BigIntegerField()
    # Data-class code -> affected customers with that class exposed.
    by_data_class = models.JSONField(default=dict)
    reachable = models.BigIntegerField()
    handed_over = models.BigIntegerField()
    threshold = models.FloatField()
    heard_before_public = models.BigIntegerField()
    first_direct_at = models.DateTimeField(null=True)
    threshold_reached_at = models.DateTimeField(null=True)
    recorded_at = models.DateTimeField()
    # When the last exposure and delivery of the incident were removed.
    rows_removed_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("incident record")
        verbose_name_plural = _("incident records")

    def __str__(self) -> str:
        return f"record of incident {self.incident_id}"


class CampaignRecord(models.Model):
    campaign = models.OneToOneField(Campaign, on_delete=models.PROTECT, related_name="record")
    # Audience coverage, as the review page showed it.
    audience = models.BigIntegerField()
    reachable = models.BigIntegerField()
    reach_by_channel = models.JSONField(default=dict)  # channel -> customers
    # Deliveries per channel and status: {"sms": {"sent": 12, "failed": 1, …}, …}
    deliveries = models.JSONField(default=dict)
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("campaign record")
        verbose_name_plural = _("campaign records")

    def __str__(self) -> str:
        return f"record of campaign {self.campaign_id}"

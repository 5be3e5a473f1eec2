"""What the database and the broker say about the sending pipeline.

Read at scrape time (``exposition``) and by the admin's pipeline page. Every
query is bounded at ten million deliveries: grouped counts walk the
``delivery_counts`` index of recent campaigns only, stuck rows come from the
partial ``delivery_in_doubt`` index, and the last hour of delivery events is
found by primary key, not by a scan of their timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from kombu import Connection
from kombu.exceptions import ChannelError

# Campaigns that finished longer ago than this leave the delivery counts.
RECENT_CAMPAIGN_DAYS = 7


# --- broker ---------------------------------------------------------------------


def queue_depths(timeout: float = 2.0) -> dict[str, int] | None:
    """Messages waiting in each queue of CELERY_QUEUES_ALL; None when the broker
    cannot be reached.

    A passive queue_declare asks each transport in its own way: AMQP answers
    with the queue's message count, kombu's Redis transport adds up the LLEN of
    the queue's list and its priority lists, the file broker counts the
    queue's message files.
    """
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    depths: dict[str, int] = {}
    try:
        with Connection(
            settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=timeout
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            channel = conn.channel()
            for name in settings.CELERY_QUEUES_ALL:
                try:
                    depths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except (ChannelError, *conn.channel_errors):
                    depths[name] = 0  # never declared, or (Redis) empty
                    channel = conn.channel()  # AMQP closes a channel after an error
    except Exception:
        return None
    return depths


# --- deliveries and campaigns ---------------------------------------------------


def recent_campaigns():
    from notices.models import Campaign

    since = timezone.now() - timedelta(days=RECENT_CAMPAIGN_DAYS)
    return Campaign.objects.filter(
        Q(status__in=[Campaign.Status.SENDING, Campaign.Status.PAUSED]) | Q(completed_at__gte=since)
    )


def delivery_counts() -> list[tuple[int, str, str, int]]:
    """(campaign id, channel, status, deliveries) of campaigns sending, paused or
    finished within RECENT_CAMPAIGN_DAYS: one GROUP BY over an index."""
    from notices.models import Delivery

    # The ids as values, not a subquery: the index is then read only for them.
    campaign_ids = list(recent_campaigns().values_list("pk", flat=True))
    return list(
        Delivery.objects.filter(campaign_id__in=campaign_ids)
        .values_list("campaign_id", "channel", "status")
        .annotate(n=Count("*"))
        .order_by()
    )


def campaign_counts() -> dict[str, int]:
    from notices.models import Campaign

    return dict(Campaign.objects.values_list("status").annotate(n=Count("*")).order_by())


@dataclass(frozen=True)
class LeftSending:
    count: int
    oldest: datetime | None


def deliveries_left_sending() -> LeftSending:
    """Claimed longer than DELIVERY_IN_DOUBT_AFTER ago and never reported back:
    their worker died; the sweep will mark them in doubt."""
    from notices.models import Delivery, DeliveryStatus

    cutoff = timezone.now() - timedelta(seconds=settings.DELIVERY_IN_DOUBT_AFTER)
    found = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff).aggregate(
        count=Count("*"), oldest=Min("claimed_at")
    )
    return LeftSending(found["count"], found["oldest"])


@dataclass(frozen=True)
class Stalled:
    campaign_id: int
    name: str
    heartbeat: datetime
    pending: int


def stalled_campaigns() -> list[Stalled]:
    """Sending campaigns no dispatcher has worked on lately (as the sweep sees it)."""
    from notices.models import Campaign, Delivery, DeliveryStatus

    stale = timezone.now() - timedelta(seconds=max(60, settings.DISPATCH_TASK_SECONDS * 2))
    stalled = []
    for campaign in Campaign.objects.filter(status=Campaign.Status.SENDING):
        heartbeat = max(filter(None, [campaign.dispatched_at, campaign.updated_at]))
        if heartbeat < stale:
            pending = Delivery.objects.filter(
                campaign=campaign, status=DeliveryStatus.PENDING
            ).count()
            stalled.append(Stalled(campaign.pk, campaign.name, heartbeat, pending))
    return stalled


# --- the last hour of delivery events -------------------------------------------


def first_event_id_since(since: datetime) -> int | None:
    """The id of the first delivery event at or after ``since``.

    Events are appended with increasing ids and timestamps, so a binary search
    by primary key finds the boundary in ~30 index lookups, where a filter on
    the (unindexed) timestamp would read the whole table.
    """
    from notices.models import DeliveryEvent

    events = DeliveryEvent.objects.order_by("id").values_list("id", "created_at")
    last = events.last()
    if last is None or last[1] < since:
        return None
    low, high = events.first()[0], last[0]
    while low < high:
        middle = (low + high) // 2
        found_id, created_at = events.filter(id__gte=middle).first()
        if created_at >= since:
            high = middle
        else:
            low = found_id + 1
    return events.filter(id__gte=low).first()[0]


@dataclass
class ProviderErrors:
    channel: str
    provider: str
    sent: int = 0
    retried: int = 0  # transient errors, tried again later
    failed: int = 0  # permanent errors, or retries exhausted

    @property
    def attempts(self) -> int:
        return self.sent + self.retried + self.failed

    @property
    def error_rate(self) -> float:
        return (self.retried + self.failed) / self.attempts if self.attempts else 0.0


def provider_errors(first_event_id: int | None) -> list[ProviderErrors]:
    """Send outcomes by channel and provider, from the dispatch events since
    ``first_event_id``: sent, retried (a transient error) or failed."""
    from notices.models import DeliveryEvent, DeliveryStatus

    if first_event_id is None:
        return []
    rows = (
        DeliveryEvent.objects.filter(id__gte=first_event_id, source=DeliveryEvent.Source.DISPATCH)
        # Fall-back bookkeeping is not a provider's answer.
        .exclude(detail__startswith="falling back")
        .values_list("delivery__channel", "delivery__provider", "status")
        .annotate(n=Count("*"))
        .order_by()
    )
    outcome = {
        DeliveryStatus.SENT: "sent",
        DeliveryStatus.DELIVERED: "sent",
        DeliveryStatus.PENDING: "retried",
        DeliveryStatus.FAILED: "failed",
    }
    table: dict[tuple[str, str], ProviderErrors] = {}
    for channel, provider, status, n in rows:
        if status in outcome:
            row = table.setdefault((channel, provider), ProviderErrors(channel, provider))
            setattr(row, outcome[status], getattr(row, outcome[status]) + n)
    return sorted(table.values(), key=lambda r: (r.channel, r.provider))


def marked_in_doubt(first_event_id: int | None) -> int:
    """Deliveries the sweep found left by a dead worker since ``first_event_id``."""
    from notices.models import DeliveryEvent
    from notices.services.campaigns import SWEPT_IN_DOUBT

    if first_event_id is None:
        return 0
    # Not those only claimed, put back to pending: no provider is asked about them.
    return DeliveryEvent.objects.filter(
        id__gte=first_event_id,
        source=DeliveryEvent.Source.SWEEP,
        detail__startswith=SWEPT_IN_DOUBT,
    ).count()


# --- imports ------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveImport:
    job_id: int
    kind: str
    status: str
    bytes_read: int
    bytes_total: int


def import_jobs() -> tuple[dict[str, int], list[ActiveImport]]:
    """Imports by status, and the progress of those queued or running."""
    from customers.import_jobs import import_job_progress
    from customers.models import ImportJob

    counts = dict(ImportJob.objects.values_list("status").annotate(n=Count("*")).order_by())
    active = [
        ActiveImport(job.pk, job.kind, job.status, import_job_progress(job), job.bytes_total)
        for job in ImportJob.objects.filter(
            status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
        ).order_by("pk")[:100]
    ]
    return counts, active

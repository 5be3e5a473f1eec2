"""Queries that read: audience coverage, sending progress, a customer's messages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import Count

from customers.models import Customer
from notices.audience import CAMPAIGN_CHANNELS, Audience, reachable_sql
from notices.models import HANDED_OVER_STATUSES, Campaign, Delivery, DeliveryStatus


@dataclass(frozen=True)
class Coverage:
    audience: int
    by_channel: dict[str, int]
    reachable: int  # by at least one of the campaign's channels

    @property
    def unreachable(self) -> int:
        return self.audience - self.reachable


def campaign_coverage(campaign: Campaign) -> Coverage:
    """Audience size and how many each channel reaches: one aggregate query."""
    where, params = Audience.of(campaign).where()
    any_of = " OR ".join(f"({reachable_sql(ch)})" for ch in campaign.channels) or "FALSE"
    sums = ", ".join(
        f"SUM(CASE WHEN {reachable_sql(ch)} THEN 1 ELSE 0 END)" for ch in CAMPAIGN_CHANNELS
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), {sums}, SUM(CASE WHEN {any_of} THEN 1 ELSE 0 END) {where}",
            params,
        )
        row = [int(v or 0) for v in cursor.fetchone()]
    return Coverage(
        audience=row[0],
        by_channel=dict(zip(CAMPAIGN_CHANNELS, row[1:-1], strict=True)),
        reachable=row[-1],
    )


def unreachable_customers(campaign: Campaign) -> Iterator[tuple]:
    """Audience members no channel of the campaign reaches: for postal letters."""
    where, params = Audience.of(campaign).where()
    none_of = " AND ".join(f"NOT ({reachable_sql(ch)})" for ch in campaign.channels)
    sql = (
        f"SELECT c.customer_ref, c.first_name, c.last_name, c.is_current, c.preferred_language "
        f"{where} AND {none_of} ORDER BY c.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(2000):
            yield from rows


@dataclass
class Progress:
    counts: dict[str, int]
    by_channel: dict[str, dict[str, int]]
    total: int
    done: int
    handed_over: int
    rate: float | None = None  # messages handed over per second, recently
    eta_seconds: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


_OPEN = {DeliveryStatus.PENDING, DeliveryStatus.SENDING}


def campaign_progress(campaign: Campaign) -> Progress:
    """Counts by status and channel (one GROUP BY on an index), the send rate
    over the last snapshots and the time left. Cached for two seconds so many
    staff watching the same page cost one query."""
    key = f"campaign-progress:{campaign.pk}"
    cached = cache.get(key)
    if cached is None:
        rows = (
            Delivery.objects.filter(campaign=campaign)
            .values_list("status", "channel")
            .annotate(n=Count("id"))
            .order_by()
        )
        counts: dict[str, int] = dict.fromkeys(DeliveryStatus.values, 0)
        by_channel: dict[str, dict[str, int]] = {}
        for status, channel, n in rows:
            counts[status] += n
            by_channel.setdefault(channel, dict.fromkeys(DeliveryStatus.values, 0))[status] = n
        cached = (counts, by_channel, time.time())
        cache.set(key, cached, 2)
    counts, by_channel, at = cached
    total = sum(counts.values())
    handed_over = sum(counts[s] for s in HANDED_OVER_STATUSES)
    done = total - sum(counts[s] for s in _OPEN)
    progress = Progress(counts, by_channel, total, done, handed_over)
    _add_rate(campaign, progress, at)
    return progress


def _add_rate(campaign: Campaign, progress: Progress, at: float) -> None:
    """Rate from snapshots of the handed-over count kept in the cache (~30 s)."""
    key = f"campaign-rate:{campaign.pk}"
    snapshots = [s for s in (cache.get(key) or []) if at - s[0] <= 30]
    if not snapshots or snapshots[-1][0] != at:
        snapshots.append((at, progress.done))
    cache.set(key, snapshots[-20:], 120)
    first, last = snapshots[0], snapshots[-1]
    if last[0] - first[0] >= 1:
        progress.rate = (last[1] - first[1]) / (last[0] - first[0])
        remaining = progress.total - progress.done
        if progress.rate > 0 and campaign.status == Campaign.Status.SENDING:
            progress.eta_seconds = remaining / progress.rate


def messages_for_customer(customer: Customer):
    """Everything we sent this customer, on any channel, newest first."""
    return (
        Delivery.objects.filter(
            customer=customer,
            status__in=[
                DeliveryStatus.SENT,
                DeliveryStatus.DELIVERED,
                DeliveryStatus.FAILED,
                DeliveryStatus.UNDELIVERABLE,
            ],
            reference__isnull=False,
        )
        .select_related("campaign__incident")
        .order_by("-sent_at", "-id")
    )

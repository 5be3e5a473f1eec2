"""Queries that read: audience coverage, sending progress, a customer's messages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce

from customers.models import Customer
from notices.audience import CAMPAIGN_CHANNELS, Audience, reachable_sql
from notices.models import (
    HANDED_OVER_STATUSES,
    Campaign,
    CampaignRecord,
    Delivery,
    DeliveryStatus,
    IncidentRecord,
)


@dataclass(frozen=True)
class Coverage:
    audience: int
    by_channel: dict[str, int]
    reachable: int  # by at least one of the campaign's channels
    # Set when the figures come from the campaign's record (retention removed the rows).
    recorded_at: object | None = None

    @property
    def unreachable(self) -> int:
        return self.audience - self.reachable


def campaign_coverage(campaign: Campaign) -> Coverage:
    """Audience size and how many each channel reaches: from the campaign's
    record once retention has taken it, else counted now."""
    record = CampaignRecord.objects.filter(campaign=campaign).first()
    if record is not None:
        return Coverage(
            audience=record.audience,
            by_channel=dict(record.reach_by_channel),
            reachable=record.reachable,
            recorded_at=record.recorded_at,
        )
    return campaign_coverage_live(campaign)


def campaign_coverage_live(campaign: Campaign) -> Coverage:
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


def unreachable_customers(campaign: Campaign, *, chunk_size: int = 2000) -> Iterator[tuple]:
    """Audience members no channel of the campaign reaches: for postal letters.

    One query a chunk, each after the last customer of the one before: without
    server-side cursors (settings) a single query's rows all arrive at once, and
    a million of them would sit in the web worker's memory.
    """
    where, params = Audience.of(campaign).where()
    none_of = " AND ".join(f"NOT ({reachable_sql(ch)})" for ch in campaign.channels)
    sql = (
        f"SELECT c.id, c.customer_ref, c.first_name, c.last_name, c.is_current, "
        f"c.preferred_language {where} AND {none_of} AND e.customer_id > %s "
        "ORDER BY e.customer_id LIMIT %s"
    )
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, after, chunk_size])
            rows = cursor.fetchall()
        for row in rows:
            yield row[1:]
        if len(rows) < chunk_size:
            return
        after = rows[-1][0]


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
        by_channel = campaign_delivery_counts(campaign)
        counts: dict[str, int] = dict.fromkeys(DeliveryStatus.values, 0)
        for per_status in by_channel.values():
            for status, n in per_status.items():
                counts[status] += n
        cached = (counts, by_channel, time.time())
        cache.set(key, cached, 2)
    counts, by_channel, at = cached
    total = sum(counts.values())
    handed_over = sum(counts[s] for s in HANDED_OVER_STATUSES)
    done = total - sum(counts[s] for s in _OPEN)
    progress = Progress(counts, by_channel, total, done, handed_over)
    _add_rate(campaign, progress, at)
    return progress


def campaign_delivery_counts(campaign: Campaign) -> dict[str, dict[str, int]]:
    """Deliveries per channel and status: from the campaign's record once
    retention has taken it, else counted now."""
    recorded = (
        CampaignRecord.objects.filter(campaign=campaign)
        .values_list("deliveries", flat=True)
        .first()
    )
    if recorded is not None:
        return {
            channel: {**dict.fromkeys(DeliveryStatus.values, 0), **per_status}
            for channel, per_status in recorded.items()
        }
    return campaign_delivery_counts_live(campaign)


def campaign_delivery_counts_live(campaign: Campaign) -> dict[str, dict[str, int]]:
    """One GROUP BY on an index."""
    rows = (
        Delivery.objects.filter(campaign=campaign)
        .values_list("status", "channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_channel: dict[str, dict[str, int]] = {}
    for status, channel, n in rows:
        by_channel.setdefault(channel, dict.fromkeys(DeliveryStatus.values, 0))[status] = n
    return by_channel


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


# --- direct first ---------------------------------------------------------------


@dataclass
class DirectFirst:
    """How far the direct alert for an incident has got, against the threshold."""

    reachable: int
    handed_over: int
    threshold: float
    override: object | None = None

    @property
    def share(self) -> float:
        # Nobody reachable is nobody told: 0%, never a vacuous 100%.
        return self.handed_over / self.reachable if self.reachable else 0.0

    @property
    def met(self) -> bool:
        return self.reachable > 0 and self.share >= self.threshold

    @property
    def allows_public_notice(self) -> bool:
        return self.met or self.override is not None


_HANDED_OVER = "('sent', 'delivered')"


def _override(incident):
    from notices.models import DirectFirstOverride

    return DirectFirstOverride.objects.filter(incident=incident).select_related("by").first()


def direct_first_status(incident) -> DirectFirst:
    """How far the direct alert got: from the incident's record once retention
    has taken it, else counted now."""
    record = IncidentRecord.objects.filter(incident=incident).first()
    if record is None:
        return direct_first_status_live(incident)
    return DirectFirst(
        reachable=record.reachable,
        handed_over=record.handed_over,
        threshold=record.threshold,
        override=_override(incident),
    )


def direct_first_status_live(incident) -> DirectFirst:
    """Affected customers reachable by some channel, and how many of them have
    had a direct message handed to a provider (or delivered in the portal)."""
    from django.conf import settings

    reachable_any = " OR ".join(f"({reachable_sql(ch)})" for ch in CAMPAIGN_CHANNELS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM customers_exposure e "
            "JOIN customers_customer c ON c.id = e.customer_id "
            f"WHERE e.incident_id = %s AND ({reachable_any})",
            [incident.pk],
        )
        reachable = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(DISTINCT d.customer_id) FROM notices_delivery d "
            "JOIN notices_campaign c ON c.id = d.campaign_id "
            f"WHERE c.incident_id = %s AND d.status IN {_HANDED_OVER}",
            [incident.pk],
        )
        handed_over = cursor.fetchone()[0]
    return DirectFirst(
        reachable=reachable,
        handed_over=handed_over,
        threshold=settings.DIRECT_FIRST_THRESHOLD,
        override=_override(incident),
    )


@dataclass
class IncidentTimeline:
    discovered_at: object
    first_direct_at: object | None
    threshold_reached_at: object | None
    public_notice_at: object | None
    # When the public heard: the earlier of the announcement (press release)
    # and the first published public notice.
    public_heard_at: object | None
    affected: int
    reachable: int
    heard_before_public: int
    direct_first: DirectFirst
    # Affected customers per exposed data class (code -> customers).
    by_data_class: dict[str, int] = field(default_factory=dict)
    # Set when the figures come from the incident's record (retention removed the rows).
    recorded_at: object | None = None

    @property
    def heard_first_share(self) -> float | None:
        return self.heard_before_public / self.affected if self.affected else None


def _as_datetime(value):
    """A timestamp from raw SQL: SQLite hands back text, PostgreSQL a datetime."""
    if isinstance(value, str):
        from django.utils.dateparse import parse_datetime

        return parse_datetime(value)
    return value


def _public_notice_at(incident):
    from notices.models import Notice

    return (
        Notice.objects.filter(incident=incident, audience=Notice.Audience.PUBLIC)
        .exclude(published_at=None)
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )


def _public_heard_at(incident, public_notice_at):
    known = [at for at in (incident.announced_at, public_notice_at) if at is not None]
    return min(known) if known else None


def incident_timeline(incident) -> IncidentTimeline:
    """The incident's timeline and reach: from its record once retention has
    taken it (the per-customer rows may be gone), else counted now."""
    record = IncidentRecord.objects.filter(incident=incident).first()
    if record is None:
        return incident_timeline_live(incident)
    return IncidentTimeline(
        discovered_at=incident.discovered_at,
        first_direct_at=record.first_direct_at,
        threshold_reached_at=record.threshold_reached_at,
        public_notice_at=(public_at := _public_notice_at(incident)),
        public_heard_at=_public_heard_at(incident, public_at),
        affected=record.affected,
        reachable=record.reachable,
        heard_before_public=record.heard_before_public,
        direct_first=DirectFirst(
            reachable=record.reachable,
            handed_over=record.handed_over,
            threshold=record.threshold,
            override=_override(incident),
        ),
        by_data_class=dict(record.by_data_class),
        recorded_at=record.recorded_at,
    )


def incident_timeline_live(incident) -> IncidentTimeline:
    """Discovery, first direct message, threshold reached, public notice, and how
    many affected customers heard from us before the public did."""
    import math

    from customers.models import Exposure
    from customers.selectors import exposure_counts_by_data_class

    status = direct_first_status_live(incident)
    notice_at = _public_notice_at(incident)
    public_at = _public_heard_at(incident, notice_at)
    first_contact = (
        "SELECT d.customer_id, min(d.sent_at) AS first_at FROM notices_delivery d "
        "JOIN notices_campaign c ON c.id = d.campaign_id "
        f"WHERE c.incident_id = %s AND d.status IN {_HANDED_OVER} AND d.sent_at IS NOT NULL "
        "GROUP BY d.customer_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(first_at) FROM ({first_contact}) f", [incident.pk])
        first_direct = _as_datetime(cursor.fetchone()[0])
        threshold_at = None
        if status.reachable:
            rank = max(1, math.ceil(status.threshold * status.reachable))
            cursor.execute(
                f"SELECT first_at FROM ({first_contact}) f ORDER BY first_at LIMIT 1 OFFSET %s",
                [incident.pk, rank - 1],
            )
            row = cursor.fetchone()
            threshold_at = _as_datetime(row[0]) if row else None
        cursor.execute(
            f"SELECT count(*) FROM ({first_contact}) f WHERE %s::timestamptz IS NULL "
            "OR f.first_at < %s::timestamptz"
            if connection.vendor == "postgresql"
            else f"SELECT count(*) FROM ({first_contact}) f WHERE %s IS NULL OR f.first_at < %s",
            [incident.pk, public_at, public_at],
        )
        heard_first = cursor.fetchone()[0]
    return IncidentTimeline(
        discovered_at=incident.discovered_at,
        first_direct_at=first_direct,
        threshold_reached_at=threshold_at,
        public_notice_at=notice_at,
        public_heard_at=public_at,
        affected=Exposure.objects.filter(incident=incident).count(),
        reachable=status.reachable,
        heard_before_public=heard_first,
        direct_first=status,
        by_data_class=exposure_counts_by_data_class(incident),
    )


# --- notices and verification ------------------------------------------------------


def notices_visible_to(customer) -> QuerySet:
    """Published notices this reader may see: public ones for everyone; for a
    customer also those for all customers and those for the affected of an
    incident that concerns them."""
    from django.db.models import Q

    from customers.models import Exposure
    from notices.models import Notice

    visible = Q(audience=Notice.Audience.PUBLIC)
    if customer is not None:
        incidents = Exposure.objects.filter(customer=customer).values("incident_id")
        visible |= Q(audience=Notice.Audience.CUSTOMERS) | Q(
            audience=Notice.Audience.AFFECTED, incident_id__in=incidents
        )
    return (
        Notice.objects.filter(visible, status=Notice.Status.PUBLISHED)
        .select_related("incident")
        .order_by("-published_at")
    )


@dataclass(frozen=True)
class VerifyAnswer:
    genuine: bool
    channel: str = ""
    sent_at: object = None
    to_hint: str = ""


def verify_reference(normalised: str | None) -> VerifyAnswer:
    """Whether we sent a message with this reference: a campaign message or a
    transactional one (a sign-in, claim or contact code). Always one statement
    of two indexed lookups, whatever was typed, so the answer takes as long
    either way; it reveals the date, the channel and a hint of the recipient,
    nothing more (not what the message was, nor whose account)."""
    from django.db.models import BooleanField, Value

    from portal.models import TransactionalMessage
    from portal.transactional import verify_hint

    reference = normalised or "-"
    # A message given up on as "may have reached the provider" (its answer lost)
    # may be in the customer's hands: told "not from us", they would distrust
    # our genuine alert. Its reference was only ever in that message.
    may_have_gone = Q(status=DeliveryStatus.FAILED, in_doubt=True)
    campaign = (
        Delivery.objects.filter(reference=reference)
        .filter(Q(status__in=list(HANDED_OVER_STATUSES)) | may_have_gone)
        .values_list(
            "channel",
            Coalesce("sent_at", "prepared_at", "updated_at"),
            "to",
            Value(False, output_field=BooleanField()),
        )
    )
    transactional = TransactionalMessage.objects.filter(
        reference=reference, sent_at__isnull=False
    ).values_list("channel", "sent_at", "to_hint", Value(True, output_field=BooleanField()))
    rows = list(campaign.union(transactional, all=True)[:1])
    if not rows:
        return VerifyAnswer(genuine=False)
    channel, sent_at, to, masked = rows[0]
    hint = to if masked else verify_hint(channel, to)
    return VerifyAnswer(genuine=True, channel=channel, sent_at=sent_at, to_hint=hint)

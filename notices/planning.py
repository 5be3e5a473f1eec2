"""Planning: one pending delivery per audience member, set-based.

The audience is walked in chunks of customer ids; each chunk is one
``INSERT … SELECT … ON CONFLICT DO NOTHING`` committed on its own, so sending
starts after the first (small) chunk and re-planning a chunk changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from notices.audience import Audience, address_sql, first_channel_sql
from notices.models import Campaign


def chunk_upper_bound(audience: Audience, after: int, size: int) -> int | None:
    """The customer id that ends a chunk of ``size`` exposures after ``after``;
    None when fewer remain (the chunk then runs to the end)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_id FROM customers_exposure WHERE incident_id = %s "
            "AND customer_id > %s ORDER BY customer_id LIMIT 1 OFFSET %s",
            [audience.incident_id, after, size - 1],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def insert_deliveries_sql(campaign: Campaign, audience: Audience) -> tuple[str, list]:
    """The INSERT … SELECT for a range of customer ids (two trailing params)."""
    where, params = audience.where()
    now = timezone.now()
    sql = f"""
        INSERT INTO notices_delivery
            (campaign_id, customer_id, channel, status, "to", language, reference, subject, body,
             provider, provider_id, attempts, fallback_pending, in_doubt, last_error,
             created_at, updated_at)
        SELECT %s, x.id, x.channel, 'pending', {address_sql("x.channel", "x")}, x.lang, NULL, '', '',
               '', '', 0, %s, %s, '', %s, %s
          FROM (SELECT c.id, c.phone, c.email, c.user_id, c.preferred_language AS lang,
                       {first_channel_sql(campaign.channels)} AS channel
                {where} AND e.customer_id > %s AND e.customer_id <= %s) x
         WHERE x.channel IS NOT NULL
        ON CONFLICT DO NOTHING
    """
    return sql, [campaign.pk, False, False, now, now, *params]


def plan_chunk(campaign: Campaign, size: int) -> bool:
    """Plan the next chunk; returns True when the whole audience is planned."""
    audience = Audience.of(campaign)
    after = campaign.planned_through
    upper = chunk_upper_bound(audience, after, size)
    sql, params = insert_deliveries_sql(campaign, audience)
    done = upper is None
    bound = upper if upper is not None else 2**62
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, after, bound])
        Campaign.objects.filter(pk=campaign.pk, planned_through__lt=bound).update(
            planned_through=bound, planning_done=done, updated_at=timezone.now()
        )
    campaign.planned_through, campaign.planning_done = bound, done
    return done


def plan_next(campaign: Campaign) -> bool:
    """One chunk: small the first time, so the first message leaves at once."""
    first = campaign.planned_through == 0
    size = settings.PLANNING_FIRST_CHUNK if first else settings.PLANNING_CHUNK
    return plan_chunk(campaign, size)

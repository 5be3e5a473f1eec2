"""Provider receipts: delivery reports that arrive by webhook, out of order and
more than once. Each is stored once (deduplicated on the delivery and the
provider's status) and may only move a delivery forward, never back from a
final state."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from notices.models import FINAL_STATUSES, STATUS_RANK, DeliveryStatus

# Twilio's MessageStatus values; the rest (queued, sending, …) change nothing.
TWILIO_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
}
# django-anymail's normalised event types for email.
ANYMAIL_STATUSES = {
    "delivered": DeliveryStatus.DELIVERED,
    "bounced": DeliveryStatus.FAILED,
    "rejected": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
}


def apply_receipt(
    *,
    reference: str,
    provider_status: str,
    status: DeliveryStatus,
    provider: str | None = None,
    provider_id: str = "",
    error: str = "",
) -> bool:
    """Record one receipt; returns True when it was new. Two statements: an
    idempotent event insert, then a forward-only conditional update."""
    now = timezone.now()
    provider_filter = "AND provider = %s" if provider is not None else ""
    detail = f"provider: {provider_status}" + (f" ({error})" if error else "")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO notices_deliveryevent
                (delivery_id, source, status, provider_status, detail, created_at)
            SELECT id, 'callback', %s, %s, %s, %s FROM notices_delivery
             WHERE reference = %s {provider_filter}
            ON CONFLICT DO NOTHING
            RETURNING delivery_id
            """,
            [status, provider_status[:32], detail[:500], now, reference]
            + ([provider] if provider is not None else []),
        )
        row = cursor.fetchone()
        if row is None:
            return False
        lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
        lower = [s for s in lower if s not in FINAL_STATUSES]
        marks = ", ".join(["%s"] * len(lower))
        failed = status == DeliveryStatus.FAILED
        cursor.execute(
            f"""
            UPDATE notices_delivery SET
                status = %s,
                fallback_pending = %s,
                last_error = CASE WHEN %s <> '' THEN %s ELSE last_error END,
                provider_id = CASE WHEN provider_id = '' THEN %s ELSE provider_id END,
                sent_at = COALESCE(sent_at, %s),
                delivered_at = CASE WHEN %s THEN COALESCE(delivered_at, %s) ELSE delivered_at END,
                updated_at = %s
             WHERE id = %s AND status IN ({marks})
            """,
            [
                status,
                failed,
                error,
                error[:500],
                provider_id,
                now,
                status == DeliveryStatus.DELIVERED,
                now,
                now,
                row[0],
                *lower,
            ],
        )
    return True


def anymail_tracking_received(sender, event, esp_name: str, **kwargs) -> None:
    """An ESP's delivery or bounce report, normalised by django-anymail."""
    reference = (event.metadata or {}).get("reference") or ""
    status = ANYMAIL_STATUSES.get(event.event_type)
    if reference and status is not None:
        apply_receipt(
            reference=reference,
            provider_status=f"{esp_name}:{event.event_type}"[:32],
            status=status,
            provider_id=event.message_id or "",
            error=(event.description or event.mta_response or "")[:200],
        )

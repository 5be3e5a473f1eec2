"""Provider receipts: delivery reports that arrive by webhook, out of order and
more than once. Each is stored once (deduplicated on the delivery and the
provider's status) and may only move a delivery forward, never back from a
final state, except that a delivery the sweep failed in doubt (it may have
reached the provider) becomes delivered when the provider reports it so."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from notices.models import FINAL_STATUSES, PROVIDER_ID_MAX_LENGTH, STATUS_RANK, DeliveryStatus

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
    """Record one receipt; returns True when it was new.

    One statement: an idempotent event insert, and a forward-only update of
    the delivery it names. Receipts arrive at the send rate, so their commit
    does not wait for the disk (``synchronous_commit = off``): a database
    crash may lose the last fraction of a second of receipts, which leaves
    those deliveries at "sent"; it can never lose or duplicate a message.
    """
    now = timezone.now()
    provider_filter = "AND provider = %s" if provider is not None else ""
    detail = f"provider: {provider_status}" + (f" ({error})" if error else "")
    lower = [
        s
        for s, rank in STATUS_RANK.items()
        if rank < STATUS_RANK[status] and s not in FINAL_STATUSES
    ]
    marks = ", ".join(["%s"] * len(lower))
    # A final state is final, but for one: a delivery the sweep failed because
    # it may have reached the provider (in doubt), which the provider now says
    # was delivered. The customer got it.
    doubt = " OR (status = 'failed' AND in_doubt)" if status == DeliveryStatus.DELIVERED else ""
    insert = f"""
        INSERT INTO notices_deliveryevent
            (delivery_id, source, status, provider_status, detail, created_at)
        SELECT id, 'callback', %s, %s, %s, %s FROM notices_delivery
         WHERE reference = %s {provider_filter}
        ON CONFLICT DO NOTHING
        RETURNING delivery_id"""
    insert_params = [status, provider_status[:32], detail[:500], now, reference] + (
        [provider] if provider is not None else []
    )
    update = f"""
        UPDATE notices_delivery SET
            status = %s,
            fallback_pending = %s,
            last_error = CASE WHEN %s <> '' THEN %s ELSE last_error END,
            provider_id = CASE WHEN provider_id = '' THEN %s ELSE provider_id END,
            sent_at = COALESCE(sent_at, %s),
            delivered_at = CASE WHEN %s THEN COALESCE(delivered_at, %s) ELSE delivered_at END,
            updated_at = %s
         WHERE id IN ({{ids}}) AND (status IN ({marks}){doubt})"""
    update_params = [
        status,
        status == DeliveryStatus.FAILED,
        error,
        error[:500],
        provider_id[:PROVIDER_ID_MAX_LENGTH],
        now,
        status == DeliveryStatus.DELIVERED,
        now,
        now,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute(
                f"WITH event AS ({insert}), moved AS ("
                f"{update.format(ids='SELECT delivery_id FROM event')} RETURNING id) "
                "SELECT count(*) FROM event",
                insert_params + update_params + lower,
            )
            return bool(cursor.fetchone()[0])
        cursor.execute(insert, insert_params)
        row = cursor.fetchone()
        if row is None:
            return False
        cursor.execute(update.format(ids="%s"), [*update_params, row[0], *lower])
    return True


def text(value) -> str:
    """A provider's text for the database: PostgreSQL refuses a NUL character."""
    return str(value).replace("\x00", "")


def anymail_tracking_received(sender, event, esp_name: str, **kwargs) -> None:
    """An ESP's delivery or bounce report, normalised by django-anymail."""
    # Metadata comes back as the ESP's JSON: a reference that is not a string
    # (an object, a list) is none of ours, and would reach SQL as one.
    reference = (event.metadata or {}).get("reference")
    status = ANYMAIL_STATUSES.get(event.event_type)
    if isinstance(reference, str) and reference and "\x00" not in reference and status is not None:
        apply_receipt(
            reference=reference,
            provider_status=text(f"{esp_name}:{event.event_type}")[:32],
            status=status,
            provider_id=text(event.message_id or ""),
            error=text(event.description or event.mta_response or "")[:200],
        )


# --- buffered receipts ---------------------------------------------------------
#
# At the send rate, providers call back a thousand times a second or more.
# With RECEIPTS_BUFFER_URL (Redis) set, the webhook view only checks the
# signature and appends the receipt to a Redis list; a worker on the
# "webhooks" queue applies them in batches, set-based. The list is read, applied
# and only then trimmed, so a worker that dies mid-batch leaves it for the next
# (receipts are idempotent). Without a buffer, receipts are applied at once.

BUFFER_KEY = "firsthand:receipts"
DRAIN_LOCK = "firsthand:receipts:drain"
DRAIN_SCHEDULED = "firsthand:receipts:scheduled"
BATCH = 2000


def _buffer():
    import redis
    from django.conf import settings

    url = settings.RECEIPTS_BUFFER_URL
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url)
    return client


_clients: dict = {}


def record_receipt(**receipt) -> None:
    """Apply a receipt now, or queue it for a batch when a buffer is configured."""
    buffer = _buffer()
    if buffer is None:
        apply_receipt(**receipt)
        return
    import json

    from notices import tasks

    pipe = buffer.pipeline(transaction=False)
    pipe.rpush(BUFFER_KEY, json.dumps(receipt))
    pipe.set(DRAIN_SCHEDULED, 1, nx=True, ex=1)
    _, first_this_second = pipe.execute()
    if first_this_second:
        tasks.drain_receipts.apply_async(countdown=0.5)


def drain_receipts(max_batches: int = 1000) -> int:
    """Apply buffered receipts in batches; one drainer at a time."""
    import json

    buffer = _buffer()
    if buffer is None or not buffer.set(DRAIN_LOCK, 1, nx=True, ex=60):
        return 0
    applied = 0
    try:
        for _ in range(max_batches):
            raw = buffer.lrange(BUFFER_KEY, 0, BATCH - 1)
            if not raw:
                break
            apply_receipts([json.loads(item) for item in raw])
            buffer.ltrim(BUFFER_KEY, len(raw), -1)
            buffer.expire(DRAIN_LOCK, 60)
            applied += len(raw)
    finally:
        buffer.delete(DRAIN_LOCK)
    return applied


_RANK_SQL = "CASE {} " + " ".join(f"WHEN '{s}' THEN {r}" for s, r in STATUS_RANK.items()) + " END"


def apply_receipts(receipts: list[dict]) -> None:
    """A batch of receipts in two statements (PostgreSQL): store the new ones,
    then move each delivery to the furthest state its new receipts report."""
    if connection.vendor != "postgresql":
        for receipt in receipts:
            apply_receipt(**receipt)
        return
    now = timezone.now()
    columns = ["reference", "provider", "provider_status", "status", "provider_id", "error"]
    longest = {"provider_id": PROVIDER_ID_MAX_LENGTH}
    arrays = [[str(r.get(c) or "")[: longest.get(c, 500)] for r in receipts] for c in columns]
    final = ", ".join(f"'{s}'" for s in FINAL_STATUSES)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            f"""
            WITH incoming AS (
                SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                                     %s::text[])
                    AS i(reference, provider, provider_status, status, provider_id, error)),
            event AS (
                INSERT INTO notices_deliveryevent
                    (delivery_id, source, status, provider_status, detail, created_at)
                SELECT d.id, 'callback', i.status, left(i.provider_status, 32),
                       left('provider: ' || i.provider_status
                            || CASE WHEN i.error <> '' THEN ' (' || i.error || ')' ELSE '' END, 500),
                       %s
                  FROM incoming i
                  JOIN notices_delivery d
                    ON d.reference = i.reference AND (i.provider = '' OR d.provider = i.provider)
                ON CONFLICT DO NOTHING
                RETURNING delivery_id, status, provider_status),
            best AS (
                SELECT DISTINCT ON (e.delivery_id) e.delivery_id, e.status, i.provider_id, i.error
                  FROM event e
                  JOIN incoming i ON left(i.provider_status, 32) = e.provider_status
                  JOIN notices_delivery d ON d.id = e.delivery_id AND d.reference = i.reference
                 ORDER BY e.delivery_id, {_RANK_SQL.format("e.status")} DESC)
            UPDATE notices_delivery d SET
                status = b.status,
                fallback_pending = (b.status = 'failed'),
                last_error = CASE WHEN b.error <> '' THEN b.error ELSE d.last_error END,
                provider_id = CASE WHEN d.provider_id = '' THEN b.provider_id ELSE d.provider_id END,
                sent_at = COALESCE(d.sent_at, %s),
                delivered_at = CASE WHEN b.status = 'delivered'
                                    THEN COALESCE(d.delivered_at, %s) ELSE d.delivered_at END,
                updated_at = %s
              FROM best b
             WHERE d.id = b.delivery_id
               AND ((d.status NOT IN ({final})
                     AND {_RANK_SQL.format("d.status")} < {_RANK_SQL.format("b.status")})
                    -- failed by the sweep as maybe sent, and the provider delivered it
                    OR (d.status = 'failed' AND d.in_doubt AND b.status = 'delivered'))
            """,
            [*arrays, now, now, now, now],
        )

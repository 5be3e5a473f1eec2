"""Sending a campaign: claim a batch, render, record, send, record the outcome.

Exactly once, by construction rather than by trusting the broker:

1. *Claim*: a conditional UPDATE moves pending rows to ``sending`` (``FOR UPDATE
   SKIP LOCKED`` on PostgreSQL), so two workers never hold the same delivery
   and a task delivered twice finds nothing to do.
2. *Record before send*: the rendered body and its reference are stored and
   committed before any provider is called (no transaction is held open
   during provider calls).
3. *Send* under the provider account's rate (shared by every campaign and
   resend) and the campaign's own cap, from a thread pool.
4. *Record the outcome*; never overwrite a later state set by a provider
   receipt that arrived meanwhile.

A worker that dies between 2 and 4 leaves rows in ``sending`` with
``prepared_at`` set; the sweep marks them ``in_doubt`` and the next attempt
first asks the provider whether it has a message with that reference, and only
sends if it has not. One that dies between 1 and 2 (claimed, ``prepared_at``
still NULL) cannot have called a provider: the sweep just puts it back to
``pending``. One that only stalled that long finds, when it wakes, that the
rows are no longer in its claim (``claimed_at``): it prepares and sends only
those still its own. The dispatch task's hard time limit (300 s, enforced by
the prefork pool's parent) ends a worker stalled longer than that, so a claim
older than ``DELIVERY_IN_DOUBT_AFTER`` (300 s by default) has no live sender.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextvars import copy_context
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from customers.models import Customer, Exposure
from notices import channels
from notices.audience import address, channel_order_for, reachable
from notices.channels import push
from notices.channels.base import ChannelError, LookupUnsupported, OutgoingMessage
from notices.models import (
    PROVIDER_ID_MAX_LENGTH,
    Campaign,
    CampaignTemplate,
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
)
from notices.ratelimit import Pacer, wait_until
from notices.references import format_reference, new_reference
from notices.templating import RenderContext, render, render_sms, render_subject

_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=settings.DISPATCH_THREADS, thread_name_prefix="send")
    return _pool


@dataclass
class Claimed:
    id: int
    customer_id: int
    channel: str
    to: str
    language: str
    stored_reference: str | None
    attempts: int
    in_doubt: bool
    # The provider of the attempt before: one in doubt is asked there, not elsewhere.
    stored_provider: str = ""
    reference: str | None = None
    provider: str = ""
    subject: str = ""
    body: str = ""
    # The claim's time: whether the row is still this worker's when it prepares.
    claimed_at: datetime | None = None


@dataclass
class Outcome:
    item: Claimed
    provider_id: str = ""
    error: ChannelError | None = None
    detail: str = ""
    # Not handed to the provider: an earlier send of its batch found the account refused.
    stopped: bool = False


class _Refusal:
    """Set by the first send of a batch that a provider account refuses as a
    whole (``ChannelError.account``): its other sends there are not tried."""

    error: ChannelError | None = None


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    latencies: list[float] = field(default_factory=list)


# --- 1. claim -----------------------------------------------------------------


_CLAIM = """
    UPDATE notices_delivery
       SET status = 'sending', claimed_at = %s, prepared_at = NULL,
           attempts = attempts + 1, updated_at = %s
     WHERE id IN (SELECT id FROM notices_delivery
                   WHERE campaign_id = %s AND status = 'pending' AND {which}
                     AND resent_by_id IS NULL
                   ORDER BY {order} LIMIT %s {lock})
 RETURNING id, customer_id, channel, "to", language, reference, attempts, in_doubt, provider
"""
# A support resend is its own task's (resend_send): it falls back to no other channel.
# Retries that are due first (they have waited longest), then rows never tried,
# each through its own index: rows still waiting for their retry (millions, in a
# provider outage) are never read, let alone filtered out one by one.
_DUE_RETRIES = ("next_attempt_at <= %s", "next_attempt_at, id")
_FRESH = ("next_attempt_at IS NULL", "id")


def claim(campaign_id: int, limit: int) -> list[Claimed]:
    now = timezone.now()
    lock = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    rows: list = []
    with transaction.atomic(), connection.cursor() as cursor:
        for (which, order), due in ((_DUE_RETRIES, [now]), (_FRESH, [])):
            if len(rows) >= limit:
                break
            sql = _CLAIM.format(which=which, order=order, lock=lock)
            cursor.execute(sql, [now, now, campaign_id, *due, limit - len(rows)])
            rows += cursor.fetchall()
    return sorted((Claimed(*row, claimed_at=now) for row in rows), key=lambda c: c.id)


# --- 2. render and record before sending ---------------------------------------


def _templates(campaign: Campaign) -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (t.channel, t.language): (t.subject, t.body)
        for t in CampaignTemplate.objects.filter(campaign=campaign)
    }


def render_batch(campaign: Campaign, items: list[Claimed]) -> list[Outcome]:
    """Fill in reference, subject and body; items without a template fail here."""
    templates = _templates(campaign)
    customer_ids = {i.customer_id for i in items}
    customers = {
        pk: (first_name, {"phone": phone, "email": email, "user_id": user_id})
        for pk, first_name, phone, email, user_id in Customer.objects.filter(
            id__in=customer_ids
        ).values_list("id", "first_name", "phone", "email", "user_id")
    }
    push_users = {
        customers[i.customer_id][1]["user_id"]
        for i in items
        if i.channel == "push" and i.customer_id in customers
    } - {None}
    devices = _latest_devices(push_users) if push_users else {}
    exposed = dict(
        Exposure.objects.filter(
            incident_id=campaign.incident_id, customer_id__in=customer_ids
        ).values_list("customer_id", "fields")
    )
    titles = {
        "en": campaign.incident.title,
        "fr": campaign.incident.title_fr or campaign.incident.title,
    }
    failures = []
    for item in items:
        template = templates.get((item.channel, item.language)) or templates.get(
            (item.channel, "en")
        )
        if template is None:
            failures.append(Outcome(item, error=ChannelError("no template", permanent=True)))
            continue
        if item.customer_id not in customers:  # erased since the claim, deliveries too
            failures.append(
                Outcome(item, error=ChannelError("no longer on record", permanent=True))
            )
            continue
        first_name, contact = customers[item.customer_id]
        if not item.in_doubt:  # one in doubt is looked up, and sent, where it went before
            # The contact on record now, not the one planned (hours ago, perhaps):
            # one the customer gave up or support corrected is someone else's.
            item.to = address(item.channel, **contact, device=devices.get(contact["user_id"], ""))
            if not item.to:
                why = f"no longer reachable by {item.channel}"
                failures.append(Outcome(item, error=ChannelError(why, permanent=True)))
                continue
        item.reference = item.stored_reference or new_reference()
        context = RenderContext(
            first_name=first_name,
            exposed_codes=list(exposed.get(item.customer_id) or {}),
            reference=format_reference(item.reference),
            language=item.language,
            incident_title=titles.get(item.language, titles["en"]),
        )
        try:
            _render_item(item, template, context)
        except DatabaseError:
            raise  # not this message's fault: the batch is retried
        except Exception as exc:
            # A template saved before it was checked, or a value it cannot take:
            # this message fails for good (rendering again gives the same), the
            # others of the batch still go; raised, it failed them all, for ever.
            item.subject = item.body = ""
            why = (
                f"could not be rendered: the {item.channel} template in {item.language} "
                f"raised {exc.__class__.__name__}: {exc}"
            )
            failures.append(Outcome(item, error=ChannelError(why, permanent=True)))
    return failures


def _render_item(item: Claimed, template: tuple[str, str], context: RenderContext) -> None:
    item.subject = render_subject(template[0], context)
    item.body = (render_sms if item.channel == "sms" else render)(template[1], context)
    if item.channel == "push":
        # What we store is what the app shows: never over FCM's payload limit.
        item.body = push.fit_body(subject=item.subject, body=item.body, reference=item.reference)


def prepare_batch(campaign: Campaign, items: list[Claimed]) -> tuple[list[Outcome], list[Claimed]]:
    """Render and store what is about to be sent (record before send).

    Returns the items that cannot be rendered (as failed outcomes) and those
    ready to send. A reference collision (≈ 4e-5 over 10 million messages)
    draws new references and renders again.
    """
    for _attempt in range(3):
        failures = render_batch(campaign, items)
        failed_ids = {o.item.id for o in failures}
        ready = [i for i in items if i.id not in failed_ids]
        try:
            with transaction.atomic():
                # From here on a provider call may start: a dead worker's row is in
                # doubt (prepared_at), in the same statement as what it will send.
                mine = _prepare_rows(ready)
            # A worker that stalled past DELIVERY_IN_DOUBT_AFTER after claiming may
            # find a row the sweep put back and another worker claimed: that
            # worker sends it (or records its failure), not this one.
            return _still_claimed(failures), [i for i in ready if i.id in mine]
        except IntegrityError:
            for item in items:
                item.reference = item.stored_reference
    raise RuntimeError("could not draw unique references")


# --- 3. send -----------------------------------------------------------------


def _callback_url(item: Claimed) -> str:
    if item.channel != "sms":
        return ""
    return f"{settings.PORTAL_BASE_URL}/webhooks/sms/{item.provider}/{item.reference}"


def _message(item: Claimed) -> OutgoingMessage:
    return OutgoingMessage(
        reference=item.reference or "",
        to=item.to,
        body=item.body,
        subject=item.subject,
        language=item.language,
        callback_url=_callback_url(item),
    )


def deliver_one(
    backend, item: Claimed, slot: float, latencies: list[float], refusal: _Refusal | None = None
) -> Outcome:
    message = _message(item)
    wait_until(slot)  # a lookup is a call to the provider too: it takes its slot
    if refusal is not None and refusal.error is not None:
        return Outcome(item, error=refusal.error, stopped=True)
    # Past its last attempt, a message whose answer was lost is only asked for:
    # found, it was sent; not found, it falls back (see ``_outcome_row``).
    lookup_only = item.attempts > settings.DELIVERY_MAX_ATTEMPTS
    if item.in_doubt:
        try:
            found = backend.lookup(message)
        except LookupUnsupported:
            if lookup_only:
                # What was done before the last attempt's doubt was looked up at
                # all: with no way to ask, the message falls back to the next
                # channel, which may reach the customer twice rather than not at all.
                why = f"no answer on the last attempt, and {item.provider} cannot be asked"
                return Outcome(item, error=ChannelError(why, permanent=True))
            return Outcome(
                item,
                provider_id="unknown",
                detail="in doubt and the provider cannot be asked: counted as sent, not resent",
            )
        except ChannelError as exc:
            if exc.account:
                # Our account refused, not the lookup: held back like a refused send.
                error = ChannelError(f"lookup failed: {exc}", account=True)
                if refusal is not None:
                    refusal.error = error
                return Outcome(item, error=error)
            return Outcome(item, error=ChannelError(f"lookup failed: {exc}", ambiguous=True))
        if found:
            return Outcome(item, provider_id=found, detail="found at the provider: not resent")
        if lookup_only:
            why = f"no answer on the last attempt, and not found at the provider ({item.provider})"
            return Outcome(item, error=ChannelError(why, permanent=True))
    started = time.monotonic()
    try:
        provider_id = backend.send(message)
    except ChannelError as exc:
        if exc.account and refusal is not None:
            refusal.error = exc
        return Outcome(item, error=exc)
    except Exception as exc:  # a bug or an unexpected library error: assume the worst
        return Outcome(
            item, error=ChannelError(f"unexpected {exc.__class__.__name__}", ambiguous=True)
        )
    latencies.append(time.monotonic() - started)
    return Outcome(item, provider_id=provider_id)


def send_batch(campaign: Campaign, items: list[Claimed], latencies: list[float]) -> list[Outcome]:
    """Send every item, however long their rates make it take (a resend)."""
    outcomes, _unsent = send_batch_until(campaign, items, latencies, deadline=None)
    return outcomes


def _send_in_runs(
    queues: list,
    deadline: float | None,
    latencies: list[float],
    outcomes: list,
    futures: list,
    still_on: Callable[[], bool] | None = None,
) -> list[Claimed]:
    """Send each queue's items in the runs its pacer books (on the sending threads
    when its backend allows), adding to ``outcomes`` and ``futures``; returns
    what was left unsent at ``deadline``, or once ``still_on()`` says no."""
    unsent: list[Claimed] = []
    while queues:
        # A provider account that refused a send of this batch as a whole: the
        # rest of its share is not tried (it goes back with the refused one).
        for _pacer, _backend, group, refusal in queues:
            if refusal.error is not None:
                outcomes += [Outcome(item, error=refusal.error, stopped=True) for item in group]
        queues = [q for q in queues if q[3].error is None]
        if not queues:
            break
        if deadline is not None and time.monotonic() >= deadline:
            # Book no more runs; send those already booked (time booked and left
            # unused is lost to every sender, and the next batch would only book
            # again, later still).
            unsent += [
                item for pacer, _b, group, _r in queues if not pacer.booked for item in group
            ]
            queues = [q for q in queues if q[0].booked]
            if not queues:
                break
        pacer, backend, group, refusal = min(queues, key=lambda q: q[0].due())
        wait_until(pacer.due())
        if still_on is not None and not still_on():
            # Cancelled or paused while this batch waited for its rate: what it
            # has not handed over yet is not sent (runs last a second at most).
            unsent += [item for _pacer, _backend, rest, _r in queues for item in rest]
            break
        if not pacer.booked:
            continue  # its run before has gone: book the next one, time permitting
        slots = pacer.take()
        run, group[:] = group[: len(slots)], group[len(slots) :]
        if not group:
            queues = [q for q in queues if q[0] is not pacer]
        if backend.thread_safe:
            # Each send runs in a copy of this task's context: its log lines keep the task id.
            # Appended one by one: if a submit raises, those already under way are
            # still in ``futures``, for the caller to wait on before releasing connections.
            for item, slot in zip(run, slots, strict=True):
                futures.append(
                    _executor().submit(
                        copy_context().run, deliver_one, backend, item, slot, latencies, refusal
                    )
                )
        else:
            outcomes += [
                deliver_one(backend, item, slot, latencies, refusal)
                for item, slot in zip(run, slots, strict=True)
            ]
    return unsent


def send_batch_until(
    campaign: Campaign,
    items: list[Claimed],
    latencies: list[float],
    *,
    deadline: float | None,
    still_on: Callable[[], bool] | None = None,
) -> tuple[list[Outcome], list[Claimed]]:
    """Send each provider account's share of the batch under its rate (shared by
    every campaign and resend) and the campaign's own cap, runs of the accounts
    interleaved by when each may go.

    Past ``deadline`` (a ``time.monotonic()`` time) no further run is booked:
    what is left is returned unsent, so that a batch larger than its rates allow
    in a task's time (a campaign capped far below its batch, a slow provider, a
    provider booked ahead by other campaigns) does not outlive the task. So is
    what is left once ``still_on()``, asked before each run, says no.
    """
    by_channel: dict[tuple[str, str], list[Claimed]] = defaultdict(list)
    for item in items:
        by_channel[(item.channel, item.provider)].append(item)
    queues = []
    for (channel, provider), group in by_channel.items():
        pacer = Pacer(
            len(group),
            provider=(
                channels.rate_key(channel, provider),
                channels.provider_rate(channel, provider),
            ),
            campaign=(f"{campaign.pk}:{channel}", campaign.rate_for(channel)),
        )
        queues.append((pacer, channels.get_backend(channel, provider), group, _Refusal()))
    backends = [backend for _pacer, backend, _group, _refusal in queues]
    outcomes: list[Outcome] = []
    futures: list = []
    try:
        unsent = _send_in_runs(queues, deadline, latencies, outcomes, futures, still_on)
        outcomes += [future.result() for future in futures]
    finally:
        # A send still under way (the loop above raised) keeps its connection
        # until it returns; then the batch's connections are released.
        futures_wait(futures)
        for backend in backends:
            backend.end_batch()
    return outcomes, unsent


def release_unsent(items: list[Claimed]) -> None:
    """Put claimed and prepared deliveries that no provider was asked to send
    back to pending, as if never claimed: their reference is kept, the attempt
    is not counted."""
    if not items:
        return
    Delivery.objects.filter(pk__in=[i.id for i in items], status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.PENDING,
        claimed_at=None,
        prepared_at=None,
        attempts=F("attempts") - 1,
        updated_at=timezone.now(),
    )


# --- 4. record the outcome ---------------------------------------------------


# Lookups a message gets after its last attempt's answer was lost, before it
# falls back all the same (the provider's lookups failing each time).
LAST_LOOKUPS = 3

# How long what a provider account refused as a whole waits before it is tried again.
ACCOUNT_RETRY_SECONDS = 60


def _refused_accounts(outcomes: list[Outcome]) -> tuple[list[Outcome], list[Outcome]]:
    """Put back what a provider account refused as a whole (sign-in, sender,
    suspension, no connection) and what its batch then did not try; returns
    those and the other outcomes, to record as usual.

    Nothing of it was taken, and it is no fault of the recipients: back to
    pending, the attempt not counted (a refusal that lasts must neither fail a
    campaign's messages nor use up their retries), to be tried again in
    ``ACCOUNT_RETRY_SECONDS`` (or the provider's Retry-After). Only on this
    path: a batch that meets no such refusal runs no query more."""
    refused = [o for o in outcomes if o.error is not None and o.error.account]
    if not refused:
        return [], outcomes
    now = timezone.now()
    # One time for the batch (jittered, so that dispatchers do not come back together).
    delay = max(
        [ACCOUNT_RETRY_SECONDS * random.uniform(1, 1.2)]
        + [o.error.retry_after or 0.0 for o in refused]
    )
    by_error: dict[str, list[int]] = defaultdict(list)
    events = []
    for outcome in refused:
        error = outcome.error
        why = f"not tried, its provider account refused: {error}" if outcome.stopped else str(error)
        by_error[why].append(outcome.item.id)
        if not outcome.stopped:
            events.append(
                DeliveryEvent(
                    delivery_id=outcome.item.id,
                    source=DeliveryEvent.Source.DISPATCH,
                    status=DeliveryStatus.PENDING,
                    detail=f"retry in {delay:.0f}s, not counted: {error}"[:500],
                    created_at=now,
                )
            )
    with transaction.atomic():
        for why, ids in by_error.items():
            Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.SENDING).update(
                status=DeliveryStatus.PENDING,
                claimed_at=None,
                prepared_at=None,
                attempts=F("attempts") - 1,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=why,
                updated_at=now,
            )
        insert_events(events)
    put_back = {id(o) for o in refused}
    return refused, [o for o in outcomes if id(o) not in put_back]


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Exponential back-off with full jitter, never sooner than Retry-After."""
    cap = min(settings.DELIVERY_RETRY_MAX, settings.DELIVERY_RETRY_BASE * 2 ** (attempts - 1))
    return max(retry_after or 0.0, random.uniform(0, cap))


@dataclass
class _Row:
    id: int
    status: str
    provider_id: str = ""
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str = ""
    fallback_pending: bool = False
    in_doubt: bool = False


def _outcome_row(outcome: Outcome, now: datetime, fallback: bool = True) -> tuple[_Row, str]:
    item, error = outcome.item, outcome.error
    if error is None:
        status = DeliveryStatus.DELIVERED if item.channel == "inapp" else DeliveryStatus.SENT
        row = _Row(item.id, status, outcome.provider_id[:PROVIDER_ID_MAX_LENGTH], sent_at=now)
        if status == DeliveryStatus.DELIVERED:
            row.delivered_at = now
        return row, outcome.detail or "handed to the provider"
    last = settings.DELIVERY_MAX_ATTEMPTS
    if error.ambiguous and not error.permanent and last <= item.attempts < last + LAST_LOOKUPS:
        # The provider may have it: falling back now could reach the customer
        # twice. Asked for after the usual wait (a provider may take a moment to
        # list it), by lookup only; the answer decides (``deliver_one``).
        delay = retry_delay(item.attempts, error.retry_after)
        row = _Row(
            item.id,
            DeliveryStatus.PENDING,
            next_attempt_at=now + timedelta(seconds=delay),
            last_error=str(error),
            in_doubt=True,
        )
        return row, f"no answer on the last attempt: asking the provider in {delay:.0f}s: {error}"
    if error.permanent or item.attempts >= last:
        why = str(error) if error.permanent else f"gave up after {item.attempts} attempts: {error}"
        return _Row(item.id, DeliveryStatus.FAILED, last_error=why, fallback_pending=fallback), why
    delay = retry_delay(item.attempts, error.retry_after)
    row = _Row(
        item.id,
        DeliveryStatus.PENDING,
        next_attempt_at=now + timedelta(seconds=delay),
        last_error=str(error),
        in_doubt=item.in_doubt or error.ambiguous,
    )
    return row, f"retry in {delay:.0f}s: {error}"


def record_outcomes(outcomes: list[Outcome], *, fallback: bool = True) -> list[str]:
    """Record each outcome; returns the status recorded for each, in order."""
    now = timezone.now()
    rows, events = [], []
    for outcome in outcomes:
        row, detail = _outcome_row(outcome, now, fallback)
        rows.append(row)
        events.append(
            DeliveryEvent(
                delivery_id=row.id,
                source=DeliveryEvent.Source.DISPATCH,
                status=row.status,
                detail=detail[:500],
                created_at=now,
            )
        )
    dead = [
        o.item.to
        for o in outcomes
        if o.error is not None and o.error.invalid_address and o.item.channel == "push"
    ]
    with transaction.atomic():
        _record_rows(rows, now)
        insert_events(events)
        if dead:
            from notices.services.contacts import devices_deactivate

            devices_deactivate(tokens=dead)
    return [row.status for row in rows]


def _record_rows(rows: list[_Row], now: datetime) -> None:
    """Apply outcomes, but never over a state a provider receipt set meanwhile:
    a delivered message keeps no retry time nor error from a send that timed out."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                """
                UPDATE notices_delivery d SET
                    status = CASE WHEN d.status = 'sending' THEN v.status ELSE d.status END,
                    fallback_pending = CASE WHEN d.status = 'sending' THEN v.fallback_pending
                                            ELSE d.fallback_pending END,
                    provider_id = CASE WHEN v.provider_id <> '' THEN v.provider_id
                                       ELSE d.provider_id END,
                    sent_at = COALESCE(d.sent_at, v.sent_at),
                    delivered_at = COALESCE(d.delivered_at, v.delivered_at),
                    next_attempt_at = CASE WHEN d.status = 'sending' THEN v.next_attempt_at
                                           ELSE d.next_attempt_at END,
                    last_error = CASE WHEN d.status = 'sending' THEN v.last_error
                                      ELSE d.last_error END,
                    in_doubt = CASE WHEN d.status = 'sending' THEN v.in_doubt ELSE d.in_doubt END,
                    claimed_at = NULL,
                    updated_at = %s
                FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[],
                            %s::timestamptz[], %s::timestamptz[], %s::text[], %s::bool[],
                            %s::bool[])
                  AS v(id, status, provider_id, sent_at, delivered_at, next_attempt_at,
                       last_error, fallback_pending, in_doubt)
                WHERE d.id = v.id
                """,
                [now, *(list(col) for col in zip(*(_columns(r) for r in rows), strict=True))],
            )
        else:
            cursor.executemany(
                """
                UPDATE notices_delivery SET
                    status = CASE WHEN status = 'sending' THEN %s ELSE status END,
                    fallback_pending = CASE WHEN status = 'sending' THEN %s
                                            ELSE fallback_pending END,
                    provider_id = CASE WHEN %s <> '' THEN %s ELSE provider_id END,
                    sent_at = COALESCE(sent_at, %s),
                    delivered_at = COALESCE(delivered_at, %s),
                    next_attempt_at = CASE WHEN status = 'sending' THEN %s
                                           ELSE next_attempt_at END,
                    last_error = CASE WHEN status = 'sending' THEN %s ELSE last_error END,
                    in_doubt = CASE WHEN status = 'sending' THEN %s ELSE in_doubt END,
                    claimed_at = NULL, updated_at = %s
                WHERE id = %s
                """,
                [
                    [
                        r.status,
                        r.fallback_pending,
                        r.provider_id,
                        r.provider_id,
                        r.sent_at,
                        r.delivered_at,
                        r.next_attempt_at,
                        r.last_error,
                        r.in_doubt,
                        now,
                        r.id,
                    ]
                    for r in rows
                ],
            )


def insert_events(events: list[DeliveryEvent]) -> None:
    """Append events in one statement: a hot path, so no model instances' save()."""
    if not events:
        return
    values = [
        (e.delivery_id, e.source, e.status, e.provider_status or "", e.detail, e.created_at)
        for e in events
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "INSERT INTO notices_deliveryevent "
                "(delivery_id, source, status, provider_status, detail, created_at) "
                "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], "
                "%s::text[], %s::timestamptz[])",
                [list(column) for column in zip(*values, strict=True)],
            )
        else:
            cursor.executemany(
                "INSERT INTO notices_deliveryevent "
                "(delivery_id, source, status, provider_status, detail, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                values,
            )


def _columns(row: _Row) -> tuple:
    return (
        row.id,
        row.status,
        row.provider_id,
        row.sent_at,
        row.delivered_at,
        row.next_attempt_at,
        row.last_error,
        row.fallback_pending,
        row.in_doubt,
    )


def _still_claimed(failures: list[Outcome]) -> list[Outcome]:
    """The failures whose rows are still in this worker's claim."""
    if not failures:
        return failures
    claims = {(o.item.id, o.item.claimed_at) for o in failures}
    rows = Delivery.objects.filter(
        pk__in=[o.item.id for o in failures], status=DeliveryStatus.SENDING
    ).values_list("id", "claimed_at")
    mine = {pk for pk, claimed_at in rows if (pk, claimed_at) in claims}
    return [o for o in failures if o.item.id in mine]


def _prepare_rows(items: list[Claimed]) -> set[int]:
    """Store what each item will send and mark it prepared, only where the row is
    still in this claim (sending, with this claim's time); returns those ids."""
    if not items:
        return set()
    prepared_at = timezone.now()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE notices_delivery d SET reference = v.reference, subject = v.subject, "
                'body = v.body, provider = v.provider, "to" = v.address, prepared_at = %s '
                "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], "
                "%s::text[], %s::timestamptz[]) "
                "AS v(id, reference, subject, body, provider, address, claimed_at) "
                "WHERE d.id = v.id AND d.status = 'sending' AND d.claimed_at = v.claimed_at "
                "RETURNING d.id",
                [
                    prepared_at,
                    [i.id for i in items],
                    [i.reference for i in items],
                    [i.subject for i in items],
                    [i.body for i in items],
                    [i.provider for i in items],
                    [i.to for i in items],
                    [i.claimed_at for i in items],
                ],
            )
            return {row[0] for row in cursor.fetchall()}
        mine = set()
        for i in items:
            cursor.execute(
                "UPDATE notices_delivery SET reference = %s, subject = %s, body = %s, "
                'provider = %s, "to" = %s, prepared_at = %s '
                "WHERE id = %s AND status = 'sending' AND claimed_at = %s",
                [
                    i.reference,
                    i.subject,
                    i.body,
                    i.provider,
                    i.to,
                    prepared_at,
                    i.id,
                    i.claimed_at,
                ],
            )
            if cursor.rowcount:
                mine.add(i.id)
        return mine


# --- fall-back --------------------------------------------------------------


def plan_fallbacks(campaign: Campaign, limit: int = 1000) -> int:
    """For deliveries that failed for good on one channel, plan the next channel
    of that customer's order; with none left, the delivery is undeliverable.

    Every dispatcher of a campaign starts here, side by side. The failed rows are
    taken under lock (the others skip them) and the channels tried are read after,
    so two runs can neither plan one fall-back twice nor call undeliverable a
    delivery the other has just moved to its next channel.
    """
    with transaction.atomic():
        failed = list(
            Delivery.objects.filter(campaign=campaign, fallback_pending=True)
            # no_key: receipts may still add events to these rows meanwhile.
            .select_for_update(skip_locked=True, no_key=True)
            .values_list("id", "customer_id", "channel")[:limit]
        )
        if not failed:
            return 0
        _plan_fallbacks_locked(campaign, failed)
    return len(failed)


def _plan_fallbacks_locked(campaign: Campaign, failed: list[tuple[int, int, str]]) -> None:
    customer_ids = {customer_id for _, customer_id, _ in failed}
    customers = {
        c.pk: c
        for c in Customer.objects.filter(pk__in=customer_ids).only(
            "phone", "email", "user_id", "preferred_channel", "preferred_language"
        )
    }
    devices = _latest_devices({c.user_id for c in customers.values() if c.user_id})
    tried: dict[int, set[str]] = defaultdict(set)
    for customer_id, channel in Delivery.objects.filter(
        campaign=campaign, customer_id__in=customer_ids
    ).values_list("customer_id", "channel"):
        tried[customer_id].add(channel)

    now = timezone.now()
    new, fell_back, undeliverable, events = [], [], [], []
    for delivery_id, customer_id, _channel in failed:
        customer = customers[customer_id]
        contact = {
            "phone": customer.phone,
            "email": customer.email,
            "user_id": customer.user_id,
            "device": devices.get(customer.user_id, ""),
        }
        next_channel = next(
            (
                ch
                for ch in channel_order_for(customer.preferred_channel, campaign.channels)
                if ch not in tried[customer_id] and reachable(ch, **contact)
            ),
            None,
        )
        if next_channel is None:
            undeliverable.append(delivery_id)
            events.append((delivery_id, DeliveryStatus.UNDELIVERABLE, "no other channel left"))
            continue
        tried[customer_id].add(next_channel)
        fell_back.append(delivery_id)
        events.append((delivery_id, DeliveryStatus.FAILED, f"falling back to {next_channel}"))
        new.append(
            Delivery(
                campaign=campaign,
                customer_id=customer_id,
                channel=next_channel,
                to=address(next_channel, **contact),
                language=customer.preferred_language,
            )
        )
    Delivery.objects.bulk_create(new, ignore_conflicts=True)
    Delivery.objects.filter(pk__in=fell_back).update(fallback_pending=False, updated_at=now)
    Delivery.objects.filter(pk__in=undeliverable).update(
        fallback_pending=False, status=DeliveryStatus.UNDELIVERABLE, updated_at=now
    )
    DeliveryEvent.objects.bulk_create(
        DeliveryEvent(
            delivery_id=i,
            source=DeliveryEvent.Source.DISPATCH,
            status=s,
            detail=d,
            created_at=now,
        )
        for i, s, d in events
    )


def _latest_devices(user_ids: set[int]) -> dict[int, str]:
    """Each user's most recently registered active push token."""
    from notices.models import Device

    tokens: dict[int, str] = {}
    for user_id, token in (
        Device.objects.filter(user_id__in=user_ids, active=True)
        .order_by("user_id", "-updated_at")
        .values_list("user_id", "token")
    ):
        tokens.setdefault(user_id, token)
    return tokens


# --- one batch ----------------------------------------------------------------


def superseded(campaign: Campaign, generation: int | None) -> bool:
    """Whether a dispatcher of ``generation`` belongs to a set since replaced
    (``kick_campaign``); one queued without a generation is not."""
    return generation is not None and generation != campaign.dispatch_generation


def dispatch_batch(
    campaign_id: int, batch_size: int | None = None, *, generation: int | None = None
) -> BatchResult:
    """Claim, render, record, send and record one batch of a sending campaign
    (nothing, for a dispatcher of a ``generation`` since replaced)."""
    result = BatchResult()
    # A batch hands to providers only what its rates let go within a task's time.
    deadline = time.monotonic() + settings.DISPATCH_TASK_SECONDS
    campaign = Campaign.objects.select_related("incident").get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING or superseded(campaign, generation):
        return result
    plan_fallbacks(campaign)
    items = claim(campaign.pk, batch_size or settings.DISPATCH_BATCH_SIZE)
    result.claimed = len(items)
    if not items:
        return result
    Campaign.objects.filter(pk=campaign.pk).update(dispatched_at=timezone.now())

    assign_providers(items)
    failures, ready = prepare_batch(campaign, items)

    sending = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SENDING)
    sent, unsent = send_batch_until(
        campaign, ready, result.latencies, deadline=deadline, still_on=sending.exists
    )
    release_unsent(unsent)
    refused, sent = _refused_accounts(sent)
    outcomes = failures + sent
    statuses = record_outcomes(outcomes) + [DeliveryStatus.PENDING] * len(refused)
    _report_health(outcomes + [o for o in refused if not o.stopped])
    if unsent or DeliveryStatus.PENDING in statuses:
        # Cancelled meanwhile: what went back to pending is skipped, as the
        # cancel skipped every row pending then.
        from notices.services.campaigns import deliveries_skip_if_cancelled

        deliveries_skip_if_cancelled(campaign_id=campaign.pk)
    # Counted by what was recorded: a transient error on the last attempt is a failure.
    for status in statuses:
        if status == DeliveryStatus.FAILED:
            result.failed += 1
        elif status == DeliveryStatus.PENDING:
            result.retried += 1
        else:
            result.sent += 1
    return result


def assign_providers(items: list[Claimed]) -> None:
    """Each item's provider: the first of its channel whose circuit is closed,
    except for an item in doubt, which stays with the provider that may already
    have it. Only that provider can say whether it does (another would be
    asked in vain, and send a second copy), and its receipts name it."""
    chosen = {ch: channels.choose_provider(ch) for ch in {i.channel for i in items}}
    for item in items:
        stays = item.in_doubt and item.stored_provider in channels.provider_names(item.channel)
        item.provider = item.stored_provider if stays else chosen[item.channel]


def _report_health(outcomes: list[Outcome]) -> None:
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    refused: set[tuple[str, str]] = set()
    for outcome in outcomes:
        key = (outcome.item.channel, outcome.item.provider)
        transient = outcome.error is not None and not outcome.error.permanent
        tally[key][0 if transient else 1] += 1
        if outcome.error is not None and outcome.error.account:
            refused.add(key)
    for (channel, provider), (failures, successes) in tally.items():
        channels.record_provider_health(channel, provider, failures=failures, successes=successes)
    # An account refused stops its batch at the first refusal, so it would add
    # one failure a batch, never enough to open its circuit: set aside at once,
    # its held-back messages go to the channel's next provider, if it has one.
    for channel, provider in refused:
        channels.provider_set_aside(channel, provider)


# --- one resend -----------------------------------------------------------------


def claim_one(delivery_id: int) -> list[Claimed]:
    """Claim one pending delivery that is due, whatever its campaign's state."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE notices_delivery
               SET status = 'sending', claimed_at = %s, prepared_at = NULL,
                  attempts = attempts + 1, updated_at = %s
             WHERE id = %s AND status = 'pending'
               AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
         RETURNING id, customer_id, channel, "to", language, reference, attempts, in_doubt, provider
            """,
            [now, now, delivery_id, now],
        )
        return [Claimed(*row, claimed_at=now) for row in cursor.fetchall()]


def send_resend(delivery_id: int) -> Outcome | None:
    """Send a support agent's resend now: the same render, record-before-send,
    rate limit and outcome recording as a campaign batch. It falls back to no
    other channel: the agent chose this one."""
    items = claim_one(delivery_id)
    if not items:
        return None
    campaign = Campaign.objects.select_related("incident").get(deliveries__pk=delivery_id)
    assign_providers(items)
    failures, ready = prepare_batch(campaign, items)
    refused, sent = _refused_accounts(send_batch(campaign, ready, []))
    outcomes = failures + sent
    record_outcomes(outcomes, fallback=False)
    _report_health(outcomes + refused)
    outcomes += refused
    return outcomes[0] if outcomes else None  # None: no longer this worker's to send

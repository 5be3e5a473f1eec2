"""Thin Celery tasks: ids in, a service call, explicit time limits.

Redelivery is harmless everywhere: planning is idempotent, dispatch acts only
on rows it claims, and the sweep re-derives lost work from the database.
"""

from __future__ import annotations

import logging
import random
import time

from anymail.exceptions import AnymailAPIError
from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notices import dispatch, planning, services
from notices.channels.outbox import REFERENCE_HEADER
from notices.models import PROVIDER_ID_MAX_LENGTH, Campaign, Delivery, DeliveryStatus, TestSend
from portal import send_slots
from portal.transactional import (
    message_reference_new,
    printed_reference,
    transactional_message_record,
    transactional_message_sent,
    verify_url,
)

logger = logging.getLogger(__name__)
Status = Campaign.Status


def kick_campaign(campaign_id: int) -> None:
    """Start (or restart) planning and the campaign's parallel dispatchers.

    They are a new set: dispatchers of the set before (still queued for a
    retry's time after a pause and a resume, say) stop when they next run."""
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update()
            .only("parallelism", "planning_done", "dispatch_generation")
            .get(pk=campaign_id)
        )
        campaign.dispatch_generation += 1
        campaign.save(update_fields=["dispatch_generation"])
    # Queued once the new set is committed: its tasks must not find the old one.
    if not campaign.planning_done:
        campaign_plan.delay(campaign_id)
    for _ in range(max(1, campaign.parallelism)):
        campaign_dispatch.delay(campaign_id, campaign.dispatch_generation)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def campaign_plan(campaign_id: int) -> None:
    deadline = time.monotonic() + settings.DISPATCH_TASK_SECONDS
    while time.monotonic() < deadline:
        campaign = Campaign.objects.get(pk=campaign_id)
        if campaign.status not in (Status.SENDING, Status.PAUSED) or campaign.planning_done:
            return
        done = planning.plan_next(campaign)
        # A cancel that committed while this chunk was being written skipped
        # the rows pending then, not these.
        services.deliveries_skip_if_cancelled(campaign_id=campaign_id)
        if done:
            return
    campaign_plan.delay(campaign_id)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def campaign_dispatch(campaign_id: int, generation: int | None = None) -> None:
    """Send batches for a while, then hand over to a fresh task (or stop).

    ``generation``: the set of dispatchers this one belongs to; one of a set
    since replaced stops (None, queued before sets existed: it carries on)."""
    deadline = time.monotonic() + settings.DISPATCH_TASK_SECONDS
    while time.monotonic() < deadline:
        if not dispatch.dispatch_batch(campaign_id, generation=generation).claimed:
            break
    else:
        campaign_dispatch.delay(campaign_id, generation)
        return
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != Status.SENDING or dispatch.superseded(campaign, generation):
        return
    if not campaign.planning_done:
        campaign_dispatch.apply_async((campaign_id, generation), countdown=0.5)
        return
    if services.campaign_finish_if_done(campaign_id):
        return
    # Retries wait for their time; rows in flight belong to another dispatcher.
    next_retry = (
        Delivery.objects.filter(
            campaign_id=campaign_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at__isnull=False,
            resent_by__isnull=True,
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if (
        next_retry is not None
        or Delivery.objects.filter(campaign_id=campaign_id, fallback_pending=True).exists()
    ):
        wait = (next_retry - timezone.now()).total_seconds() if next_retry else 0
        campaign_dispatch.apply_async((campaign_id, generation), countdown=min(max(wait, 0.2), 60))


# Seconds a pending resend is left to its own task before the sweep queues another.
RESEND_RESCUE_AFTER = 60


@shared_task(time_limit=120, soft_time_limit=100)
def deliveries_sweep() -> None:
    """Every few seconds: rescue in-doubt deliveries and stalled campaigns."""
    drain_receipts.delay()  # a backstop for receipts buffered without a drain scheduled
    rescued = services.deliveries_mark_in_doubt(older_than_seconds=settings.DELIVERY_IN_DOUBT_AFTER)
    if rescued:
        logger.warning("sweep: %d deliveries in doubt", rescued)
    stale = timezone.now() - timezone.timedelta(seconds=max(60, settings.DISPATCH_TASK_SECONDS * 2))
    for campaign in Campaign.objects.filter(status=Status.SENDING):
        heartbeat = max(filter(None, [campaign.dispatched_at, campaign.updated_at]))
        if (
            heartbeat < stale
            and not services.campaign_finish_if_done(campaign.pk)
            and _work_left_unclaimed(campaign, since=stale)
        ):
            logger.warning("sweep: restarting campaign %s", campaign.pk)
            Campaign.objects.filter(pk=campaign.pk).update(dispatched_at=timezone.now())
            kick_campaign(campaign.pk)
    # Support resends whose task was lost (a worker died) or whose retry is overdue.
    # Each has its own task queued; while a backed-up queue still holds it, queuing
    # it at every sweep would only grow that queue: once a minute at most.
    now = timezone.now()
    quiet_since = now - timezone.timedelta(seconds=RESEND_RESCUE_AFTER)
    due = Delivery.objects.filter(
        resent_by__isnull=False, status=DeliveryStatus.PENDING, updated_at__lt=quiet_since
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=quiet_since))
    rescued = list(due.values_list("pk", flat=True)[:1000])
    Delivery.objects.filter(pk__in=rescued, status=DeliveryStatus.PENDING).update(updated_at=now)
    for delivery_id in rescued:
        resend_send.delay(delivery_id)
    # A late failure receipt needs a fall-back even after a campaign completed.
    reopen = Campaign.objects.filter(
        status=Status.COMPLETED, deliveries__fallback_pending=True
    ).distinct()
    for campaign in reopen:
        if Campaign.objects.filter(pk=campaign.pk, status=Status.COMPLETED).update(
            status=Status.SENDING, completed_at=None
        ):
            kick_campaign(campaign.pk)


def _work_left_unclaimed(campaign: Campaign, *, since) -> bool:
    """Whether a quiet campaign has work its dispatchers would have taken by now
    if they were alive. One whose rows all wait for a later retry is quiet with
    its dispatchers alive (each queued for that time): restarting it would only
    add dispatchers, each keeping itself queued until the campaign ends."""
    if not campaign.planning_done:
        return True
    pending = Delivery.objects.filter(
        campaign_id=campaign.pk, status=DeliveryStatus.PENDING, resent_by__isnull=True
    )
    return (
        pending.filter(next_attempt_at__isnull=True).exists()
        or pending.filter(next_attempt_at__lt=since).exists()
        or Delivery.objects.filter(campaign_id=campaign.pk, fallback_pending=True).exists()
    )


@shared_task(time_limit=60, soft_time_limit=50)
def test_send(test_send_id: int, slot_at: float | None = None, provider: str = "") -> None:
    from notices import channels
    from notices.channels.base import ChannelError, OutgoingMessage

    test = TestSend.objects.get(pk=test_send_id)
    if test.status != "pending":
        return
    provider = provider or channels.provider_names(test.channel)[0]
    _provider_slot(test_send, channel=test.channel, provider=provider, slot_at=slot_at)
    message = OutgoingMessage(
        reference=test.reference, to=test.to, body=test.body, subject=test.subject
    )
    # It prints its reference and the verify page's address, as a customer's
    # message does: that page vouches for it once the provider took it.
    transactional_message_record(reference=test.reference, channel=test.channel, to=test.to)
    backend = channels.get_backend(test.channel, provider)
    try:
        test.provider_id = backend.send(message)[:PROVIDER_ID_MAX_LENGTH]
        test.status = "sent"
    except ChannelError as exc:
        test.status, test.last_error = "failed", str(exc)
    finally:
        backend.end_batch()
    test.save(update_fields=["provider_id", "status", "last_error"])
    if test.status == "sent":
        transactional_message_sent(reference=test.reference)


# A code or a test send waits at most this long in a worker for its slot of the
# provider account's rate; a later slot is kept, and the task retried at it.
SLOT_MAX_WAIT = 2.0
# A retry that runs this late after its booked slot books a new one.
SLOT_STALE_AFTER = 1.0


# A retry after a provider error chooses its provider (failover) and slot afresh.
_NEW_SLOT = {"slot_at": None, "provider": ""}


def provider_slot_take(
    task,
    *,
    channel: str,
    slot_at: float | None = None,
    provider: str = "",
    useful_until: float | None = None,
) -> None:
    """A slot of the channel's provider account (the one booked, on a retry;
    else the first whose circuit is closed), for ``portal.send_slots``."""
    from notices import channels

    _provider_slot(
        task,
        channel=channel,
        provider=provider or channels.choose_provider(channel),
        slot_at=slot_at,
        useful_until=useful_until,
    )


def _provider_slot(
    task,
    *,
    channel: str,
    provider: str,
    slot_at: float | None,
    useful_until: float | None = None,
) -> None:
    """Take one slot of the provider account's rate, shared with every campaign.

    A slot more than ``SLOT_MAX_WAIT`` away is not waited for: the task is
    retried at that time, carrying the slot (``slot_at``, epoch seconds) and the
    provider it was booked at, so the retry uses it instead of queueing again.
    A slot at or after ``useful_until`` raises ``SlotAfterExpiry``: a retry that
    ran late books again, and under a lasting backlog a code would otherwise be
    retried until long after it expired, and then arrive useless.
    """
    from notices import channels, ratelimit

    now = time.time()
    if slot_at is None or slot_at < now - SLOT_STALE_AFTER:
        key, rate = channels.rate_key(channel, provider), channels.provider_rate(channel, provider)
        slot_at = now + ratelimit.slot_delay(key, rate)
    if useful_until is not None and slot_at >= useful_until:
        raise send_slots.SlotAfterExpiry(
            f"{channel} slot at {slot_at:.0f}, of use until {useful_until:.0f}"
        )
    delay = slot_at - time.time()
    if delay > SLOT_MAX_WAIT:
        raise _retry_at_slot(task, slot_at=slot_at, provider=provider, countdown=delay)
    if delay > 0:
        time.sleep(delay)


def _retry_at_slot(task, *, slot_at: float, provider: str, countdown: float):
    """Retry at the booked slot without spending one of the task's retries.

    Its limit is for provider errors: waiting for the rate is not one, and on
    breach day, counted, a few waits would use them up and drop a code unsent.
    """
    request = task.request
    request.retries -= 1  # retry() counts it back
    try:
        return task.retry(
            kwargs={**(request.kwargs or {}), "slot_at": slot_at, "provider": provider},
            countdown=countdown,
        )
    finally:
        request.retries += 1


@shared_task(time_limit=120, soft_time_limit=100)
def drain_receipts() -> None:
    from notices.receipts import drain_receipts as drain

    drain()


@shared_task(time_limit=120, soft_time_limit=100)
def publish_due_notices() -> None:
    services.notices_publish_due()


# OSError: the network or SMTP; AnymailAPIError: an email provider's refusal
# or throttling. Either way the customer is waiting for this message: retried.
_DIRECT_MESSAGE = {
    "time_limit": 60,
    "soft_time_limit": 50,
    "autoretry_for": (OSError, AnymailAPIError),
    "retry_backoff": True,
    "max_retries": 3,
}


@shared_task(**_DIRECT_MESSAGE)
def send_contact_code(
    verification_id: int,
    code: str,
    reference: str = "",
    slot_at: float | None = None,
    provider: str = "",
    in_doubt: bool = False,
) -> None:
    """A code to confirm a new email or phone, on the transactional queue,
    with a reference /verify vouches for once it is sent."""
    from django.utils import translation
    from django.utils.translation import gettext as _

    from notices.models import ContactVerification

    verification = ContactVerification.objects.select_related("customer").get(pk=verification_id)
    reference = reference or message_reference_new()
    by_email = verification.kind == ContactVerification.Kind.EMAIL
    with translation.override(verification.customer.preferred_language):
        text = _(
            "Your %(site)s code is %(code)s. It confirms these as your new contact details. "
            "We will never ask you for it by phone."
        ) % {"site": settings.SITE_NAME, "code": code}
        text += ("\n\n" if by_email else " ") + _reference_line(reference)
        subject = _("Confirm your email address")
    _send_direct(
        send_contact_code,
        channel="email" if by_email else "sms",
        to=verification.value,
        subject=subject,
        text=text,
        reference=reference,
        slot_at=slot_at,
        provider=provider,
        in_doubt=in_doubt,
        useful_until=verification.expires_at.timestamp(),
    )


@shared_task(**_DIRECT_MESSAGE)
def send_contact_changed(
    customer_id: int,
    kind: str,
    old_value: str,
    reference: str = "",
    slot_at: float | None = None,
    provider: str = "",
    in_doubt: bool = False,
) -> None:
    """Tell the email or phone a customer's record no longer has that it was
    replaced: whoever changed it with a stolen session or phone is noticed by
    the one they took it from. The message names neither the old nor the new
    detail."""
    from django.utils import translation
    from django.utils.translation import gettext as _

    from customers.models import Customer

    customer = Customer.objects.get(pk=customer_id)
    reference = reference or message_reference_new()
    by_email = kind == "email"
    with translation.override(customer.preferred_language):
        if by_email:
            text = _(
                "The email address on your %(site)s record has just been changed, and "
                "this address no longer signs you in or receives our alerts."
            )
        else:
            text = _(
                "The phone number on your %(site)s record has just been changed, and "
                "this number no longer receives our alerts."
            )
        text = (text + " " + _("If you did not change it, contact us now: %(url)s")) % {
            "site": settings.SITE_NAME,
            "url": f"{settings.PORTAL_BASE_URL}/help/",
        }
        text += ("\n\n" if by_email else " ") + _reference_line(reference)
        subject = _("Your email address was changed")
    _send_direct(
        send_contact_changed,
        channel="email" if by_email else "sms",
        to=old_value,
        subject=subject,
        text=text,
        reference=reference,
        slot_at=slot_at,
        provider=provider,
        in_doubt=in_doubt,
    )


def _send_direct(
    task,
    *,
    channel: str,
    to: str,
    subject: str,
    text: str,
    reference: str,
    slot_at: float | None,
    provider: str,
    in_doubt: bool = False,
    useful_until: float | None = None,
) -> None:
    """Record one message's reference, take its provider slot and send it by
    email or text; /verify vouches for it once sent. A text the provider
    refuses for now is retried (the task's positional arguments kept), on a
    provider and slot chosen again; one it may have taken (its answer lost) is
    retried at the same provider, which is first asked for it by reference.
    One that the provider account refuses as a whole is retried later without
    spending a retry (``_retry_refused_account``)."""
    from django.core.mail import EmailMessage

    from notices import channels
    from notices.channels.base import ChannelError, OutgoingMessage
    from notices.channels.email import account_refusal

    recorded_at = transactional_message_record(reference=reference, channel=channel, to=to)
    refused = {
        "task": task,
        "reference": reference,
        "channel": channel,
        "until": useful_until or recorded_at.timestamp() + ACCOUNT_RETRY_FOR,
    }
    provider = provider or channels.choose_provider(channel)
    try:
        _provider_slot(
            task, channel=channel, provider=provider, slot_at=slot_at, useful_until=useful_until
        )
    except send_slots.SlotAfterExpiry as exc:
        logger.warning("message %s not sent, it would arrive expired: %s", reference, exc)
        return
    if channel == "email":
        try:
            EmailMessage(subject, text, to=[to], headers={REFERENCE_HEADER: reference}).send()
        except Exception as exc:
            refusal = account_refusal(exc)
            if refusal is None:
                raise  # the task's own retries, with back-off
            _retry_refused_account(**refused, error=refusal, provider=provider, in_doubt=False)
            return
    else:
        message = OutgoingMessage(reference=reference, to=to, body=text)
        backend = channels.get_backend("sms", provider)
        try:
            if not (in_doubt and _already_taken(backend, message)):
                backend.send(message)
        except ChannelError as exc:
            if exc.permanent:
                return
            if exc.account:
                _retry_refused_account(**refused, error=exc, provider=provider, in_doubt=in_doubt)
                return
            # A text the provider may have taken is asked for there, not sent
            # by whichever provider is free next.
            doubt = in_doubt or exc.ambiguous
            retry = (
                {"slot_at": None, "provider": provider, "in_doubt": True} if doubt else _NEW_SLOT
            )
            raise task.retry(exc=exc, countdown=10, kwargs=retry) from exc
    transactional_message_sent(reference=reference)


# A message outside a campaign with no expiry of its own (a claim code, a
# contact-change notice) that its provider account keeps refusing is retried
# for this long after it was first recorded, then dropped (logged).
ACCOUNT_RETRY_FOR = 24 * 3600


def _retry_refused_account(
    task,
    *,
    reference: str,
    channel: str,
    provider: str,
    in_doubt: bool,
    error,
    until: float,
) -> None:
    """A message its provider account refused as a whole (sign-in, sender, a
    revoked token, a suspended account), as a campaign's is: tried again in
    about ``dispatch.ACCOUNT_RETRY_SECONDS`` without spending one of the task's
    retries (a few seconds' worth, kept for errors of the message's own: a
    refusal lasting longer would drop the code), and the provider set aside
    when the channel has another. Not past ``until`` (the code would arrive
    expired, or ``ACCOUNT_RETRY_FOR`` has gone by): then it is dropped, logged."""
    from notices import channels

    countdown = dispatch.ACCOUNT_RETRY_SECONDS * random.uniform(1, 1.2)
    if time.time() + countdown >= until:
        logger.warning(
            "message %s not sent, its provider account refused it while it was of use: %s",
            reference,
            error,
        )
        return
    channels.provider_set_aside(channel, provider)
    # One that may have been taken is asked for at the same provider, as above.
    kwargs = {"slot_at": None, "provider": provider, "in_doubt": True} if in_doubt else _NEW_SLOT
    request = task.request
    request.retries -= 1  # retry() counts it back
    try:
        raise task.retry(exc=error, countdown=countdown, kwargs=kwargs)
    finally:
        request.retries += 1


def _already_taken(backend, message) -> bool:
    """Whether the provider has this text already; one that cannot be asked is
    taken to have it (as a campaign's in-doubt message is): not sent twice."""
    from notices.channels.base import LookupUnsupported

    try:
        return bool(backend.lookup(message))
    except LookupUnsupported:
        return True


def _reference_line(reference: str) -> str:
    from django.utils.translation import gettext as _

    return _("Check ref %(reference)s at %(url)s") % {
        "reference": printed_reference(reference),
        "url": verify_url(),
    }


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def resend_send(delivery_id: int) -> None:
    """A support agent's resend, at once; a transient failure tries again later."""
    outcome = dispatch.send_resend(delivery_id)
    if outcome is not None and outcome.error is not None and not outcome.error.permanent:
        next_at = (
            Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if next_at is not None:
            wait = max((next_at - timezone.now()).total_seconds(), 0.2)
            resend_send.apply_async((delivery_id,), countdown=wait)


@shared_task(
    time_limit=60, soft_time_limit=50, autoretry_for=(OSError,), retry_backoff=True, max_retries=3
)
def send_claim_code(
    customer_id: int,
    code: str,
    reference: str = "",
    slot_at: float | None = None,
    provider: str = "",
    in_doubt: bool = False,
) -> None:
    """A claim code texted to the phone on record, on the transactional queue,
    with a reference /verify vouches for once it is sent."""
    from django.utils import translation
    from django.utils.translation import gettext as _

    from customers.models import Customer

    customer = Customer.objects.get(pk=customer_id)
    reference = reference or message_reference_new()
    with translation.override(customer.preferred_language):
        text = _(
            "Your %(site)s claim code is %(code)s. With your customer reference and date of "
            "birth it lets you set up your sign-in at %(url)s. We will never ask you for it."
        ) % {"site": settings.SITE_NAME, "code": code, "url": f"{settings.PORTAL_BASE_URL}/claim/"}
        text += " " + _reference_line(reference)
    _send_direct(
        send_claim_code,
        channel="sms",
        to=customer.phone,
        subject="",
        text=text,
        reference=reference,
        slot_at=slot_at,
        provider=provider,
        in_doubt=in_doubt,
    )

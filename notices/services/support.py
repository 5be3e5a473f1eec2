"""What a support agent does for a customer, each step on the audit log.

Corrections change where our alerts go, never the login: a login's email
changes only by the customer's own confirmed change or by a claim (a code
sent to the customer, then a code sent to the new address), so a caller who
talks an agent into a new email cannot sign in with it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited

from customers import claims
from customers.masking import mask_email, mask_name, mask_phone
from customers.models import ClaimCode, ContactNote, Customer
from customers.normalise import normalise_email, normalise_phone
from notices.audience import address, reachable
from notices.models import Campaign, CampaignTemplate, Delivery, DeliveryStatus, Device
from portal.audit import audit
from portal.models import AuditAction
from portal.observability.metrics import RATE_LIMIT_REFUSALS
from portal.transactional import message_reference_new

REVEALABLE = ("name", "email", "phone")
CLAIM_SMS_SECONDS = 60
# The same note again this soon is the form posted twice (a double click, a reload).
NOTE_REPEAT_SECONDS = 300
MIN_REASON = 10


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError(_("Say why, in a few words (at least 10 characters)."))
    return reason


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


def masked_values(customer: Customer) -> dict[str, str]:
    name = f"{customer.first_name} {customer.last_name}".strip()
    return {
        "name": mask_name(name) if name else "—",
        "email": mask_email(customer.email) if customer.email else "—",
        "phone": mask_phone(customer.phone) if customer.phone else "—",
    }


def customer_viewed(*, customer: Customer, by, request: HttpRequest | None = None) -> None:
    """Opening a customer's record is itself on the log."""
    audit(AuditAction.CUSTOMER_VIEW, actor=by, target=customer, request=request)


def customer_reveal(
    *, customer: Customer, field: str, reason: str, by, request: HttpRequest | None = None
) -> str:
    """The value behind a mask, once, for a recorded reason."""
    _require(by, "customers.reveal_customer_data")
    if field not in REVEALABLE:
        raise ValidationError(_("That field cannot be shown."))
    reason = _check_reason(reason)
    audit(
        AuditAction.CUSTOMER_REVEAL,
        actor=by,
        target=customer,
        field=field,
        reason=reason,
        request=request,
    )
    if field == "name":
        return f"{customer.first_name} {customer.last_name}".strip()
    return getattr(customer, field)


def customer_contact_correct(
    *,
    customer: Customer,
    field: str,
    value: str,
    reason: str,
    by,
    request: HttpRequest | None = None,
) -> Customer:
    """A corrected email or phone for alerts; unverified until the customer confirms it.

    A corrected email cannot open a first sign-in (customers.services.
    customer_login_ensure): the caller proves it with a claim code instead.
    """
    _require(by, "customers.change_customer_contact")
    reason = _check_reason(reason)
    if field == "email":
        new, masked, verified = normalise_email(value), mask_email, "email_verified"
    elif field == "phone":
        new, masked, verified = normalise_phone(value), mask_phone, "phone_verified"
    else:
        raise ValidationError(_("Choose email or phone."))
    old = getattr(customer, field)
    if new == old:
        raise ValidationError(_("That is already the value on record."))
    with transaction.atomic():
        setattr(customer, field, new)
        setattr(customer, verified, False)
        updated = [field, verified, "updated_at"]
        if field == "email":
            customer.email_from_support = True
            updated.append("email_from_support")
        customer.updated_at = timezone.now()
        customer.save(update_fields=updated)
        audit(
            AuditAction.CONTACT_CHANGE,
            actor=by,
            target=customer,
            field=field,
            reason=reason,
            detail={
                "from": masked(old) if old else "",
                "to": masked(new) if new else "",
            },
            request=request,
        )
    return customer


def contact_note_add(
    *, customer: Customer, kind: str, text: str, by, request: HttpRequest | None = None
) -> ContactNote:
    _require(by, "customers.add_contactnote")
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Write the note."))
    with transaction.atomic():
        # One at a time per customer, so that a form posted twice finds its first
        # copy and does not store the note again.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        since = timezone.now() - timedelta(seconds=NOTE_REPEAT_SECONDS)
        last = ContactNote.objects.filter(customer=customer).order_by("-pk").first()
        if (
            last is not None
            and (last.author_id, last.kind, last.text) == (by.pk, kind, text)
            and last.created_at >= since
        ):
            raise ValidationError(_("This note is already added."))
        note = ContactNote(customer=customer, kind=kind, text=text, author=by)
        note.full_clean(exclude=["author", "customer"])
        note.save()
        audit(
            AuditAction.NOTE_ADD, actor=by, target=customer, detail={"kind": kind}, request=request
        )
    return note


def claim_code_give(
    *, customer: Customer, send_by_sms: bool, by, request: HttpRequest | None = None
) -> str | None:
    """A new claim code: returned to read out, or texted to the phone on record
    (and then not shown to the agent at all)."""
    _require(by, "customers.add_claimcode")
    if send_by_sms and not customer.phone:
        raise ValidationError(_("There is no phone number on record to text the code to."))
    via = ClaimCode.Via.SMS if send_by_sms else ClaimCode.Via.SUPPORT
    with transaction.atomic():
        if send_by_sms:
            # A second click would text a second code and withdraw the first:
            # one text a customer a minute (the row lock orders two clicks).
            Customer.objects.select_for_update().filter(pk=customer.pk).first()
            since = timezone.now() - timedelta(seconds=CLAIM_SMS_SECONDS)
            if ClaimCode.objects.filter(customer=customer, via=via, created_at__gte=since).exists():
                raise ValidationError(
                    _("A claim code was just texted to this customer: wait a minute.")
                )
        code = claims.claim_code_issue(customer=customer, via=via, by=by)
        audit(
            AuditAction.CLAIM_CODE_ISSUE,
            actor=by,
            target=customer,
            detail={"via": via},
            request=request,
        )
        if send_by_sms:
            from notices import tasks

            # Drawn once: a retried send prints and records the same reference.
            reference = message_reference_new()
            transaction.on_commit(lambda: tasks.send_claim_code.delay(customer.pk, code, reference))
            return None
    return code


def latest_alert(customer: Customer) -> Delivery | None:
    """The customer's most recent campaign message (not a resend)."""
    return (
        Delivery.objects.filter(customer=customer, resent_by__isnull=True)
        .select_related("campaign")
        .order_by("-created_at", "-pk")
        .first()
    )


def resend_channels(customer: Customer, latest: Delivery | None) -> list[str]:
    """Channels the latest alert has a message for and the customer can be reached on."""
    if (
        latest is None
        or latest.campaign.status == Campaign.Status.CANCELLED
        or latest.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
    ):
        return []
    device = _device_token(customer)
    written = set(
        CampaignTemplate.objects.filter(campaign_id=latest.campaign_id).values_list(
            "channel", flat=True
        )
    )
    return [
        ch
        for ch in latest.campaign.channels
        if ch in written
        and reachable(
            ch, phone=customer.phone, email=customer.email, user_id=customer.user_id, device=device
        )
    ]


def _device_token(customer: Customer) -> str:
    if customer.user_id is None:
        return ""
    return (
        Device.objects.filter(user_id=customer.user_id, active=True)
        .order_by("-updated_at")
        .values_list("token", flat=True)
        .first()
        or ""
    )


def alert_resend(
    *, customer: Customer, channel: str, by, request: HttpRequest | None = None
) -> Delivery:
    """Send the latest alert again on a chosen channel, at once."""
    _require(by, "notices.resend_delivery")
    latest = latest_alert(customer)
    if latest is None:
        raise ValidationError(_("We have sent this customer no alert yet."))
    if latest.campaign.status == Campaign.Status.CANCELLED:
        # Cancelled: withdrawn, often for what it said; nobody is sent it again.
        raise ValidationError(_("The latest alert's campaign was cancelled: it is not resent."))
    if latest.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        # The campaign has yet to reach them: a resend now would be a second copy.
        raise ValidationError(_("The latest alert is still on its way to this customer."))
    if channel not in resend_channels(customer, latest):
        raise ValidationError(_("The latest alert cannot be sent on that channel."))
    if request is not None and is_ratelimited(
        request,
        group="support:resend",
        key=lambda _g, _r: str(customer.pk),
        rate=settings.RESEND_RATE_PER_CUSTOMER,
        increment=True,
    ):
        RATE_LIMIT_REFUSALS.labels("support:resend").inc()
        raise ValidationError(_("This customer has had several resends in the last hour."))
    to = address(
        channel,
        phone=customer.phone,
        email=customer.email,
        user_id=customer.user_id,
        device=_device_token(customer),
    )
    with transaction.atomic():
        delivery = Delivery.objects.create(
            campaign_id=latest.campaign_id,
            customer=customer,
            channel=channel,
            status=DeliveryStatus.PENDING,
            to=to,
            language=customer.preferred_language,
            resent_by=by,
        )
        audit(
            AuditAction.DELIVERY_RESEND,
            actor=by,
            target=customer,
            detail={"campaign": latest.campaign_id, "channel": channel, "delivery": delivery.pk},
            request=request,
        )
        from notices import tasks

        transaction.on_commit(lambda: tasks.resend_send.delay(delivery.pk))
    return delivery

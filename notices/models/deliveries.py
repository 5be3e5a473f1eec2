"""One message to one customer on one channel, and the history of its states."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Channel, Customer, Language
from notices.models.campaigns import Campaign


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed, next channel tried")
    UNDELIVERABLE = "undeliverable", _("Undeliverable")
    SKIPPED = "skipped", _("Skipped")


# Where a status sits in a delivery's life. Receipts never move a delivery to a
# lower rank, so a late "sent" cannot undo "delivered".
STATUS_RANK = {
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.FAILED: 3,
    DeliveryStatus.UNDELIVERABLE: 3,
    DeliveryStatus.SKIPPED: 3,
}
FINAL_STATUSES = {
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.UNDELIVERABLE,
    DeliveryStatus.SKIPPED,
}
# A provider's id for a message, cut to this when stored: one longer (a
# provider's whim) must not fail the recording of a batch already sent.
PROVIDER_ID_MAX_LENGTH = 255
# Handed to a provider (or the in-app inbox): what "heard from us" counts.
HANDED_OVER_STATUSES = {DeliveryStatus.SENT, DeliveryStatus.DELIVERED}


class Delivery(models.Model):
    """Recorded before it is sent; afterwards it holds the outcome.

    ``reference`` is the public verification code printed in the message; it is
    generated when the message is first rendered (see ``notices.references``).
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=Channel)
    status = models.CharField(max_length=14, choices=DeliveryStatus, default="pending")
    # Contact snapshot: the number, address or login the message went to.
    to = models.CharField(max_length=254, blank=True)
    language = models.CharField(max_length=2, choices=Language, default="en")
    reference = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001 - NULL: not drawn yet
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    provider = models.CharField(max_length=32, blank=True)
    # An email's is its Message-ID, which names our host: often over 64 characters.
    provider_id = models.CharField(max_length=PROVIDER_ID_MAX_LENGTH, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set once the current attempt's render and reference are stored, just before
    # the provider is called; NULL while only claimed. A dead worker's row with
    # it set may have reached the provider (in doubt); without it, it cannot have.
    prepared_at = models.DateTimeField(null=True, blank=True)
    # A permanent failure whose fall-back to the next channel is still to plan.
    fallback_pending = models.BooleanField(default=False)
    # An earlier attempt may have reached the provider (worker died, answer lost):
    # look the message up by its reference before sending it again.
    in_doubt = models.BooleanField(default=False)
    last_error = models.TextField(blank=True)
    # Set on a support agent's resend of an alert (any number per channel).
    # No index or constraint: ten million planned rows must not pay for it.
    resent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the retention policy (portal/retention.py) removed the text and
    # the contact snapshot; the address is then kept masked (•••• ••• 321).
    content_removed_at = models.DateTimeField(_("content removed"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        permissions = [("resend_delivery", _("Can resend a customer's latest alert"))]
        constraints = [
            # One planned message per channel; resends come on top.
            models.UniqueConstraint(
                fields=["campaign", "customer", "channel"],
                condition=Q(resent_by__isnull=True),
                name="delivery_unique_per_channel",
            ),
            # Planned rows have no reference yet: only drawn references are indexed.
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(reference__isnull=False),
                name="delivery_unique_reference",
            ),
        ]
        indexes = [
            # Workers claim a campaign's retries that are due, then its rows never
            # tried, oldest first; rows waiting for a later retry are in neither's way.
            models.Index(
                fields=["campaign", "next_attempt_at", "id"],
                condition=Q(status="pending", next_attempt_at__isnull=False),
                name="delivery_pending_retry",
            ),
            models.Index(
                fields=["campaign", "id"],
                condition=Q(status="pending", next_attempt_at__isnull=True),
                name="delivery_pending_fresh",
            ),
            # The sweep finds rows left "sending" by a dead worker.
            models.Index(
                fields=["claimed_at"], condition=Q(status="sending"), name="delivery_in_doubt"
            ),
            models.Index(
                fields=["campaign", "id"],
                condition=Q(fallback_pending=True),
                name="delivery_fallback_pending",
            ),
            models.Index(fields=["campaign", "status", "channel"], name="delivery_counts"),
            # The sweep finds resends still to send; only resends are in it.
            models.Index(
                fields=["id"],
                condition=Q(resent_by__isnull=False, status="pending"),
                name="delivery_resend_pending",
            ),
            models.Index(
                fields=["provider", "provider_id"],
                condition=~Q(provider_id=""),
                name="delivery_provider_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to customer {self.customer_id} ({self.status})"


class DeliveryEvent(models.Model):
    """Append-only: every state change and every provider receipt of a delivery."""

    class Source(models.TextChoices):
        DISPATCH = "dispatch", _("Dispatch")
        CALLBACK = "callback", _("Provider callback")
        SWEEP = "sweep", _("Sweep")
        STAFF = "staff", _("Staff")

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(max_length=10, choices=Source)
    status = models.CharField(max_length=14, choices=DeliveryStatus)
    provider_status = models.CharField(max_length=32, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        constraints = [
            # Providers repeat callbacks: one receipt per (delivery, provider status).
            models.UniqueConstraint(
                fields=["delivery", "provider_status"],
                condition=Q(source="callback"),
                name="deliveryevent_callback_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.status}"


class RateBucket(models.Model):
    """The next free send slot (epoch seconds) of a provider account (key
    ``provider:<channel>:<name>``, shared by every campaign and resend) or of one
    campaign's channel (``<campaign id>:<channel>``, the campaign's own cap).

    Every worker reserves its slots here, so the rate holds across machines.
    """

    key = models.CharField(max_length=64, primary_key=True)
    next_slot = models.FloatField(default=0.0)

    class Meta:
        verbose_name = _("rate bucket")

    def __str__(self) -> str:
        return self.key

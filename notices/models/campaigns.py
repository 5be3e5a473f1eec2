"""Direct alerts: a campaign about an incident, its message templates, its audience."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Channel, DataClass, Incident, Language


class CustomerStatusFilter(models.TextChoices):
    ALL = "all", _("Current and former customers")
    CURRENT = "current", _("Current customers only")
    FORMER = "former", _("Former customers only")


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(_("name"), max_length=200)
    # Audience: everyone affected by the incident, or those with any of these exposed.
    data_classes = models.ManyToManyField(
        DataClass,
        blank=True,
        verbose_name=_("exposed data classes"),
        help_text=_("Leave empty for every affected customer."),
    )
    customer_status = models.CharField(
        _("customers"), max_length=8, choices=CustomerStatusFilter, default="all"
    )
    # Comma-separated, in order of preference, e.g. "sms,email,inapp".
    channel_order = models.CharField(
        _("channel order"),
        max_length=40,
        default="sms,email,inapp",
        help_text=_("Channels in order, separated by commas: sms, email, inapp."),
    )
    sms_rate = models.PositiveIntegerField(_("SMS per second"), default=100)
    email_rate = models.PositiveIntegerField(_("emails per second"), default=200)
    push_rate = models.PositiveIntegerField(_("push notifications per second"), default=500)
    parallelism = models.PositiveSmallIntegerField(
        _("parallel senders"), default=4, help_text=_("Dispatch tasks working at once.")
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    # Who last changed what it says or whom it reaches: never its approver.
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # Everyone who wrote or changed it: none of them approves it.
    editors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Planning walks the audience by customer id; this is how far it got.
    planned_through = models.BigIntegerField(default=0)
    planning_done = models.BooleanField(default=False)
    # Heartbeat of the dispatchers, for the sweep to notice a stalled campaign.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Which set of dispatchers is the campaign's: each start (send, resume, a
    # restart by the sweep) begins a new one, and a dispatcher of an older set
    # stops, so no more than ``parallelism`` of them work at once.
    dispatch_generation = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        permissions = [
            ("approve_campaign", _("Can approve a campaign written by someone else")),
            ("send_campaign", _("Can start, pause, resume and cancel sending")),
            ("export_unreachable", _("Can export the customers no channel reaches")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def channels(self) -> list[str]:
        return [c.strip() for c in self.channel_order.split(",") if c.strip()]

    def rate_for(self, channel: str) -> int:
        """Messages per second allowed on ``channel``; 0 means unlimited (in-app)."""
        return {"sms": self.sms_rate, "email": self.email_rate, "push": self.push_rate}.get(
            channel, 0
        )


class MessageTemplateBase(models.Model):
    """A message for one channel in one language, with ``{placeholders}``."""

    channel = models.CharField(_("channel"), max_length=8, choices=Channel)
    language = models.CharField(_("language"), max_length=2, choices=Language)
    subject = models.CharField(
        _("subject"), max_length=200, blank=True, help_text=_("Email and in-app only.")
    )
    body = models.TextField(_("body"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.channel}/{self.language}"


class IncidentTemplate(MessageTemplateBase):
    """The incident's default message; new campaigns start from a copy."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="templates")
    # Everyone who wrote or changed it: a campaign that copies it counts them
    # among its editors, so none of them approves the campaign.
    editors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)

    class Meta:
        verbose_name = _("default message template")
        verbose_name_plural = _("default message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "channel", "language"], name="incidenttemplate_unique"
            )
        ]


class CampaignTemplate(MessageTemplateBase):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="templates")

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "channel", "language"], name="campaigntemplate_unique"
            )
        ]


class TestSend(models.Model):
    """A campaign message sent to a staff member to check it, never to a customer."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="test_sends")
    channel = models.CharField(max_length=8, choices=Channel)
    language = models.CharField(max_length=2, choices=Language)
    to = models.CharField(max_length=254)
    body = models.TextField()
    subject = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=16)
    status = models.CharField(max_length=12, default="pending")
    provider_id = models.CharField(max_length=255, blank=True)  # as Delivery's
    last_error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("test send")
        verbose_name_plural = _("test sends")

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.channel}:{self.to}"

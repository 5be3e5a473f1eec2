"""Notices: what we publish about an incident, on the site and in the feed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from customers.models import Incident


class Notice(models.Model):
    class Audience(models.TextChoices):
        PUBLIC = "public", _("Everyone (public)")
        CUSTOMERS = "customers", _("All signed-in customers")
        AFFECTED = "affected", _("Affected customers only")

    class Kind(models.TextChoices):
        BREACH = "breach", _("Notice of data breach (regulated sections)")
        ADVISORY = "advisory", _("Advisory (e.g. a scam warning)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        PUBLISHED = "published", _("Published")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="notices")
    # The stable address: /notices/<slug>/ never changes once published.
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind, default=Kind.BREACH)
    audience = models.CharField(_("audience"), max_length=10, choices=Audience)
    title = models.CharField(_("title"), max_length=200)
    title_fr = models.CharField(_("title (French)"), max_length=200)
    summary = models.CharField(
        _("summary"), max_length=300, help_text=_("One or two sentences, shown in link previews.")
    )
    summary_fr = models.CharField(_("summary (French)"), max_length=300)
    body = models.TextField(_("body (Markdown)"))
    body_fr = models.TextField(_("body (French, Markdown)"))
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, db_index=True)
    # Why a scheduled publication is waiting (direct first), shown to staff.
    held_because = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    # Who last changed its text: never the one who publishes or schedules it.
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Everyone who wrote or changed its text: none of them publishes or schedules it.
    editors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    # Who scheduled it: the scheduler publishes it in their name.
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-published_at", "-created_at"]
        permissions = [("publish_notice", _("Can publish notices"))]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("notices:notice", args=[self.slug])


class NoticeUpdate(models.Model):
    """A dated entry in a published notice's timeline: corrections are added,
    never made by silently editing what was published."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="updates")
    body = models.TextField(_("update (Markdown)"))
    body_fr = models.TextField(_("update (French, Markdown)"))
    notify_affected = models.BooleanField(
        _("notify affected customers"),
        default=False,
        help_text=_("Create a draft direct alert about this update for the affected customers."),
    )
    campaign = models.ForeignKey(
        "notices.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("notice update")
        verbose_name_plural = _("notice updates")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.notice_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class DirectFirstOverride(models.Model):
    """An incident lead's recorded decision to publish before the affected have
    all heard from us directly. Append-only; shown on the incident."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="direct_first_overrides"
    )
    reason = models.TextField(_("reason"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("direct-first override")
        verbose_name_plural = _("direct-first overrides")
        ordering = ["-created_at"]
        permissions = [("override_direct_first", _("Can publish before the direct alert"))]

    def __str__(self) -> str:
        return f"{self.incident} by {self.by} at {self.created_at:%Y-%m-%d %H:%M}"


class SuspiciousReport(models.Model):
    """Someone reported a message that claims to come from us."""

    class Channel(models.TextChoices):
        SMS = "sms", _("Text message")
        EMAIL = "email", _("Email")
        CALL = "call", _("Phone call")
        OTHER = "other", _("Other")

    channel = models.CharField(_("how it reached you"), max_length=8, choices=Channel)
    sender = models.CharField(_("who it came from (number or address)"), max_length=200, blank=True)
    # The sender in one normal form (an E.164 number, a lower-cased address or
    # name), for the admin's search: an exact match on an index, where a
    # substring scan read the whole table (a public form fills it).
    sender_key = models.CharField(max_length=200, blank=True, default="", editable=False)
    reference = models.CharField(_("reference in the message, if any"), max_length=40, blank=True)
    message = models.TextField(_("the message"), max_length=5000)
    contact = models.CharField(_("how we can reach you (optional)"), max_length=200, blank=True)
    reviewed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("suspicious message report")
        verbose_name_plural = _("suspicious message reports")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["sender_key"], name="report_sender_key"),
            # The reference as typed, found in any case.
            models.Index(Upper("reference"), name="report_reference_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.created_at:%Y-%m-%d %H:%M}"

"""The staff audit log: who did what to whose data, when and why.

Append-only: the model refuses updates and deletes, and a database trigger
(migration 0001) refuses them from any other client too. Only the retention
purge may delete, on PostgreSQL, by setting ``firsthand.audit_purge`` for its
own transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CUSTOMER_VIEW = "customer.view", _("Opened a customer's record")
    CUSTOMER_REVEAL = "customer.reveal", _("Revealed personal data")
    CONTACT_CHANGE = "customer.contact_change", _("Corrected a contact detail")
    NOTE_ADD = "customer.note_add", _("Noted a contact")
    CLAIM_CODE_ISSUE = "claim_code.issue", _("Issued a claim code")
    DELIVERY_RESEND = "delivery.resend", _("Resent an alert")
    CAMPAIGN_CREATE = "campaign.create", _("Wrote a campaign")
    CAMPAIGN_EDIT = "campaign.edit", _("Edited a draft campaign")
    CAMPAIGN_APPROVE = "campaign.approve", _("Approved a campaign")
    CAMPAIGN_TEST_SEND = "campaign.test_send", _("Sent a campaign's test message")
    CAMPAIGN_SEND = "campaign.send", _("Started sending a campaign")
    CAMPAIGN_PAUSE = "campaign.pause", _("Paused a campaign")
    CAMPAIGN_RESUME = "campaign.resume", _("Resumed a campaign")
    CAMPAIGN_CANCEL = "campaign.cancel", _("Cancelled a campaign")
    NOTICE_PUBLISH = "notice.publish", _("Published a notice")
    NOTICE_SCHEDULE = "notice.schedule", _("Scheduled a notice")
    NOTICE_UPDATE = "notice.update", _("Published an update to a notice")
    NOTICE_EDIT = "notice.edit", _("Edited a draft notice")
    NOTICE_REDRAFT = "notice.redraft", _("Edited a scheduled notice (back to draft)")
    REPORT_REVIEW = "report.review", _("Reviewed a suspicious-message report")
    DIRECT_FIRST_OVERRIDE = "incident.override", _("Overrode direct first")
    INCIDENT_CLOSE = "incident.close", _("Closed an incident")
    INCIDENT_REOPEN = "incident.reopen", _("Reopened an incident")
    STEP_ADD = "step.add", _("Added a recommended step")
    STEP_EDIT = "step.edit", _("Edited a recommended step")
    STEP_DELETE = "step.delete", _("Deleted a recommended step")
    DATA_CLASS_ADD = "data_class.add", _("Added a data class")
    DATA_CLASS_EDIT = "data_class.edit", _("Edited a data class")
    INCIDENT_ADD = "incident.add", _("Recorded an incident")
    INCIDENT_EDIT = "incident.edit", _("Edited an incident")
    INCIDENT_TEMPLATE_ADD = "incident_template.add", _("Wrote an incident's message template")
    INCIDENT_TEMPLATE_EDIT = "incident_template.edit", _("Edited an incident's message template")
    NOTICE_CREATE = "notice.create", _("Wrote a notice")
    RETENTION_APPLY = "retention.apply", _("Applied the retention policy")
    EXPORT = "export", _("Exported data")
    STAFF_SIGN_IN = "staff.sign_in", _("Staff signed in")
    ROLES_CHANGE = "staff.roles_change", _("Changed a staff member's roles")


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit log is append-only.")

    def delete(self):
        raise PermissionError("The audit log is append-only.")


class AuditEntry(models.Model):
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    # PROTECT: staff with history are deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("who"),
    )
    # Snapshot, so the entry still reads right if the login is renamed.
    actor_label = models.CharField(_("who"), max_length=254)
    action = models.CharField(_("action"), max_length=32, choices=AuditAction)
    target_type = models.CharField(_("about"), max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    # e.g. the customer reference: never a name, an email or a phone number.
    target_label = models.CharField(_("whose"), max_length=200, blank=True)
    field = models.CharField(_("field"), max_length=64, blank=True)
    reason = models.TextField(_("why"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]
        permissions = [("export_auditentry", _("Can export the audit log"))]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit log is append-only.")


class TransactionalMessage(models.Model):
    """A message sent outside a campaign (a sign-in code, a claim code, a code
    confirming a new email or phone), kept only so that "Is this message from
    us?" can answer for its reference.

    Holds no more than that page shows: the channel, when, and the recipient
    masked as the page shows it ("21", "j•••@example.com"); not who the
    customer is, not what the message said, not whether an account exists.
    """

    reference = models.CharField(max_length=16, unique=True)
    channel = models.CharField(max_length=8)
    to_hint = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set once the provider took it: only then does /verify vouch for it.
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("transactional message")
        verbose_name_plural = _("transactional messages")

    def __str__(self) -> str:
        return self.reference

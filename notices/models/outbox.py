"""What we tell customers, and how it reaches them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """A message the outbox channels "sent": the demo's stand-in for providers."""

    channel = models.CharField(max_length=8)
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    reference = models.CharField(max_length=16, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at", "-id"]
        # The latest message to one address (the code a sign-in is waiting for,
        # in the demo, the end-to-end tests and the bench).
        indexes = [models.Index(fields=["to", "created_at"], name="outbox_to_created")]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to}"

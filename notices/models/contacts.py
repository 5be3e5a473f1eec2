"""How we reach a customer beyond the records: app devices for push, and new
contact details waiting for their code."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class Device(models.Model):
    """A phone running the app, registered for push notifications."""

    class Platform(models.TextChoices):
        ANDROID = "android", "Android"
        IOS = "ios", "iOS"
        WEB = "web", _("Web")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices"
    )
    token = models.CharField(max_length=4096)
    token_hash = models.CharField(max_length=64, unique=True)  # tokens are long; look up by hash
    platform = models.CharField(max_length=8, choices=Platform)
    active = models.BooleanField(default=True)
    # The signed-in session that registered (or last refreshed) it: ending that
    # session (signing it out from the devices page, or every other session)
    # takes the device with it, so a stolen session leaves no phone behind
    # that keeps receiving the customer's alerts. Empty for one registered
    # before this was kept.
    user_session = models.ForeignKey(
        "usersessions.UserSession",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("app device")
        verbose_name_plural = _("app devices")
        indexes = [models.Index(fields=["user", "-updated_at"], name="device_user_recent")]

    def __str__(self) -> str:
        return f"{self.platform} device of {self.user_id}"


class ContactVerification(models.Model):
    """A new email or phone a customer asked for, confirmed by a code sent to it."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=5, choices=Kind)
    value = models.CharField(max_length=254)
    code_hash = models.CharField(max_length=128)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact verification")
        verbose_name_plural = _("contact verifications")

    def __str__(self) -> str:
        return f"{self.kind} for {self.customer_id}"

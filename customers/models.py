"""Who the customers are, what of theirs was exposed, and what to do about it.

Exposures hold masked values only (``•••• 4821``); the exposed documents
themselves never reach this database.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.links import link_is_safe, validate_safe_link


class User(AbstractUser):
    """A login. Customers' logins link to a ``Customer``; staff logins do not.

    The email is indexed because sign-in looks users up by it, and stored
    lower-cased because allauth compares it that way.
    """

    email = models.EmailField(_("email address"), blank=True, db_index=True)

    def save(self, *args, **kwargs) -> None:
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    FRENCH = "fr", _("French")


class Channel(models.TextChoices):
    SMS = "sms", _("Text message (SMS)")
    EMAIL = "email", _("Email")
    INAPP = "inapp", _("In the portal and app")
    PUSH = "push", _("App notification")


class Customer(models.Model):
    customer_ref = models.CharField(_("customer reference"), max_length=32)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    # Normalised on the way in: email lower-cased, phone in E.164.
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=16, blank=True)
    email_verified = models.BooleanField(_("email verified"), default=False)
    phone_verified = models.BooleanField(_("phone verified"), default=False)
    # An email a support agent entered for alerts. Until the customer proves it
    # (a claim, or a confirmation code), it cannot open a first sign-in: anyone
    # who talked an agent into their address would otherwise get this record.
    email_from_support = models.BooleanField(
        _("email entered by support"), default=False, db_default=False
    )
    is_current = models.BooleanField(_("current customer"), default=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language, default=Language.ENGLISH
    )
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=8, choices=Channel, blank=True
    )
    # HMAC of the date of birth (customers/hashing.py): checked when a customer
    # claims their record, never shown and never stored in the clear.
    birth_date_hash = models.CharField(max_length=64, blank=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        # One index per looked-up column, with pattern ops so it serves both
        # exact matches and the admin's prefix search (Django's db_index would
        # add a second index to each). Fewer indexes, faster bulk imports.
        constraints = [
            models.UniqueConstraint(
                fields=["customer_ref"],
                name="customer_ref_unique",
                opclasses=["varchar_pattern_ops"],
            )
        ]
        permissions = [
            ("reveal_customer_data", _("Can reveal a customer's personal data, giving a reason")),
            ("change_customer_contact", _("Can correct a customer's contact details")),
        ]
        indexes = [
            models.Index(
                fields=["email"], name="customer_email", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["phone"], name="customer_phone", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self) -> str:
        return self.customer_ref


class Incident(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")

    slug = models.SlugField(unique=True)
    title = models.CharField(_("title"), max_length=200)
    title_fr = models.CharField(_("title (French)"), max_length=200, blank=True)
    summary = models.TextField(_("what happened"))
    summary_fr = models.TextField(_("what happened (French)"), blank=True)
    actions = models.TextField(_("what we are doing"), blank=True)
    actions_fr = models.TextField(_("what we are doing (French)"), blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    occurred_at = models.DateTimeField(_("breach occurred"), null=True, blank=True)
    discovered_at = models.DateTimeField(_("breach discovered"))
    announced_at = models.DateTimeField(_("publicly announced"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-discovered_at"]

    def __str__(self) -> str:
        return self.title


class Sensitivity(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")
    CRITICAL = 4, _("Critical")


class DataClass(models.Model):
    """A kind of exposable field, e.g. ``passport_number``. Seeded by a migration."""

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(_("label"), max_length=100)
    label_fr = models.CharField(_("label (French)"), max_length=100)
    sensitivity = models.PositiveSmallIntegerField(_("sensitivity"), choices=Sensitivity)
    explanation = models.TextField(_("why it matters"))
    explanation_fr = models.TextField(_("why it matters (French)"))
    is_identity_document = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("data class")
        verbose_name_plural = _("data classes")
        ordering = ["-sensitivity", "code"]

    def __str__(self) -> str:
        return self.code


class Exposure(models.Model):
    """What of one customer was exposed in one incident.

    ``fields`` maps a data-class code to the masked value, e.g.
    ``{"passport_number": "•••• 4821", "date_of_birth": "••/••/1987"}``.
    """

    # One index only besides the primary key: (customer, incident) serves the
    # dashboard (by customer) and planning (customer ranges within an incident).
    # Ten million rows are imported at a time; every index costs.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="exposures", db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="exposures", db_index=False
    )
    fields = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("exposure")
        verbose_name_plural = _("exposures")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "incident"], name="exposure_unique_customer_incident"
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}:{self.customer_id}"


class Step(models.Model):
    """A recommended action for people who had any of ``data_classes`` exposed.

    One step may serve several data classes (e.g. "contact an identity-theft
    support service" for every identity document); the dashboard shows it once.
    """

    data_classes = models.ManyToManyField(DataClass, related_name="steps")
    code = models.SlugField(max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=200)
    title_fr = models.CharField(_("title (French)"), max_length=200)
    body = models.TextField(_("what to do"))
    body_fr = models.TextField(_("what to do (French)"))
    # Not a URLField: a page of the portal (/help/), mailto: and tel: are links
    # too. Which hosts is checked when staff save (notices.admin.StepForm).
    link_url = models.CharField(
        _("link"), max_length=200, blank=True, validators=[validate_safe_link]
    )
    # Lower comes first: 1 is the most urgent.
    priority = models.PositiveSmallIntegerField(_("priority"), default=5)

    class Meta:
        verbose_name = _("recommended step")
        verbose_name_plural = _("recommended steps")
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return self.code

    @property
    def safe_link_url(self) -> str:
        """The link to show, or "" where it could run script (never saved
        through the admin, but a row may come from elsewhere)."""
        return self.link_url if link_is_safe(self.link_url) else ""


class StepProgress(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="step_progress")
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="+")
    done_at = models.DateTimeField()

    class Meta:
        verbose_name = _("step progress")
        verbose_name_plural = _("step progress")
        constraints = [
            models.UniqueConstraint(fields=["customer", "step"], name="stepprogress_unique")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.step_id}"


class ImportJob(models.Model):
    """A file staff uploaded in the admin, imported by a worker."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        EXPOSURES = "exposures", _("Exposures")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("incident"),
        help_text=_("Required for exposures."),
    )
    file = models.FileField(_("CSV file"), upload_to="imports/%Y/%m/")
    skip_invalid = models.BooleanField(
        _("import the valid lines even if some are rejected"), default=False
    )
    # Labelled: the import's page and list show them to staff, in their language.
    status = models.CharField(_("status"), max_length=8, choices=Status, default=Status.QUEUED)
    bytes_total = models.BigIntegerField(_("size in bytes"), default=0)
    inserted = models.BigIntegerField(_("records added"), default=0)
    updated = models.BigIntegerField(_("records changed"), default=0)
    rejected_lines = models.BigIntegerField(_("rejected lines"), default=0)
    report = models.FileField(_("report"), upload_to="import-reports/%Y/%m/", blank=True)
    message = models.TextField(_("details"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class ClaimCode(models.Model):
    """A one-time code that lets a customer without a (working) login claim their record.

    Only a keyed hash is stored. With the customer reference and the date of
    birth it lets someone create a login; it expires, works once, and locks
    after a few wrong tries.
    """

    class Via(models.TextChoices):
        LETTER = "letter", _("Letter")
        SMS = "sms", _("Text message")
        SUPPORT = "support", _("Support agent")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="claim_codes")
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    via = models.CharField(_("sent by"), max_length=8, choices=Via)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)

    class Meta:
        verbose_name = _("claim code")
        verbose_name_plural = _("claim codes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_via_display()} {self.created_at:%Y-%m-%d}"

    def state(self, now) -> str:
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "withdrawn"
        if self.expires_at <= now:
            return "expired"
        if self.failed_attempts >= settings.CLAIM_CODE_MAX_ATTEMPTS:
            return "locked"
        return "active"


class ContactNote(models.Model):
    """A support agent's note of a contact with a customer (a call, a letter)."""

    class Kind(models.TextChoices):
        CALL = "call", _("Phone call")
        EMAIL = "email", _("Email")
        LETTER = "letter", _("Letter")
        IN_PERSON = "in_person", _("In person")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(_("contact by"), max_length=10, choices=Kind, default=Kind.CALL)
    text = models.TextField(_("note"), max_length=2000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact note")
        verbose_name_plural = _("contact notes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d}"

"""Operations that write: the life of a campaign, from draft to sent."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.masking import mask_email, mask_phone
from customers.models import DataClass, Incident
from notices.audience import checked_channels
from notices.models import (
    Campaign,
    CampaignTemplate,
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    IncidentTemplate,
    TestSend,
)
from notices.services.reviews import (
    editor_add,
    require_permission,
    require_second_person,
    require_seen,
)
from notices.templating import DEFAULT_TEMPLATES, placeholders, validate_template
from portal.audit import audit
from portal.models import AuditAction

Status = Campaign.Status


def _enqueue(fn, *args) -> None:
    transaction.on_commit(lambda: fn(*args))


def incident_check_active(incident: Incident) -> None:
    """Direct alerts are for an incident that is under way: not a draft nobody
    has confirmed, not one that is closed."""
    if incident.status != Incident.Status.ACTIVE:
        raise ValidationError(
            _("Direct alerts can only be sent about an active incident; this one is %(status)s.")
            % {"status": incident.get_status_display().lower()},
            code="incident_not_active",
        )


def campaign_create(
    *,
    incident: Incident,
    channels: list[str],
    by=None,
    name: str = "",
    data_classes: list[str] | None = None,
    customer_status: str = "all",
) -> Campaign:
    """A draft campaign with the incident's default templates (or the built-in ones),
    written by ``by``: a campaign always has an author."""
    require_permission(
        by, "notices.add_campaign", _("Only communications staff may write a campaign.")
    )
    incident_check_active(incident)
    checked_channels(channels)
    if len(set(channels)) != len(channels):
        raise ValidationError(_("Name each channel once."))
    codes = list(data_classes or [])
    classes = list(DataClass.objects.filter(code__in=codes))
    unknown = set(codes) - {dc.code for dc in classes}
    if unknown:
        raise ValidationError(_("Unknown data classes: %s") % ", ".join(sorted(unknown)))
    with transaction.atomic():
        campaign = Campaign.objects.create(
            incident=incident,
            name=name or f"{incident.title} — {timezone.now():%Y-%m-%d %H:%M}",
            channel_order=",".join(channels),
            customer_status=customer_status,
            created_by=by,
            edited_by=by,
        )
        campaign.data_classes.set(classes)
        editor_add(campaign, by)
        campaign_templates_fill(campaign=campaign)
        # Who wrote it, and from where (a command names its author with --by):
        # the first pair of eyes is on the record, as the second's is.
        audit(AuditAction.CAMPAIGN_CREATE, actor=by, target=campaign)
    return campaign


def campaign_edited(
    *, campaign: Campaign, by, fields: list[str] | None = None, request=None
) -> Campaign:
    """``by`` changed what the campaign says or whom it reaches (``fields``): only
    a draft can change, its approver must now be someone else, and the audit log
    says who changed what."""
    require_permission(
        by, "notices.change_campaign", _("Only communications staff may edit a campaign.")
    )
    if not Campaign.objects.filter(pk=campaign.pk, status=Status.DRAFT).update(
        edited_by=by, updated_at=timezone.now()
    ):
        raise ValidationError(_("Only a draft campaign can be edited."))
    editor_add(campaign, by)
    # A campaign nobody wrote gets its first pair of eyes: otherwise it could
    # never be approved.
    Campaign.objects.filter(pk=campaign.pk, created_by=None).update(created_by=by)
    audit(
        AuditAction.CAMPAIGN_EDIT,
        actor=by,
        target=campaign,
        detail={"fields": sorted(fields or [])},
        request=request,
    )
    campaign.refresh_from_db()
    return campaign


def campaign_templates_fill(*, campaign: Campaign) -> int:
    """Give each channel of the campaign a message in English and French where it
    has none: the incident's default templates, else the built-in ones. Only
    while it is a draft: what was approved is what goes out."""
    if not Campaign.objects.filter(pk=campaign.pk, status=Status.DRAFT).exists():
        return 0
    have = set(campaign.templates.values_list("channel", "language"))
    incident_templates = {
        (t.channel, t.language): t
        for t in IncidentTemplate.objects.filter(incident_id=campaign.incident_id)
    }
    defaults = {key: (t.subject, t.body) for key, t in incident_templates.items()}
    missing = [
        (channel, language)
        for channel in campaign.channels
        for language in ("en", "fr")
        if (channel, language) not in have and (channel, language) in DEFAULT_TEMPLATES
    ]
    CampaignTemplate.objects.bulk_create(
        CampaignTemplate(
            campaign=campaign,
            channel=channel,
            language=language,
            subject=defaults.get((channel, language), (None,))[0]
            or DEFAULT_TEMPLATES[(channel, language)]["subject"],
            body=defaults.get((channel, language), (None, None))[1]
            or DEFAULT_TEMPLATES[(channel, language)]["body"],
        )
        for channel, language in missing
    )
    # Whoever wrote the text copied here wrote the campaign's text: four eyes
    # means none of them approves it.
    copied = [incident_templates[key].pk for key in missing if key in incident_templates]
    if copied:
        authors = IncidentTemplate.editors.through.objects.filter(
            incidenttemplate_id__in=copied
        ).values_list("user_id", flat=True)
        campaign.editors.add(*set(authors))
    return len(missing)


def campaign_problems(campaign: Campaign) -> list[str]:
    """What stops a campaign from being approved; empty when it is ready."""
    problems = []
    try:
        incident_check_active(campaign.incident)
    except ValidationError as exc:
        problems.extend(exc.messages)
    try:
        checked_channels(campaign.channels)
    except ValueError:
        problems.append(_("The channel order names an unknown channel."))
    templates = {(t.channel, t.language): t for t in campaign.templates.all()}
    for channel in campaign.channels:
        if (channel, "en") not in templates:
            problems.append(_("No English message for %(channel)s.") % {"channel": channel})
    for (channel, language), template in templates.items():
        for error in validate_template(
            template.body, channel=channel, subject=template.subject, language=language
        ):
            problems.append(f"{channel}/{language}: {error}")
    naming = any(
        language == "fr" and "incident_title" in placeholders(t.body) | placeholders(t.subject)
        for (_channel, language), t in templates.items()
    )
    if naming and not campaign.incident.title_fr.strip():
        problems.append(
            _(
                "The French messages name the incident ({incident_title}), which has no French "
                "title: they would give its English one. Give the incident a French title."
            )
        )
    return problems


def campaign_approve(*, campaign: Campaign, by, seen: str | None = None, request=None) -> Campaign:
    """A second person approves: never the author nor anyone who edited it;
    and, when ``seen`` (the review page's version) is given, only what they saw."""
    require_permission(
        by, "notices.approve_campaign", _("Only an incident lead may approve a campaign.")
    )
    campaign.refresh_from_db()
    require_seen(campaign, seen, _("The campaign changed while you approved it: review it again."))
    if campaign.status != Status.DRAFT:
        raise ValidationError(_("Only a draft can be approved."))
    require_second_person(
        campaign,
        by,
        no_author=_(
            "This campaign has no author on record: once a staff member edits it, another can approve it."
        ),
        same_person=_(
            "You wrote or edited this campaign, or a default message of the incident that it "
            "copies: another staff member must approve it."
        ),
    )
    problems = campaign_problems(campaign)
    if problems:
        raise ValidationError(problems)
    # Unchanged since the checks: an edit in between needs a new approval.
    updated = Campaign.objects.filter(
        pk=campaign.pk, status=Status.DRAFT, updated_at=campaign.updated_at
    ).update(
        status=Status.APPROVED,
        approved_by=by,
        approved_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not updated:
        raise ValidationError(_("The campaign changed while you approved it: review it again."))
    audit(AuditAction.CAMPAIGN_APPROVE, actor=by, target=campaign, request=request)
    campaign.refresh_from_db()
    return campaign


def _require_sender(by) -> None:
    require_permission(
        by,
        "notices.send_campaign",
        _("Only an incident lead may start, pause, resume or cancel sending."),
    )


def campaign_send(*, campaign: Campaign, by, request=None) -> Campaign:
    """Start sending: planning and dispatch begin in workers, never in the request."""
    _require_sender(by)
    from notices import tasks

    _require_the_approval_checks_still_pass(campaign)
    updated = Campaign.objects.filter(pk=campaign.pk, status=Status.APPROVED).update(
        status=Status.SENDING, send_started_at=timezone.now(), updated_at=timezone.now()
    )
    if not updated:
        raise ValidationError(_("Only an approved campaign can be sent."))
    audit(AuditAction.CAMPAIGN_SEND, actor=by, target=campaign, request=request)
    campaign.refresh_from_db()
    _enqueue(tasks.kick_campaign, campaign.pk)
    return campaign


def _require_the_approval_checks_still_pass(campaign: Campaign) -> None:
    """The approval's checks again, on what is stored now, before sending starts
    or starts again: the incident (its status, its French title) and
    MESSAGE_LINK_HOSTS may have changed since."""
    current = Campaign.objects.select_related("incident").get(pk=campaign.pk)
    problems = campaign_problems(current)
    if problems:
        raise ValidationError(
            [
                _(
                    "This campaign no longer passes the checks it was approved with, so it was "
                    "not sent. Fix what is listed, or cancel it and write a new one:"
                ),
                *problems,
            ]
        )


def campaign_pause(*, campaign: Campaign, by, request=None) -> Campaign:
    """Workers stop before their next run of sends; what a provider was handed completes."""
    _require_sender(by)
    if not Campaign.objects.filter(pk=campaign.pk, status=Status.SENDING).update(
        status=Status.PAUSED, updated_at=timezone.now()
    ):
        raise ValidationError(_("Only a campaign that is sending can be paused."))
    audit(AuditAction.CAMPAIGN_PAUSE, actor=by, target=campaign, request=request)
    campaign.refresh_from_db()
    return campaign


def campaign_resume(*, campaign: Campaign, by, request=None) -> Campaign:
    _require_sender(by)
    from notices import tasks

    _require_the_approval_checks_still_pass(campaign)
    if not Campaign.objects.filter(pk=campaign.pk, status=Status.PAUSED).update(
        status=Status.SENDING, updated_at=timezone.now()
    ):
        raise ValidationError(_("Only a paused campaign can be resumed."))
    audit(AuditAction.CAMPAIGN_RESUME, actor=by, target=campaign, request=request)
    campaign.refresh_from_db()
    _enqueue(tasks.kick_campaign, campaign.pk)
    return campaign


def campaign_cancel(*, campaign: Campaign, by, request=None) -> Campaign:
    """Stop for good: every delivery not yet handed over is skipped (and says so)."""
    _require_sender(by)
    cancellable = [Status.DRAFT, Status.APPROVED, Status.SENDING, Status.PAUSED]
    now = timezone.now()
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, status__in=cancellable).update(
            status=Status.CANCELLED, completed_at=now, updated_at=now
        ):
            raise ValidationError(_("This campaign can no longer be cancelled."))
        _skip_pending(campaign.pk, now)
        audit(AuditAction.CAMPAIGN_CANCEL, actor=by, target=campaign, request=request)
    campaign.refresh_from_db()
    return campaign


def _skip_pending(campaign_id: int, now) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notices_deliveryevent "
            "(delivery_id, source, status, provider_status, detail, created_at) "
            "SELECT id, 'staff', 'skipped', '', 'campaign cancelled', %s "
            "FROM notices_delivery WHERE campaign_id = %s AND status = 'pending'",
            [now, campaign_id],
        )
    return Delivery.objects.filter(campaign_id=campaign_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.SKIPPED, updated_at=now
    )


def deliveries_skip_if_cancelled(*, campaign_id: int) -> int:
    """Skip what a batch under way put back to pending (unsent, or to retry)
    after its campaign was cancelled; returns how many."""
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign_id, status=Status.CANCELLED).exists():
            return 0
        return _skip_pending(campaign_id, timezone.now())


def campaign_finish_if_done(campaign_id: int) -> bool:
    """Completed when fully planned and nothing is pending, in flight or awaiting
    fall-back."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != Status.SENDING or not campaign.planning_done:
        return False
    open_work = Delivery.objects.filter(campaign_id=campaign_id).filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    )
    if (
        open_work.exists()
        or Delivery.objects.filter(campaign_id=campaign_id, fallback_pending=True).exists()
    ):
        return False
    now = timezone.now()
    return bool(
        Campaign.objects.filter(pk=campaign_id, status=Status.SENDING).update(
            status=Status.COMPLETED, completed_at=now, updated_at=now
        )
    )


# How a swept delivery's event begins when it may have reached the provider.
SWEPT_IN_DOUBT = "left unfinished by a worker"


def deliveries_mark_in_doubt(*, older_than_seconds: int, limit: int = 5000) -> int:
    """Deliveries claimed long ago by a worker that never reported back go back
    to pending. Those it had prepared (render and reference stored, so a provider
    call may have started) are flagged in doubt: the next attempt asks the
    provider before resending. Those it had only claimed cannot have been sent
    and are simply retried (an in-doubt flag from an earlier attempt is kept).

    One whose workers died on every attempt (``DELIVERY_MAX_ATTEMPTS`` claims)
    is failed instead, or a row that kills its worker would be claimed for ever:
    it falls back to the next channel only if no attempt can have reached the
    provider (one that may have is not sent twice, on another channel either)."""
    from django.conf import settings

    now = timezone.now()
    cutoff = now - timezone.timedelta(seconds=older_than_seconds)
    # Read and changed in one transaction, the rows locked: a row another sweep
    # has put back and a worker claimed again meanwhile is that worker's.
    sending = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff)
    back = {"status": DeliveryStatus.PENDING, "claimed_at": None, "prepared_at": None}
    with transaction.atomic():
        rows = list(
            sending.select_for_update(skip_locked=True, no_key=True).values_list(
                "id", "prepared_at", "campaign_id", "attempts", "in_doubt", "resent_by_id"
            )[:limit]
        )
        if not rows:
            return 0
        last = settings.DELIVERY_MAX_ATTEMPTS
        # A cancelled campaign's rows go back to pending all the same, to be skipped below.
        cancelled = set(
            Campaign.objects.filter(
                pk__in={row[2] for row in rows}, status=Status.CANCELLED
            ).values_list("pk", flat=True)
        )
        spent = [row for row in rows if row[3] >= last and row[2] not in cancelled]
        spent_ids = {row[0] for row in spent}
        retried = [row for row in rows if row[0] not in spent_ids]
        prepared = [row[0] for row in retried if row[1] is not None]
        claimed_only = [row[0] for row in retried if row[1] is None]
        # Given up: in doubt (this attempt or an earlier may have reached the
        # provider), or not; a support resend falls back to no other channel.
        doubtful = [row[0] for row in spent if row[1] or row[4]]
        unsent = [row for row in spent if not (row[1] or row[4])]
        changed = sending.filter(pk__in=prepared, prepared_at__isnull=False).update(
            **back, in_doubt=True, updated_at=now
        )
        changed += sending.filter(pk__in=claimed_only, prepared_at__isnull=True).update(
            **back, updated_at=now
        )
        gave_up = f"gave up after {last} attempts: each time its worker stopped before the outcome"
        may_be_sent = f"{gave_up}; it may have reached the provider, so it is not sent again"
        failed = {"status": DeliveryStatus.FAILED, "claimed_at": None, "updated_at": now}
        changed += sending.filter(pk__in=doubtful).update(
            **failed, in_doubt=True, last_error=may_be_sent
        )
        for resend in (False, True):
            changed += sending.filter(
                pk__in=[row[0] for row in unsent if (row[5] is not None) == resend]
            ).update(**failed, fallback_pending=not resend, last_error=gave_up)
        DeliveryEvent.objects.bulk_create(
            DeliveryEvent(
                delivery_id=i,
                source=DeliveryEvent.Source.SWEEP,
                status=status,
                detail=detail,
                created_at=now,
            )
            for ids, status, detail in [
                (
                    prepared,
                    DeliveryStatus.PENDING,
                    f"{SWEPT_IN_DOUBT}: check with the provider before resending",
                ),
                (
                    claimed_only,
                    DeliveryStatus.PENDING,
                    "claimed by a worker that stopped before sending: retried",
                ),
                (doubtful, DeliveryStatus.FAILED, f"{SWEPT_IN_DOUBT}: {may_be_sent}"),
                ([row[0] for row in unsent], DeliveryStatus.FAILED, gave_up),
            ]
            for i in ids
        )
    # No dispatcher runs for a cancelled campaign: what it left pending would stay
    # so for good. Skipped, as a cancel skips; those that may have reached the
    # provider keep their in-doubt flag (and event) to say so.
    for campaign_id in {row[2] for row in rows}:
        deliveries_skip_if_cancelled(campaign_id=campaign_id)
    return changed


def allowed_test_recipients(*, by, channel: str) -> set[str]:
    """Where ``by`` may send a test message: their own verified email addresses,
    and the team's test phones and mailboxes of ``TEST_SEND_RECIPIENTS``."""
    from allauth.account.models import EmailAddress
    from django.conf import settings

    from customers.normalise import normalise_email, normalise_phone

    normalise = normalise_phone if channel == "sms" else normalise_email
    allowed = set()
    for entry in settings.TEST_SEND_RECIPIENTS:
        try:
            allowed.add(normalise(entry))
        except ValidationError:
            continue  # an entry for the other channel
    if channel == "email" and by is not None and by.pk:
        verified = EmailAddress.objects.filter(user=by, verified=True)
        allowed |= {email.strip().lower() for email in verified.values_list("email", flat=True)}
    return allowed - {""}


def test_send_create(
    *, campaign: Campaign, channel: str, language: str, to: str, by, request=None
) -> TestSend:
    """A campaign message rendered for a sample customer, sent to a staff member:
    only to their own verified email or an allowed test address (a test send is
    a real message from us, with a reference that verifies), and audited."""
    from notices import tasks
    from notices.previews import preview_message

    if to not in allowed_test_recipients(by=by, channel=channel):
        raise ValidationError(
            _(
                "A test message goes only to your own verified email address or to a test "
                "address the operators have allowed."
            )
        )
    preview = preview_message(campaign=campaign, channel=channel, language=language)
    with transaction.atomic():
        test = _test_send_record(campaign, channel, language, to, by, preview, request)
    _enqueue(tasks.test_send.delay, test.pk)
    return test


def _test_send_record(campaign, channel, language, to, by, preview, request) -> TestSend:
    test = TestSend.objects.create(
        campaign=campaign,
        channel=channel,
        language=language,
        to=to,
        subject=preview.subject,
        body=preview.body,
        reference=preview.reference,
        requested_by=by,
    )
    masked = mask_phone(to) if channel == "sms" else mask_email(to)
    audit(
        AuditAction.CAMPAIGN_TEST_SEND,
        actor=by,
        target=campaign,
        detail={"channel": channel, "language": language, "to": masked},
        request=request,
    )
    return test

"""Notices: checks before publication, direct first, schedules, timeline updates."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.normalise import normalise_email, normalise_phone
from notices.markdown import disallowed_hosts, empty_sections, missing_sections
from notices.models import DirectFirstOverride, Notice, NoticeUpdate, SuspiciousReport
from notices.selectors import direct_first_status
from notices.services.reviews import (
    editor_add,
    require_permission,
    require_second_person,
    require_seen,
)
from portal import generations
from portal.audit import audit
from portal.models import AuditAction

Status = Notice.Status


def breach_section_problems(body: str, language: str) -> list[str]:
    """The regulator's sections a breach notice's text lacks, or has as a bare
    heading, each named."""
    problems = [
        _("The %(language)s version lacks the section “%(section)s”.")
        % {"language": language.upper(), "section": section}
        for section in missing_sections(body, language)
    ]
    problems += [
        _(
            "In the %(language)s version, the section “%(section)s” is empty: write what it must "
            "tell customers under its heading."
        )
        % {"language": language.upper(), "section": section}
        for section in empty_sections(body, language)
    ]
    return problems


def notice_problems(notice: Notice) -> list[str]:
    """What stops publication: a breach notice needs every section the
    regulator asks for, each saying something, in both languages; links go
    only to allowed hosts."""
    problems = []
    for language, body in (("en", notice.body), ("fr", notice.body_fr)):
        if notice.kind == Notice.Kind.BREACH:
            problems += breach_section_problems(body, language)
        for host in disallowed_hosts(body):
            problems.append(
                _("The %(language)s version links to %(host)s, which is not an allowed host.")
                % {"language": language.upper(), "host": host}
            )
    if not (notice.title_fr and notice.body_fr and notice.summary_fr):
        problems.append(_("The French title, summary and text are all required."))
    return problems


def _direct_first_guard(notice: Notice) -> str:
    """Why a public notice may not go out yet; empty when it may."""
    if notice.audience != Notice.Audience.PUBLIC:
        return ""
    status = direct_first_status(notice.incident)
    if status.allows_public_notice:
        return ""
    return _(
        "Direct first: only %(done)s of %(reachable)s reachable affected customers "
        "(%(share).0f%%) have been sent their direct alert; at least %(threshold).0f%% must "
        "have been sent it, or an incident lead must record an override."
    ) % {
        "done": status.handed_over,
        "reachable": status.reachable,
        "share": 100 * status.share,
        "threshold": 100 * status.threshold,
    }


def _require_publisher(notice: Notice, by) -> None:
    """Publishing or scheduling: an incident lead, never the notice's author or
    last editor (four eyes)."""
    require_permission(
        by, "notices.publish_notice", _("Only an incident lead may publish or schedule a notice.")
    )
    require_second_person(
        notice,
        by,
        no_author=_(
            "This notice has no author on record: once a staff member edits it, another can publish it."
        ),
        same_person=_(
            "You wrote or edited this notice: another staff member must publish or schedule it."
        ),
    )


def notice_publish(*, notice: Notice, by, seen: str | None = None, request=None) -> Notice:
    """Publish now, if the checks pass and (for a public notice) direct first
    allows; when ``seen`` (the page's version) is given, only what was read."""
    notice.refresh_from_db()
    _require_publisher(notice, by)
    require_seen(notice, seen, _("The notice changed while you published it: review it again."))
    # The version whose authors were just checked: an edit landing after the
    # check (the publisher's own, in another tab) is not published unreviewed.
    return _publish(notice, by=by, request=request, checked=notice.updated_at)


def _publish(notice: Notice, *, by, request=None, scheduled: bool = False, checked=None) -> Notice:
    notice.refresh_from_db()
    if checked is not None and notice.updated_at != checked:
        raise ValidationError(_("The notice changed while you published it: review it again."))
    if notice.status == Status.PUBLISHED:
        raise ValidationError(_("This notice is already published."))
    problems = notice_problems(notice)
    if problems:
        raise ValidationError(problems)
    held = _direct_first_guard(notice)
    if held:
        raise ValidationError(held)
    now = timezone.now()
    # Exactly what was checked: an edit in between needs checking again.
    current = Notice.objects.filter(pk=notice.pk, updated_at=notice.updated_at)
    if scheduled:
        current = current.filter(status=Status.SCHEDULED)
    if not current.exclude(status=Status.PUBLISHED).update(
        status=Status.PUBLISHED, published_at=now, published_by=by, held_because="", updated_at=now
    ):
        raise ValidationError(_("The notice changed while you published it: review it again."))
    audit(
        AuditAction.NOTICE_PUBLISH,
        actor=by,
        target=notice,
        detail={"scheduled_for": notice.publish_at.isoformat()} if scheduled else None,
        request=request,
    )
    generations.bump_on_commit()
    notice.refresh_from_db()
    return notice


def notice_schedule(*, notice: Notice, at, by, seen: str | None = None, request=None) -> Notice:
    """Publish by itself at a time (Celery beat), once the checks pass, in the
    name of whoever scheduled it (and, given ``seen``, only what they read)."""
    notice.refresh_from_db()
    _require_publisher(notice, by)
    require_seen(notice, seen, _("The notice changed while you scheduled it: review it again."))
    if notice.status == Status.PUBLISHED:
        raise ValidationError(_("This notice is already published."))
    problems = notice_problems(notice)
    if problems:
        raise ValidationError(problems)
    if not Notice.objects.filter(pk=notice.pk, updated_at=notice.updated_at).update(
        status=Status.SCHEDULED,
        publish_at=at,
        scheduled_by=by,
        held_because="",
        updated_at=timezone.now(),
    ):
        raise ValidationError(_("The notice changed while you scheduled it: review it again."))
    audit(
        AuditAction.NOTICE_SCHEDULE,
        actor=by,
        target=notice,
        detail={"at": at.isoformat()},
        request=request,
    )
    notice.refresh_from_db()
    return notice


def notices_publish_due(now=None) -> int:
    """Publish scheduled notices whose time has come; a public one held by direct
    first stays scheduled, with the reason shown to staff, and is tried again."""
    now = now or timezone.now()
    published = 0
    for notice in Notice.objects.filter(
        status=Status.SCHEDULED, publish_at__lte=now
    ).select_related("incident", "scheduled_by"):
        try:
            # In the scheduler's name, who must still be allowed to publish it.
            _require_publisher(notice, notice.scheduled_by)
            _publish(notice, by=notice.scheduled_by, scheduled=True)
            published += 1
        except (ValidationError, PermissionDenied) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            Notice.objects.filter(pk=notice.pk, status=Status.SCHEDULED).update(
                held_because="; ".join(messages)[:300]
            )
    return published


# What an editor may change; the rest is the workflow's.
CONTENT_FIELDS = (
    "incident",
    "slug",
    "kind",
    "audience",
    "title",
    "title_fr",
    "summary",
    "summary_fr",
    "body",
    "body_fr",
)


def notice_edit(*, notice: Notice, changes: dict, by, request=None) -> Notice:
    """``by`` changes the notice's text. Its publisher must then be someone else
    (four eyes), and a scheduled notice goes back to draft: what was checked and
    scheduled is no longer what would go out. A published notice never changes:
    corrections are dated updates."""
    require_permission(
        by, "notices.change_notice", _("Only communications staff may edit a notice.")
    )
    unknown = set(changes) - set(CONTENT_FIELDS)
    if unknown:
        raise ValueError(f"not content: {sorted(unknown)}")
    with transaction.atomic():
        current = Notice.objects.select_for_update().get(pk=notice.pk)
        if current.status == Status.PUBLISHED:
            raise ValidationError(
                _("A published notice is never edited: add a dated update instead.")
            )
        for name, value in changes.items():
            setattr(current, name, value)
        current.edited_by = by
        fields = [*changes, "edited_by", "updated_at"]
        if current.created_by_id is None:
            # A notice nobody wrote (one made outside the admin) gets its first
            # pair of eyes here; otherwise it could never be published.
            current.created_by = by
            fields.append("created_by")
        if current.status == Status.SCHEDULED:
            current.status, current.publish_at, current.scheduled_by = Status.DRAFT, None, None
            current.held_because = ""
            fields += ["status", "publish_at", "scheduled_by", "held_because"]
        audit(
            AuditAction.NOTICE_REDRAFT if "status" in fields else AuditAction.NOTICE_EDIT,
            actor=by,
            target=current,
            detail={"fields": sorted(changes)},
            request=request,
        )
        current.save(update_fields=fields)
        editor_add(current, by)
    return current


def notice_update_add(
    *, notice: Notice, body: str, body_fr: str, notify_affected: bool = False, by, request=None
) -> NoticeUpdate:
    """A dated correction or addition to a published notice, published at once:
    so it takes the publish permission and is audited like the notice itself.
    Optionally a draft direct alert about it for the affected."""
    from notices.services.campaigns import campaign_create

    require_permission(
        by, "notices.publish_notice", _("Only an incident lead may publish an update to a notice.")
    )
    if notice.status != Status.PUBLISHED:
        raise ValidationError(
            _("Until the notice is published, edit it directly instead of adding an update.")
        )
    if not body.strip() or not body_fr.strip():
        raise ValidationError(_("Write the update in English and in French."))
    bad = disallowed_hosts(body) + disallowed_hosts(body_fr)
    if bad:
        raise ValidationError(_("Links to hosts that are not allowed: %s") % ", ".join(bad))
    with transaction.atomic():
        # One at a time per notice, so that a form posted twice (a double click,
        # a reload) finds its first copy and does not publish it again.
        Notice.objects.select_for_update().filter(pk=notice.pk).first()
        last = notice.updates.order_by("-created_at", "-pk").first()
        if last is not None and (last.body, last.body_fr) == (body, body_fr):
            raise ValidationError(_("This update is already published."))
        update = NoticeUpdate.objects.create(
            notice=notice,
            body=body,
            body_fr=body_fr,
            notify_affected=notify_affected,
            created_by=by,
        )
        if notify_affected:
            update.campaign = campaign_create(
                incident=notice.incident,
                channels=["sms", "email", "inapp"],
                by=by,
                name=_("Update: %(title)s (%(date)s)")
                % {"title": notice.title, "date": timezone.localdate().isoformat()},
            )
            update.save(update_fields=["campaign"])
        audit(
            AuditAction.NOTICE_UPDATE,
            actor=by,
            target=notice,
            detail={"update": update.pk, "notify_affected": notify_affected},
            request=request,
        )
        generations.bump_on_commit()
    return update


def direct_first_override(*, incident, reason: str, by, request=None) -> DirectFirstOverride:
    """An incident lead decides the public may hear before every affected customer has."""
    if not by.has_perm("notices.override_direct_first"):
        raise PermissionDenied(_("Only an incident lead may override direct first."))
    ProhibitNullCharactersValidator()(reason)  # PostgreSQL stores no NUL: a 500, not an answer
    if len(reason.strip()) < 20:
        raise ValidationError(
            _("Say why, in a sentence or two: it is kept on the incident's record.")
        )
    with transaction.atomic():
        override = DirectFirstOverride.objects.create(
            incident=incident, reason=reason.strip(), by=by
        )
        audit(
            AuditAction.DIRECT_FIRST_OVERRIDE,
            actor=by,
            target=incident,
            reason=reason.strip(),
            request=request,
        )
    return override


def report_sender_key(sender: str) -> str:
    """A reported sender in one form, so that "0412 345 678" and "+61412345678"
    (or "Bank@Example.com" and "bank@example.com") are found by one search."""
    sender = " ".join((sender or "").split())
    if not sender:
        return ""
    if "@" in sender:
        return normalise_email(sender, strict=False)[:200]
    return (normalise_phone(sender, strict=False) or sender.lower())[:200]


def suspicious_report_create(**fields) -> SuspiciousReport:
    fields["sender_key"] = report_sender_key(fields.get("sender", ""))
    return SuspiciousReport.objects.create(**fields)


def suspicious_reports_review(*, reports, by, reviewed: bool = True, request=None) -> int:
    """Mark reports reviewed (or not) and audit each one that changed; returns how many."""
    with transaction.atomic():
        ids = list(
            reports.exclude(reviewed=reviewed)
            .select_for_update()
            .values_list("pk", flat=True)
            .order_by()
        )
        SuspiciousReport.objects.filter(pk__in=ids).update(reviewed=reviewed)
        for report in SuspiciousReport.objects.filter(pk__in=ids):
            audit(
                AuditAction.REPORT_REVIEW,
                actor=by,
                target=report,
                detail={"reviewed": reviewed},
                request=request,
            )
    return len(ids)

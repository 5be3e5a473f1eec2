"""Notices: checks before publication, direct first, schedules, timeline updates."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notices.markdown import disallowed_hosts, missing_sections
from notices.models import DirectFirstOverride, Notice, NoticeUpdate, SuspiciousReport
from notices.selectors import direct_first_status
from portal import generations
from portal.audit import audit
from portal.models import AuditAction

Status = Notice.Status


def notice_problems(notice: Notice) -> list[str]:
    """What stops publication: a breach notice needs every section the
    regulator asks for, in both languages; links go only to allowed hosts."""
    problems = []
    for language, body in (("en", notice.body), ("fr", notice.body_fr)):
        if notice.kind == Notice.Kind.BREACH:
            for section in missing_sections(body, language):
                problems.append(
                    _("The %(language)s version lacks the section “%(section)s”.")
                    % {"language": language.upper(), "section": section}
                )
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


def notice_publish(*, notice: Notice, by=None, request=None) -> Notice:
    """Publish now, if the checks pass and (for a public notice) direct first allows."""
    if notice.status == Status.PUBLISHED:
        raise ValidationError(_("This notice is already published."))
    problems = notice_problems(notice)
    if problems:
        raise ValidationError(problems)
    held = _direct_first_guard(notice)
    if held:
        raise ValidationError(held)
    now = timezone.now()
    Notice.objects.filter(pk=notice.pk).exclude(status=Status.PUBLISHED).update(
        status=Status.PUBLISHED, published_at=now, published_by=by, held_because="", updated_at=now
    )
    audit(AuditAction.NOTICE_PUBLISH, actor=by, target=notice, request=request)
    generations.bump_on_commit()
    notice.refresh_from_db()
    return notice


def notice_schedule(*, notice: Notice, at, by=None, request=None) -> Notice:
    """Publish by itself at a time (Celery beat), once the checks pass."""
    if notice.status == Status.PUBLISHED:
        raise ValidationError(_("This notice is already published."))
    problems = notice_problems(notice)
    if problems:
        raise ValidationError(problems)
    Notice.objects.filter(pk=notice.pk).update(
        status=Status.SCHEDULED, publish_at=at, held_because="", updated_at=timezone.now()
    )
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
    ).select_related("incident"):
        try:
            notice_publish(notice=notice)
            published += 1
        except ValidationError as exc:
            Notice.objects.filter(pk=notice.pk).update(held_because="; ".join(exc.messages)[:300])
    return published


def notice_update_add(
    *, notice: Notice, body: str, body_fr: str, notify_affected: bool = False, by=None
) -> NoticeUpdate:
    """A dated correction or addition to a published notice; optionally a draft
    direct alert about it for the affected."""
    from notices.services.campaigns import campaign_create

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
    return update


def direct_first_override(*, incident, reason: str, by, request=None) -> DirectFirstOverride:
    """An incident lead decides the public may hear before every affected customer has."""
    if not by.has_perm("notices.override_direct_first"):
        raise PermissionDenied(_("Only an incident lead may override direct first."))
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


def suspicious_report_create(**fields) -> SuspiciousReport:
    return SuspiciousReport.objects.create(**fields)

"""Who may do what to a notice or a campaign: checked here, in the services, so
the admin, the API and management commands all obey the same rules."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError


def require_permission(by, permission: str, message: str) -> None:
    """A named, active staff member holding ``permission``; nobody else. Staff
    status counts as the admin does: someone whose staff flag was taken away
    (their groups left alone) can no longer act, nor can what they scheduled."""
    if (
        by is None
        or not getattr(by, "is_authenticated", False)
        or not by.is_staff
        or not by.has_perm(permission)
    ):
        raise PermissionDenied(message)


def editor_add(obj, by) -> None:
    """``by`` wrote or changed ``obj`` (a notice or a campaign)."""
    if by is not None and by.pk is not None:
        obj.editors.add(by)


def wrote_or_edited(obj, user) -> bool:
    """Whether ``user`` wrote ``obj`` or changed it at any time, not only last."""
    if user.pk is None:
        return False
    if user.pk in (obj.created_by_id, obj.edited_by_id):
        return True
    return obj.editors.filter(pk=user.pk).exists()


def require_second_person(obj, by, *, no_author: str, same_person: str) -> None:
    """Four eyes: whoever wrote or edited it, at any time, cannot approve,
    schedule or publish it (an edit by someone else since does not make their
    own text reviewed). Something with no author on record has no first pair
    of eyes, so it waits until someone edits it (who then becomes its author)."""
    if obj.created_by_id is None:
        raise PermissionDenied(no_author)
    if wrote_or_edited(obj, by):
        raise PermissionDenied(same_person)


def version(obj) -> str:
    """What the reviewer saw: the review page posts it back with the decision."""
    return obj.updated_at.isoformat()


def require_seen(obj, seen: str | None, message: str) -> None:
    """Four eyes on what was read: an edit after the reviewer opened the page
    needs a fresh look. ``seen`` is None where no page was shown (a command)."""
    if seen is not None and seen != version(obj):
        raise ValidationError(message)

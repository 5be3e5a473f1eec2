"""Write the audit log. Every staff action on personal data calls ``audit``."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, models, transaction
from django.http import HttpRequest

from portal.models import AuditAction, AuditEntry
from portal.ratelimits import client_ip

# Where the actions now being audited come from, when not from a web request.
_origin: ContextVar[dict | None] = ContextVar("audit_origin", default=None)


@contextmanager
def audit_origin(**origin):
    """Every entry written inside adds ``origin`` to its detail: a management
    command records that it ran from the command line, and as which account of
    which machine, since it cannot prove who the named staff member is."""
    token = _origin.set({**(_origin.get() or {}), **origin})
    try:
        yield
    finally:
        _origin.reset(token)


def _label(user) -> str:
    return (getattr(user, "email", "") or getattr(user, "username", "") or str(user))[:254]


def _ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    ip = client_ip(request)
    return None if ip == "unknown" else ip


def audit(
    action: AuditAction | str,
    *,
    actor,
    target: models.Model | None = None,
    target_label: str = "",
    field: str = "",
    reason: str = "",
    detail: dict | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Record one staff action. ``target`` is the object acted on (e.g. a customer).

    The label defaults to ``str(target)``; models that hold personal data keep
    their ``__str__`` free of it (a customer prints as its reference).
    """
    actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=actor,
        actor_label=_label(actor) if actor else "system",
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        field=field,
        reason=reason,
        detail={**(_origin.get() or {}), **(detail or {})},
        ip=_ip(request),
    )


@contextmanager
def audit_purge_allowed():
    """Let this transaction delete audit entries (the retention purge only)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL firsthand.audit_purge = 'on'")
            yield
        else:
            # Restore what was there: the tests' connections allow purges throughout.
            previous = getattr(connection, "audit_purge", False)
            connection.audit_purge = True
            try:
                yield
            finally:
                connection.audit_purge = previous


def register_sqlite_purge_flag(sender, connection, **kwargs) -> None:
    """The SQLite trigger asks this function whether a purge is under way."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "firsthand_audit_purge",
            0,
            lambda: int(getattr(connection, "audit_purge", False)),
            deterministic=False,
        )

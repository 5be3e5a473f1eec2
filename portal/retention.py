"""Data retention: personal data is kept only while it serves the affected
customers; the breach record (the counts) is kept for the regulator.

The rules, with their periods in settings (``RETENTION_*``, 0 turns a rule off):

- ``claim_codes``, ``contact_verifications``: codes expired, used or withdrawn
  ``RETENTION_CODES_DAYS`` ago are deleted.
- ``import_files``: the report of an import finished ``RETENTION_IMPORT_FILES_DAYS``
  ago is deleted, and its uploaded CSV (raw personal data) if the job could not
  delete it as it ended; the import's counts stay. So is the file of one
  uploaded that long ago that never ran.
- ``outbox_messages``, ``test_sends``: deleted ``RETENTION_DELIVERY_CONTENT_DAYS``
  after they were written.
- ``audit_log``: entries older than ``RETENTION_AUDIT_YEARS`` (the only deletion
  the append-only log accepts, inside ``audit_purge_allowed``).
- ``sign_ins``: the record of a sign-in (its address and browser, for the
  devices page and support's "recent sign-ins") made ``RETENTION_SIGN_INS_DAYS``
  ago, once its session has ended. allauth drops those only when the same
  person signs in again, which most of the affected never do.
- ``suspicious_reports``: reports of a message claiming to come from us (its
  sender, its text, the reporter's contact) made ``RETENTION_REPORTS_DAYS`` ago
  are deleted, reviewed or not.
- ``devices``: an app install registered for push (its FCM token, platform and
  login) that the app has not registered or refreshed for ``RETENTION_DEVICES_DAYS``
  is deleted, as is one whose token the provider rejected that long ago. The API
  asks the app to register again each time it starts; FCM itself expires tokens
  idle for 270 days.
- ``contact_notes``: a support agent's note of a contact with a customer (free
  text, often personal) written ``RETENTION_CONTACT_NOTES_DAYS`` ago is deleted.
  The audit entry "Noted a contact" (kind and time, never the text) stays.
- ``delivery_content``: a delivery finished and unchanged for
  ``RETENTION_DELIVERY_CONTENT_DAYS`` loses its text, subject and provider error
  (and its events their details); its address is kept masked, like exposures,
  so "Is this message from us?" still answers. Status, channel, times and the
  reference stay, so every count is unchanged.
- ``incident_records``, ``incident_deliveries``, ``incident_exposures``: for an
  incident closed ``RETENTION_MONTHS_AFTER_CLOSE`` ago (and with no campaign
  still sending), the figures its reports show are frozen first
  (``notices.services.records.incident_record_take``), then its deliveries and
  exposures are deleted. The reports read the record from then on.

Every rule walks its rows by primary key in batches of ``RETENTION_BATCH_SIZE``,
each batch in its own short transaction that re-checks the rule: ten million
rows never hold a lock for long, and a run stopped anywhere (its time budget,
a dead worker) loses nothing; the next run carries on from what the rows say.
A second run finds nothing more to do.
"""

from __future__ import annotations

import calendar
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.sessions.backends.cache import SessionStore
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.expressions import Case, When
from django.db.models.functions import Concat, Left, Lower, Right, StrIndex, Substr
from django.utils import timezone

from customers.masking import DOT
from customers.models import ClaimCode, ContactNote, Exposure, ImportJob, Incident
from notices.models import (
    Campaign,
    ContactVerification,
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    Device,
    IncidentRecord,
    OutboxMessage,
    SuspiciousReport,
    TestSend,
)
from notices.services.records import incident_record_take
from portal.audit import audit, audit_purge_allowed
from portal.models import AuditAction, AuditEntry, TransactionalMessage

logger = logging.getLogger(__name__)

RULES = {
    "claim_codes": "claim codes dead for RETENTION_CODES_DAYS: deleted",
    "contact_verifications": "contact-change codes dead for RETENTION_CODES_DAYS: deleted",
    "import_files": "imports finished RETENTION_IMPORT_FILES_DAYS ago: files deleted",
    "outbox_messages": "outbox messages older than RETENTION_DELIVERY_CONTENT_DAYS: deleted",
    "test_sends": "test sends older than RETENTION_DELIVERY_CONTENT_DAYS: deleted",
    "transactional_messages": (
        "references of code messages older than RETENTION_DELIVERY_CONTENT_DAYS: deleted"
    ),
    "audit_log": "audit entries older than RETENTION_AUDIT_YEARS: deleted",
    "sign_ins": "sign-ins older than RETENTION_SIGN_INS_DAYS, session ended: deleted",
    "suspicious_reports": "suspicious-message reports older than RETENTION_REPORTS_DAYS: deleted",
    "devices": "app devices not seen for RETENTION_DEVICES_DAYS: deleted with their push token",
    "contact_notes": "support notes older than RETENTION_CONTACT_NOTES_DAYS: deleted",
    "delivery_content": "deliveries idle for RETENTION_DELIVERY_CONTENT_DAYS: text removed",
    "incident_records": "incidents closed RETENTION_MONTHS_AFTER_CLOSE ago: figures recorded",
    "incident_deliveries": "their deliveries: deleted",
    "incident_exposures": "their exposures: deleted",
}
SETTINGS = [
    "RETENTION_DELIVERY_CONTENT_DAYS",
    "RETENTION_MONTHS_AFTER_CLOSE",
    "RETENTION_CODES_DAYS",
    "RETENTION_IMPORT_FILES_DAYS",
    "RETENTION_AUDIT_YEARS",
    "RETENTION_SIGN_INS_DAYS",
    "RETENTION_REPORTS_DAYS",
    "RETENTION_DEVICES_DAYS",
    "RETENTION_CONTACT_NOTES_DAYS",
    "RETENTION_BATCH_SIZE",
]

# A delivery's address once its content is removed: masked as the admin shows it.
_MASKED_TO = Case(
    When(
        Q(channel="sms") & ~Q(to=""),
        then=Concat(Value(f"{DOT * 4} {DOT * 3} "), Right("to", 3)),
    ),
    When(
        Q(channel="email", to__contains="@"),
        then=Concat(
            Left("to", 1),
            Value(f"{DOT * 3}@"),
            Lower(Substr("to", StrIndex("to", Value("@")) + 1)),
        ),
    ),
    default=Value(""),
    output_field=CharField(),
)


@dataclass
class RetentionReport:
    """Rows affected (or, in a dry run, that would be) per rule."""

    dry_run: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULES, 0))
    batches: int = 0
    # False when the time budget ran out first: the next run carries on.
    complete: bool = True
    # Closed incidents left alone this time (a campaign still sending).
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict:
        return asdict(self)


class _OutOfTime(Exception):
    pass


class _Run:
    def __init__(self, *, now: datetime, dry_run: bool, seconds: float | None) -> None:
        self.now = now
        self.dry_run = dry_run
        self.batch_size = settings.RETENTION_BATCH_SIZE
        self.deadline = time.monotonic() + seconds if seconds else None
        self.report = RetentionReport(dry_run=dry_run)

    def apply(
        self,
        rule: str,
        rows: QuerySet,
        action: Callable[[QuerySet], int],
        *,
        count: Callable[[QuerySet], int] | None = None,
    ) -> None:
        """Count ``rows`` (dry run), or hand them to ``action`` a batch at a time.

        Each batch is the next ``batch_size`` primary keys that match, in one
        transaction; ``action`` gets them as ``rows`` filtered to those keys, so
        the rule is checked again at the moment of change. A rule that decides
        beyond SQL gives ``count``, which a dry run calls on the same batches.
        """
        if self.dry_run and count is None:
            self.report.counts[rule] += rows.count()
            return
        last = 0
        while True:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise _OutOfTime
            ids = list(
                rows.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", flat=True)[: self.batch_size]
            )
            if not ids:
                return
            if self.dry_run:
                self.report.counts[rule] += count(rows.filter(pk__in=ids))
            else:
                with transaction.atomic():
                    self.report.counts[rule] += action(rows.filter(pk__in=ids))
            self.report.batches += 1
            last = ids[-1]


def retention_apply(
    *, dry_run: bool = False, seconds: float | None = None, now: datetime | None = None
) -> RetentionReport:
    """Apply every retention rule, or with ``dry_run`` count what each would do.

    ``seconds`` bounds the run (the scheduled task's budget); the report says
    whether it finished. A real run writes an audit entry with the counts.
    """
    run = _Run(now=now or timezone.now(), dry_run=dry_run, seconds=seconds)
    try:
        for rule in (
            _claim_codes,
            _contact_verifications,
            _import_files,
            _outbox_messages,
            _test_sends,
            _transactional_messages,
            _audit_log,
            _sign_ins,
            _suspicious_reports,
            _devices,
            _contact_notes,
            _delivery_content,  # before incidents: a dry run then counts the same rows
            _closed_incidents,
        ):
            rule(run)
    except _OutOfTime:
        run.report.complete = False
    if not dry_run:
        detail = run.report.as_dict()
        detail["policy"] = {name: getattr(settings, name) for name in SETTINGS}
        audit(AuditAction.RETENTION_APPLY, actor=None, detail=detail)
    logger.info(
        "retention%s: %s",
        " (dry run)" if dry_run else "",
        ", ".join(f"{rule}={n}" for rule, n in run.report.counts.items() if n) or "nothing due",
    )
    return run.report


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (clamped to the month's end)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _deleted(rows: QuerySet) -> int:
    return rows.delete()[1].get(rows.model._meta.label, 0)


# --- the rules ------------------------------------------------------------------------


def _claim_codes(run: _Run) -> None:
    if not settings.RETENTION_CODES_DAYS:
        return
    cutoff = run.now - timedelta(days=settings.RETENTION_CODES_DAYS)
    dead = ClaimCode.objects.filter(
        Q(expires_at__lt=cutoff) | Q(used_at__lt=cutoff) | Q(revoked_at__lt=cutoff)
    )
    run.apply("claim_codes", dead, _deleted)


def _contact_verifications(run: _Run) -> None:
    if not settings.RETENTION_CODES_DAYS:
        return
    cutoff = run.now - timedelta(days=settings.RETENTION_CODES_DAYS)
    dead = ContactVerification.objects.filter(Q(expires_at__lt=cutoff) | Q(confirmed_at__lt=cutoff))
    run.apply("contact_verifications", dead, _deleted)


def _import_files(run: _Run) -> None:
    if not settings.RETENTION_IMPORT_FILES_DAYS:
        return
    cutoff = run.now - timedelta(days=settings.RETENTION_IMPORT_FILES_DAYS)
    # A job still queued that long never ran (the import sweep queues a lost
    # task again, but its worker may never have come): its file would stay for ever.
    never_ran = Q(status=ImportJob.Status.QUEUED, created_at__lt=cutoff)
    finished = ImportJob.objects.filter(Q(finished_at__lt=cutoff) | never_ran).exclude(
        file="", report=""
    )

    def remove(jobs: QuerySet) -> int:
        ids = []
        for job in jobs:
            for stored in (job.file, job.report):
                if stored:
                    stored.storage.delete(stored.name)  # a file already gone is fine
            ids.append(job.pk)
        # By id: a queued job no longer matches the rule once marked failed.
        ImportJob.objects.filter(pk__in=ids).update(file="", report="")
        ImportJob.objects.filter(pk__in=ids, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.FAILED,
            finished_at=run.now,
            message="nothing imported; it never ran, and its file was deleted after "
            "RETENTION_IMPORT_FILES_DAYS: upload it again",
        )
        return len(ids)

    run.apply("import_files", finished, remove)


def _older_than(run: _Run, rule: str, days: int, rows: QuerySet, field: str = "created_at"):
    """Delete ``rows`` whose ``field`` is more than ``days`` old (0: never)."""
    if days:
        cutoff = run.now - timedelta(days=days)
        run.apply(rule, rows.filter(**{f"{field}__lt": cutoff}), _deleted)


def _outbox_messages(run: _Run) -> None:
    days = settings.RETENTION_DELIVERY_CONTENT_DAYS
    _older_than(run, "outbox_messages", days, OutboxMessage.objects.all())


def _test_sends(run: _Run) -> None:
    _older_than(run, "test_sends", settings.RETENTION_DELIVERY_CONTENT_DAYS, TestSend.objects.all())


def _transactional_messages(run: _Run) -> None:
    # A sign-in or claim code's reference: /verify no longer vouches for it after this.
    days = settings.RETENTION_DELIVERY_CONTENT_DAYS
    _older_than(run, "transactional_messages", days, TransactionalMessage.objects.all())


def _audit_log(run: _Run) -> None:
    if not settings.RETENTION_AUDIT_YEARS:
        return
    cutoff = months_before(run.now, 12 * settings.RETENTION_AUDIT_YEARS)

    def purge(entries: QuerySet) -> int:
        # The model refuses deletes; the database accepts them in a purge only.
        ids = list(entries.values_list("pk", flat=True))
        marks = ", ".join(["%s"] * len(ids))
        with audit_purge_allowed(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM portal_auditentry WHERE id IN ({marks})", ids)  # noqa: S608
            return cursor.rowcount

    run.apply("audit_log", AuditEntry.objects.filter(created_at__lt=cutoff), purge)


def _ended(sessions: list[tuple[int, str]]) -> list[int]:
    """The ids of those whose session no longer exists: one cache round trip
    (sessions live in the cache, settings.SESSION_ENGINE)."""
    prefix = SessionStore.cache_key_prefix
    live = caches[settings.SESSION_CACHE_ALIAS].get_many([prefix + key for _pk, key in sessions])
    return [pk for pk, key in sessions if prefix + key not in live]


def _sign_ins(run: _Run) -> None:
    if not settings.RETENTION_SIGN_INS_DAYS:
        return
    cutoff = run.now - timedelta(days=settings.RETENTION_SIGN_INS_DAYS)
    # A live session keeps its row: the devices page ends sessions through it.
    old = UserSession.objects.filter(last_seen_at__lt=cutoff)

    def ended(rows: QuerySet) -> list[int]:
        return _ended(list(rows.values_list("pk", "session_key")))

    def purge(rows: QuerySet) -> int:
        ids = ended(rows)
        return _deleted(UserSession.objects.filter(pk__in=ids)) if ids else 0

    run.apply("sign_ins", old, purge, count=lambda rows: len(ended(rows)))


def _suspicious_reports(run: _Run) -> None:
    # Unreviewed ones too: a year on, the message it reported is long dealt with.
    days = settings.RETENTION_REPORTS_DAYS
    _older_than(run, "suspicious_reports", days, SuspiciousReport.objects.all())


def _devices(run: _Run) -> None:
    # updated_at moves whenever the app registers or refreshes its token, and
    # when the provider says the token is gone (the device is then inactive).
    days = settings.RETENTION_DEVICES_DAYS
    _older_than(run, "devices", days, Device.objects.all(), field="updated_at")


def _contact_notes(run: _Run) -> None:
    days = settings.RETENTION_CONTACT_NOTES_DAYS
    _older_than(run, "contact_notes", days, ContactNote.objects.all())


def _delivery_content(run: _Run) -> None:
    if not settings.RETENTION_DELIVERY_CONTENT_DAYS:
        return
    cutoff = run.now - timedelta(days=settings.RETENTION_DELIVERY_CONTENT_DAYS)
    # Still to send or in flight: the dispatcher needs the row as it is.
    idle = Delivery.objects.filter(content_removed_at__isnull=True, updated_at__lt=cutoff).exclude(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    )

    def scrub(deliveries: QuerySet) -> int:
        # Provider errors can quote the number; states and times stay.
        DeliveryEvent.objects.filter(delivery__in=deliveries).exclude(detail="").update(detail="")
        # update() leaves updated_at alone: the last real change stays visible.
        return deliveries.update(
            to=_MASKED_TO, subject="", body="", last_error="", content_removed_at=run.now
        )

    run.apply("delivery_content", idle, scrub)


def _delete_deliveries(deliveries: QuerySet) -> int:
    DeliveryEvent.objects.filter(delivery__in=deliveries).delete()
    return _deleted(deliveries.only("pk"))


def _closed_incidents(run: _Run) -> None:
    if not settings.RETENTION_MONTHS_AFTER_CLOSE:
        return
    cutoff = months_before(run.now, settings.RETENTION_MONTHS_AFTER_CLOSE)
    due = (
        Incident.objects.filter(status=Incident.Status.CLOSED, closed_at__lt=cutoff)
        .exclude(record__rows_removed_at__isnull=False)
        .order_by("pk")
    )
    busy = {Campaign.Status.SENDING, Campaign.Status.PAUSED}
    for incident in due:
        campaigns = dict(Campaign.objects.filter(incident=incident).values_list("pk", "status"))
        if busy & set(campaigns.values()):
            run.report.skipped.append(incident.slug)
            continue
        if not IncidentRecord.objects.filter(incident=incident).exists():
            run.report.counts["incident_records"] += 1
        if not run.dry_run:
            # The figures first, from every row, before the first row goes.
            incident_record_take(incident=incident)
        run.apply(
            "incident_deliveries",
            Delivery.objects.filter(campaign_id__in=list(campaigns)),
            _delete_deliveries,
        )
        run.apply("incident_exposures", Exposure.objects.filter(incident=incident), _deleted)
        if not run.dry_run:
            IncidentRecord.objects.filter(incident=incident).update(rows_removed_at=run.now)

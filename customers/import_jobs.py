"""Imports started from the admin and run by a worker, with progress that
other processes can read (in the shared cache: the import itself runs in one
long transaction whose writes nobody sees until it commits)."""

from __future__ import annotations

import functools
import io
import logging
import time
from datetime import timedelta

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from customers.importers import ImportFailed, ImportReport, import_customers, import_exposures
from customers.models import ImportJob
from portal.observability.logs import traceback_without_messages

logger = logging.getLogger(__name__)

_PROGRESS = "import-progress:{}"

# The worker's hard time limit for one import; a job running for longer than
# that (and a margin) has lost its worker: killed, restarted, out of memory.
IMPORT_TIME_LIMIT = 3 * 3600
_ABANDONED_AFTER = timedelta(seconds=IMPORT_TIME_LIMIT + 600)


def import_job_progress(job: ImportJob) -> int:
    """Bytes read so far."""
    if job.status == ImportJob.Status.DONE:
        return job.bytes_total
    return int(cache.get(_PROGRESS.format(job.pk)) or 0)


def import_job_create(*, kind: str, file, incident=None, skip_invalid: bool, by) -> ImportJob:
    from customers.tasks import run_import_job

    job = ImportJob.objects.create(
        kind=kind,
        incident=incident,
        file=file,
        skip_invalid=skip_invalid,
        bytes_total=file.size,
        created_by=by,
    )
    transaction.on_commit(lambda: run_import_job.delay(job.pk))
    return job


def import_job_delete(*, job: ImportJob) -> bool:
    """Delete a job that is not running, and its files: once its row is gone,
    nothing (the retention policy included) would ever find the uploaded CSV
    again. False if a worker has claimed it since ``job`` was read: deleted
    then, its files went from under the import, and the job came back when the
    worker saved it."""
    with transaction.atomic():
        current = (
            ImportJob.objects.select_for_update()
            .filter(pk=job.pk)
            .exclude(status=ImportJob.Status.RUNNING)
            .first()
        )
        if current is None:
            return False
        files = [stored.name for stored in (current.file, current.report) if stored]
        storage, pk = current.file.storage, current.pk
        current.delete()
    cache.delete(_PROGRESS.format(pk))

    def remove() -> None:
        for name in files:
            storage.delete(name)  # a file already gone is fine

    transaction.on_commit(remove)
    return True


class _IncidentClosed(Exception):
    pass


def import_job_run(job_id: int) -> None:
    """Claim the job (a redelivered task finds it taken) and run it."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return
    job = ImportJob.objects.select_related("incident").get(pk=job_id)
    last = {"at": 0.0}

    def progress(stream, count: int) -> None:
        # Where the reader is in the file, not a sum of what was read: the header
        # is read apart, and PostgreSQL reads a file COPY refused a second time.
        position = stream.tell()
        now = time.monotonic()
        # At most twice a second, but the end always: what the page shows while
        # the import checks and writes what it read (minutes for millions).
        if position >= job.bytes_total or now - last["at"] > 0.5:
            cache.set(_PROGRESS.format(job.pk), position, IMPORT_TIME_LIMIT)
            last["at"] = now

    try:
        if job.kind == ImportJob.Kind.EXPOSURES and job.incident.closed_at is not None:
            raise _IncidentClosed
        with job.file.open("rb") as stream:
            report = _import(job, stream, functools.partial(progress, stream))
        job.status = ImportJob.Status.DONE
        job.message = report.summary()
    except _IncidentClosed:
        # Closed after the upload (the form refuses a closed one): retention may
        # have frozen its figures and deleted its exposures already.
        report = ImportReport(kind=job.kind)
        job.status = ImportJob.Status.FAILED
        job.message = (
            f"{job.kind}: nothing imported; the incident was closed before the import "
            "started: reopen it and upload the file again"
        )
    except ImportFailed as failed:
        report = failed.report
        job.status = ImportJob.Status.FAILED
        job.message = report.summary()
    except Exception as exc:
        # Anything else (a bug, a file gone from MEDIA_ROOT, a time limit) must not
        # leave the job running for ever, and undeletable. The log gets where it
        # happened, not the message: that may quote a value from the file (a
        # database error shows the whole failing row: names, birth dates).
        logger.error(
            "import job %s stopped by an unexpected error:\n%s",
            job.pk,
            traceback_without_messages(exc),
        )
        report = ImportReport(kind=job.kind)
        job.status = ImportJob.Status.FAILED
        job.message = (
            f"{job.kind}: nothing imported; stopped by an unexpected error "
            f"({type(exc).__name__}), in the worker's log"
        )
    job.inserted, job.updated = report.inserted, report.updated
    job.rejected_lines = report.rejected_lines
    if report.errors:
        out = io.StringIO()
        report.write_csv(out)
        try:
            job.report.save(
                f"report-{job.pk}.csv", ContentFile(out.getvalue().encode()), save=False
            )
        except OSError as exc:
            # The import may be committed: the job must still end, with its counts,
            # not stay running until the sweep calls it failed with nothing imported.
            logger.error("import job %s: its report could not be written: %s", job.pk, exc)
            job.report = ""
            job.message += "; the report could not be written (disk full?), in the worker's log"
    job.finished_at = timezone.now()
    job.save()
    cache.delete(_PROGRESS.format(job.pk))
    _upload_remove(job)


def _upload_remove(job: ImportJob) -> None:
    """The uploaded CSV holds raw personal data (identity numbers unmasked): it
    goes as soon as its job has ended, imported or not (staff upload a corrected
    file again). Its name stays on the job, to say what was imported; the report
    (no values) stays until the retention policy removes it."""
    if not job.file:
        return
    try:
        job.file.storage.delete(job.file.name)  # a file already gone is fine
    except OSError as exc:
        # The retention policy deletes it later (RETENTION_IMPORT_FILES_DAYS).
        logger.error("import job %s: its upload could not be deleted: %s", job.pk, exc.strerror)


def _import(job: ImportJob, stream, progress) -> ImportReport:
    if job.kind == ImportJob.Kind.CUSTOMERS:
        return import_customers(stream, skip_invalid=job.skip_invalid, progress=progress)
    return import_exposures(
        stream, incident=job.incident, skip_invalid=job.skip_invalid, progress=progress
    )


# A job queued this long may have lost its task with a broker (a restart of a
# Redis without persistence): the sweep queues its task again. A job merely
# waiting behind another runs once whichever of its tasks comes first (the
# claim), and the others find it taken.
_REQUEUE_AFTER = timedelta(minutes=10)


def import_jobs_requeue_waiting() -> int:
    """Queue again the task of each job still waiting to start: the database,
    not the broker, says what is left to do."""
    from customers.tasks import run_import_job

    waiting = ImportJob.objects.filter(
        status=ImportJob.Status.QUEUED, created_at__lt=timezone.now() - _REQUEUE_AFTER
    ).values_list("pk", flat=True)
    count = 0
    for pk in waiting.order_by("created_at"):
        run_import_job.delay(pk)
        count += 1
    return count


# On PostgreSQL a running import holds the import lock (importers/postgres.py)
# from its first statement to its commit, and a worker that dies lets go of it
# with its connection: a job running this long while nobody holds the lock has
# lost its worker (a claimed job reaches the lock within moments).
_LOST_AFTER = timedelta(minutes=10)


def _no_import_holds_the_lock() -> bool:
    if connection.vendor != "postgresql":
        return False
    from customers.importers.postgres import IMPORT_LOCK

    with transaction.atomic(), connection.cursor() as cursor:
        # Taken only to see that it is free; let go of at this commit.
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [IMPORT_LOCK])
        return cursor.fetchone()[0]


def import_jobs_fail_abandoned() -> int:
    """Fail the jobs whose worker stopped without finishing them (a hard time
    limit or a killed worker runs no ``except``): the import is one transaction,
    so nothing of them was imported, and staff can see it and upload again.
    On PostgreSQL that is known ten minutes after the job started, when no
    import holds the import lock; elsewhere once its time limit has passed."""
    now = timezone.now()
    lost = Q(started_at__lt=now - _ABANDONED_AFTER)
    if _no_import_holds_the_lock():
        lost |= Q(started_at__lt=now - _LOST_AFTER)
    abandoned = ImportJob.objects.filter(lost, status=ImportJob.Status.RUNNING)
    jobs = list(abandoned)
    count = ImportJob.objects.filter(
        pk__in=[job.pk for job in jobs], status=ImportJob.Status.RUNNING
    ).update(
        status=ImportJob.Status.FAILED,
        finished_at=now,
        message=(
            "nothing imported; the worker running it stopped before it finished "
            "(killed, restarted or out of time): upload the file again"
        ),
    )
    for job in jobs:
        cache.delete(_PROGRESS.format(job.pk))
        logger.error("import job %s lost its worker: marked failed", job.pk)
        _upload_remove(job)
    return count

"""Imports uploaded in the admin, run by a worker, with progress and a report."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer, Exposure, ImportJob
from tests.factories import CustomerFactory, UserFactory
from tests.staff import login_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    login_staff(client, UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def upload(client, name, content, django_capture_on_commit_callbacks, **fields):
    url = reverse("admin:customers_importjob_add")
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(url, {"file": SimpleUploadedFile(name, content), **fields}, follow=True)


def test_uploading_customers_imports_them_in_a_worker(
    admin_client, django_capture_on_commit_callbacks
):
    upload(
        admin_client,
        "c.csv",
        b"customer_ref,email\nUP0001,a@example.com\n",
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    job = ImportJob.objects.get()
    assert (job.status, job.inserted) == ("done", 1)
    assert Customer.objects.filter(customer_ref="UP0001").exists()
    page = admin_client.get(reverse("admin:customers_importjob_change", args=[job.pk]))
    assert "100%" in page.content.decode()


def test_uploaded_files_and_reports_are_readable_by_their_owner_only(
    admin_client, django_capture_on_commit_callbacks
):
    url = reverse("admin:customers_importjob_add")
    content = b"customer_ref,email\nUP0001,a@example.com\nUP0001,b@example.com\n"
    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post(url, {"file": SimpleUploadedFile("c.csv", content), "kind": "customers"})
    job = ImportJob.objects.get()
    # The upload, until its job ends (then it is deleted).
    assert os.stat(job.file.path).st_mode & 0o777 == 0o600
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert job.report  # the duplicate line
    assert os.stat(job.report.path).st_mode & 0o777 == 0o600


def test_a_rejected_upload_offers_its_report(
    admin_client, incident, django_capture_on_commit_callbacks
):
    CustomerFactory(customer_ref="UP0001")
    upload(
        admin_client,
        "e.csv",
        b"customer_ref,exposed\nUP0001,passport_number=PA1\nNOPE,email=x@y.z\n",
        django_capture_on_commit_callbacks,
        kind="exposures",
        incident=incident.pk,
    )
    job = ImportJob.objects.get()
    assert (job.status, job.rejected_lines) == ("failed", 1)
    assert not Exposure.objects.exists()
    response = admin_client.get(reverse("admin:customers_importjob_report", args=[job.pk]))
    body = b"".join(response.streaming_content).decode()
    assert "3,customer_ref,unknown customer" in body


def test_uploads_are_size_limited_and_need_an_incident_for_exposures(
    admin_client, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    response = upload(
        admin_client,
        "big.csv",
        b"x" * (1024 * 1024 + 1),
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    assert "larger than 1 MB" in response.content.decode()
    response = upload(
        admin_client,
        "e.csv",
        b"customer_ref,exposed\n",
        django_capture_on_commit_callbacks,
        kind="exposures",
    )
    assert "choose one" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_job_runs_once_even_if_its_task_is_delivered_twice(
    admin_client, django_capture_on_commit_callbacks
):
    from customers.import_jobs import import_job_run

    upload(
        admin_client,
        "c.csv",
        b"customer_ref\nUP0002\n",
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    job = ImportJob.objects.get()
    import_job_run(job.pk)  # the redelivered task
    job.refresh_from_db()
    assert job.inserted == 1 and job.status == "done"


def test_a_file_with_carriage_return_line_endings_fails_with_a_report(
    admin_client, django_capture_on_commit_callbacks
):
    upload(
        admin_client,
        "mac.csv",
        b"customer_ref,email\rUP0003,a@example.com\r",
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    job = ImportJob.objects.get()
    assert (job.status, job.rejected_lines) == ("failed", 1)
    response = admin_client.get(reverse("admin:customers_importjob_report", args=[job.pk]))
    body = b"".join(response.streaming_content).decode()
    assert "1,,carriage return without line feed" in body


def test_an_unexpected_error_fails_the_job_logs_it_and_lets_it_be_deleted(
    admin_client, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    from customers import import_jobs

    def broken(*args, **kwargs):
        # As a database error quotes the row it refused, chained like psycopg's.
        try:
            raise ValueError("Failing row contains (UP0004, Zephyrine, Quillfeather, 1985-03-12)")
        except ValueError as error:
            raise RuntimeError("a value from the file: UP0004") from error

    monkeypatch.setattr(import_jobs, "import_customers", broken)
    upload(
        admin_client,
        "c.csv",
        b"customer_ref\nUP0004\n",
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    job = ImportJob.objects.get()
    assert job.status == "failed" and job.finished_at is not None
    assert "RuntimeError" in job.message and "UP0004" not in job.message
    [record] = [r for r in caplog.records if r.name == "customers.import_jobs"]
    logged = record.getMessage() + (record.exc_text or "")
    # Where it happened and what, for the operator; none of the file's values.
    assert record.levelname == "ERROR" and "in broken" in logged
    assert "builtins.RuntimeError" in logged and "builtins.ValueError" in logged
    for value in ("UP0004", "Zephyrine", "Quillfeather", "1985-03-12"):
        assert value not in logged, value
    delete = reverse("admin:customers_importjob_delete", args=[job.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not ImportJob.objects.exists()


@contextlib.contextmanager
def import_lock_held_elsewhere():
    """On PostgreSQL, the import lock held by another session, as a running
    import holds it (customers.importers.postgres); elsewhere, nothing."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    import psycopg

    from customers.importers.postgres import IMPORT_LOCK

    params = connection.get_connection_params()
    keys = ("dbname", "user", "password", "host", "port")
    with psycopg.connect(**{k: params[k] for k in keys if params.get(k)}) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [IMPORT_LOCK])
        try:
            yield
        finally:
            # Let go of it before the next statement: a closed connection's
            # backend lets go of its locks a moment later, as it exits.
            other.execute("SELECT pg_advisory_unlock(%s)", [IMPORT_LOCK])


def test_a_job_whose_worker_stopped_is_failed_by_the_sweep_after_the_time_limit(tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from customers.import_jobs import IMPORT_TIME_LIMIT
    from customers.tasks import import_jobs_sweep

    now = timezone.now()
    lost, busy = (
        ImportJob.objects.create(
            kind="customers",
            file="imports/c.csv",
            status="running",
            started_at=now - timedelta(seconds=seconds),
        )
        for seconds in (IMPORT_TIME_LIMIT + 3600, IMPORT_TIME_LIMIT - 60)
    )
    with import_lock_held_elsewhere():  # busy's import, on PostgreSQL
        assert import_jobs_sweep.delay().get() == 1
    lost.refresh_from_db(), busy.refresh_from_db()
    assert lost.status == "failed" and lost.finished_at is not None
    assert "upload the file again" in lost.message
    assert busy.status == "running"


def test_the_import_sweep_is_scheduled(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert any(entry["task"] == "customers.tasks.import_jobs_sweep" for entry in schedule.values())


def test_exposures_are_not_imported_into_a_closed_incident(
    admin_client, incident, django_capture_on_commit_callbacks
):
    from customers.services import incident_close

    CustomerFactory(customer_ref="UP0001")
    incident_close(incident=incident, by=None)
    response = upload(
        admin_client,
        "e.csv",
        b"customer_ref,exposed\nUP0001,passport_number=PA1\n",
        django_capture_on_commit_callbacks,
        kind="exposures",
        incident=incident.pk,
    )
    assert "reopen it before importing" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert not Exposure.objects.exists()


def test_deleting_a_job_deletes_its_files(
    admin_client, settings, django_capture_on_commit_callbacks
):
    # The row gone, the uploaded CSV (raw personal data) stayed on disk, where
    # the retention policy, which walks the jobs, would never find it.
    upload(
        admin_client,
        "e.csv",
        b"customer_ref,exposed\nNOPE,email=x@y.z\n",
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    job = ImportJob.objects.get()
    # The upload itself went when the job ended; a queued job's goes with it too.
    files = [settings.MEDIA_ROOT / job.report.name]
    assert job.report and all(path.exists() for path in files)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:customers_importjob_delete", args=[job.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not ImportJob.objects.exists()
    assert not any(path.exists() for path in files)


def test_deleting_a_queued_job_deletes_its_upload(
    admin_client, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():  # the worker never runs it
        admin_client.post(
            reverse("admin:customers_importjob_add"),
            {"file": SimpleUploadedFile("c.csv", b"customer_ref\nUP0001\n"), "kind": "customers"},
        )
    job = ImportJob.objects.get()
    path = settings.MEDIA_ROOT / job.file.name
    assert job.status == "queued" and path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:customers_importjob_delete", args=[job.pk]), {"post": "yes"}
        )
    assert not ImportJob.objects.exists() and not path.exists()


def test_a_jobs_page_names_its_upload_without_linking_to_it(
    admin_client, django_capture_on_commit_callbacks
):
    upload(
        admin_client,
        "c.csv",
        b"customer_ref,email\nUP0001,a@example.com\n",
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    job = ImportJob.objects.get()
    html = admin_client.get(reverse("admin:customers_importjob_change", args=[job.pk])).content
    assert job.file.name.encode() not in html
    assert b"c.csv" in html


@pytest.mark.parametrize(
    "content",
    [b"customer_ref,email\nUP0001,a@example.com\n", b"customer_ref,email\nUP0001,nope\n"],
    ids=["done", "failed"],
)
def test_the_uploaded_file_is_deleted_once_its_job_has_ended(
    admin_client, settings, content, django_capture_on_commit_callbacks
):
    # Raw personal data (an exposures file holds identity numbers unmasked) stayed
    # on disk for RETENTION_IMPORT_FILES_DAYS after it was imported.
    upload(admin_client, "c.csv", content, django_capture_on_commit_callbacks, kind="customers")
    job = ImportJob.objects.get()
    assert job.status in ("done", "failed") and job.file.name.endswith("c.csv")
    assert not (settings.MEDIA_ROOT / job.file.name).exists()
    assert (
        b"c.csv"
        in admin_client.get(reverse("admin:customers_importjob_change", args=[job.pk])).content
    )


def test_the_sweep_deletes_the_upload_of_a_job_whose_worker_stopped(settings, tmp_path):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from customers.import_jobs import IMPORT_TIME_LIMIT, import_jobs_fail_abandoned

    settings.MEDIA_ROOT = tmp_path
    job = ImportJob(kind="customers", status="running")
    job.file.save("c.csv", ContentFile(b"customer_ref\nUP0001\n"), save=False)
    job.started_at = timezone.now() - timedelta(seconds=IMPORT_TIME_LIMIT + 3600)
    job.save()
    assert (tmp_path / job.file.name).exists()
    assert import_jobs_fail_abandoned() == 1
    assert not (tmp_path / job.file.name).exists()


def test_an_upload_over_the_limit_is_not_stored_past_it(
    admin_client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # The size was checked by the form, after Django had written the whole
    # upload to a temporary file (and the CSRF check reads it before the view,
    # for anyone with the CSRF cookie): gigabytes on the disk before a refusal.
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    settings.IMPORT_MAX_UPLOAD_MB = 1
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload to a temporary file
    stored = []
    receive = TemporaryFileUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        stored.append(len(raw_data))
        return receive(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", counting)
    response = upload(
        admin_client,
        "big.csv",
        b"customer_ref\n" + b"UP0001\n" * (3 * 1024 * 1024 // 7),
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    assert "larger than 1 MB" in response.content.decode()
    assert 0 < sum(stored) <= 1024 * 1024
    assert not ImportJob.objects.exists()


def test_progress_reaches_the_end_of_the_file_once_it_is_read(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    # Counted in steps of half a second, the last lines read were never shown: the
    # page said (say) 97% while the import checked and wrote, minutes for millions.
    from customers import import_jobs

    seen = []
    real = import_jobs.import_customers

    def importing(stream, **kwargs):
        report = real(stream, **kwargs)
        job = ImportJob.objects.get()
        seen.append((job.status, import_jobs.import_job_progress(job), job.bytes_total))
        return report

    monkeypatch.setattr(import_jobs, "import_customers", importing)
    content = b"customer_ref,email\n" + b"".join(
        b"UP%04d,a%d@example.com\n" % (n, n) for n in range(200)
    )
    upload(admin_client, "c.csv", content, django_capture_on_commit_callbacks, kind="customers")
    assert seen == [("running", len(content), len(content))]
    assert ImportJob.objects.get().inserted == 200


def test_the_sweep_queues_again_a_job_whose_task_was_lost(
    admin_client, django_capture_on_commit_callbacks
):
    # Its task lost with the broker (a Redis restarted without persistence), a job
    # stayed "queued" until the retention policy failed it, thirty days later.
    from datetime import timedelta

    from django.utils import timezone

    from customers.tasks import import_jobs_sweep

    with django_capture_on_commit_callbacks():  # the task never reaches a worker
        admin_client.post(
            reverse("admin:customers_importjob_add"),
            {"file": SimpleUploadedFile("c.csv", b"customer_ref\nUP0005\n"), "kind": "customers"},
        )
    job = ImportJob.objects.get()
    import_jobs_sweep.delay()
    job.refresh_from_db()
    assert job.status == "queued"  # just uploaded: its task is on its way
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))
    import_jobs_sweep.delay()
    job.refresh_from_db()
    assert (job.status, job.inserted) == ("done", 1)
    assert Customer.objects.filter(customer_ref="UP0005").exists()


def test_a_report_that_cannot_be_written_still_ends_the_job_with_its_counts(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    # The valid lines were committed, then writing the report raised (a full
    # disk): the job stayed "running" until the sweep said nothing was imported.
    from django.core.files.storage import FileSystemStorage

    save = FileSystemStorage.save

    def full(self, name, *args, **kwargs):
        if name.startswith("import-reports/"):
            raise OSError(28, "No space left on device")
        return save(self, name, *args, **kwargs)

    monkeypatch.setattr(FileSystemStorage, "save", full)
    upload(
        admin_client,
        "c.csv",
        b"customer_ref,email\nUP0006,a@example.com\nUP0007,nope\n",
        django_capture_on_commit_callbacks,
        kind="customers",
        skip_invalid="on",
    )
    job = ImportJob.objects.get()
    assert (job.status, job.inserted, job.rejected_lines) == ("done", 1, 1)
    assert not job.report and "report could not be written" in job.message
    assert Customer.objects.filter(customer_ref="UP0006").exists()


def test_an_imports_page_is_labelled_for_translation_and_its_progress_is_named(
    admin_client, django_capture_on_commit_callbacks
):
    # "Status", "Inserted", "Rejected lines", "Created by"… stayed English on a
    # French admin (fields without a translatable label), and the progress bar
    # had no name for a screen reader (the field's label is not tied to it).
    from django.core.exceptions import FieldDoesNotExist
    from django.utils.functional import Promise

    from customers.admin import ImportJobAdmin

    for name in ImportJobAdmin.list_display + ImportJobAdmin.readonly_fields:
        try:
            label = ImportJob._meta.get_field(name).verbose_name
        except FieldDoesNotExist:  # an admin method, labelled by its description
            label = getattr(ImportJobAdmin, name).short_description
        assert isinstance(label, Promise), name
    upload(
        admin_client,
        "c.csv",
        b"customer_ref\nUP0008\n",
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    job = ImportJob.objects.get()
    html = admin_client.get(reverse("admin:customers_importjob_change", args=[job.pk])).content
    assert b'<progress max="20" value="20" aria-label="import progress">' in html


def test_a_job_a_worker_claims_while_it_is_being_deleted_is_kept(
    admin_client, settings, django_capture_on_commit_callbacks
):
    # The delete page read the job queued; a worker claimed it before the delete
    # ran: its upload was deleted under the import, and the worker's final save
    # put the row back.
    from customers.import_jobs import import_job_delete

    with django_capture_on_commit_callbacks():
        admin_client.post(
            reverse("admin:customers_importjob_add"),
            {"file": SimpleUploadedFile("c.csv", b"customer_ref\nUP0009\n"), "kind": "customers"},
        )
    read = ImportJob.objects.get()
    ImportJob.objects.filter(pk=read.pk).update(status="running")  # the worker's claim
    with django_capture_on_commit_callbacks(execute=True):
        assert import_job_delete(job=read) is False
    assert ImportJob.objects.filter(pk=read.pk, status="running").exists()
    assert (settings.MEDIA_ROOT / read.file.name).exists()


def test_a_report_missing_from_the_disk_gets_a_message_not_a_server_error(
    admin_client, settings, django_capture_on_commit_callbacks
):
    # A web host not sharing the worker's MEDIA_ROOT, or a file removed by hand:
    # the download raised FileNotFoundError (a 500), after auditing an export.
    from portal.models import AuditEntry

    upload(
        admin_client,
        "c.csv",
        b"customer_ref,email\nUP0010,nope\n",
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    job = ImportJob.objects.get()
    (settings.MEDIA_ROOT / job.report.name).unlink()
    audited = AuditEntry.objects.count()
    response = admin_client.get(
        reverse("admin:customers_importjob_report", args=[job.pk]), follow=True
    )
    assert response.status_code == 200
    assert "not on this server" in response.content.decode()
    assert AuditEntry.objects.count() == audited


def test_an_incident_closed_after_the_upload_gets_no_exposures(
    admin_client, incident, django_capture_on_commit_callbacks
):
    # The form refuses a closed incident, but one closed while the job waited
    # for a worker got its exposures all the same.
    from customers.services import incident_close

    CustomerFactory(customer_ref="UP0001")
    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post(
            reverse("admin:customers_importjob_add"),
            {
                "file": SimpleUploadedFile("e.csv", b"customer_ref,exposed\nUP0001,email=a@b.c\n"),
                "kind": "exposures",
                "incident": incident.pk,
            },
        )
    incident_close(incident=incident, by=None)
    for callback in callbacks:
        callback()
    job = ImportJob.objects.get()
    assert job.status == "failed" and "incident was closed" in job.message
    assert not Exposure.objects.exists()


def test_a_failed_jobs_page_shows_no_progress_of_zero(
    admin_client, django_capture_on_commit_callbacks
):
    # A job that read its whole file, then failed, showed "0%", as if it never ran.
    upload(
        admin_client,
        "c.csv",
        b"customer_ref,email\nUP0011,nope\n",
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    job = ImportJob.objects.get()
    assert job.status == "failed"
    html = admin_client.get(reverse("admin:customers_importjob_change", args=[job.pk])).content
    assert b"<progress" not in html and b"0%" not in html


def test_a_long_file_name_with_many_dots_is_accepted(
    admin_client, django_capture_on_commit_callbacks
):
    # Storage shortens a name from its part before the first dot: with too
    # little there, it gave up (SuspiciousFileOperation) and staff got a 400.
    name = "customers.export.from.the.billing.system.2026.12.08.all.regions.final.checked.by.the.lead.v3.csv"
    response = upload(
        admin_client,
        name,
        b"customer_ref\nUP0012\n",
        django_capture_on_commit_callbacks,
        kind="customers",
    )
    assert response.status_code == 200
    job = ImportJob.objects.get()
    assert job.status == "done" and job.file.name.endswith(".csv")
    assert job.file.name.split("/")[-1].startswith("customers_export_from")


def test_a_running_jobs_page_polls_its_progress_instead_of_reloading(admin_client, tmp_path):
    # The page reloaded itself every three seconds while the import ran: each
    # time a screen reader and the keyboard focus went back to the top.
    from django.core.cache import cache

    job = ImportJob.objects.create(
        kind="customers", file="imports/c.csv", status="running", bytes_total=1000
    )
    cache.set(f"import-progress:{job.pk}", 250)
    poll = reverse("admin:customers_importjob_progress", args=[job.pk])
    html = admin_client.get(reverse("admin:customers_importjob_change", args=[job.pk]))
    assert f'data-import-progress-url="{poll}"'.encode() in html.content
    assert admin_client.get(poll).json() == {"status": "running", "done": 250, "total": 1000}
    script = (
        Path(__file__).resolve().parents[2] / "customers/static/customers/import_progress.js"
    ).read_text()
    assert "setTimeout(function () { window.location.reload(); }" not in script


def test_a_jobs_progress_needs_the_view_permission(client, tmp_path):
    job = ImportJob.objects.create(kind="customers", file="imports/c.csv", status="running")
    login_staff(client, UserFactory(username="staff", is_staff=True))
    poll = reverse("admin:customers_importjob_progress", args=[job.pk])
    assert client.get(poll).status_code == 404


@pytest.fixture
def french_catalogue(settings, tmp_path):
    """The French catalogue as the .po file has it now (the committed .mo is
    compiled at release)."""
    import polib

    po = Path(__file__).resolve().parents[2] / "locale/fr/LC_MESSAGES/django.po"
    folder = tmp_path / "locale" / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    polib.pofile(str(po)).save_as_mofile(str(folder / "django.mo"))
    settings.LOCALE_PATHS = [tmp_path / "locale"]


def test_a_jobs_outcome_is_in_the_readers_language(
    admin_client, french_catalogue, django_capture_on_commit_callbacks
):
    # The outcome was the worker's English sentence ("customers: imported; 1 new,
    # 0 changed, 1 line(s) rejected, 0.0s") on a French admin.
    upload(
        admin_client,
        "c.csv",
        b"customer_ref,email\nUP0013,a@example.com\nUP0014,nope\n",
        django_capture_on_commit_callbacks,
        kind="customers",
        skip_invalid="on",
    )
    job = ImportJob.objects.get()
    page = reverse("admin:customers_importjob_change", args=[job.pk])
    html = admin_client.get(page, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Importé. Ajouts : 1 ; modifications : 0 ; 1 ligne rejetée" in html
    assert "Lignes rejetées" in html and "Statut" in html
    english = admin_client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Imported: 1 added, 0 changed; 1 line rejected and left out" in english


def test_a_customers_job_runs_whatever_incident_was_picked_with_it(
    admin_client, incident, django_capture_on_commit_callbacks
):
    # The form keeps an incident picked for a customers file (it is ignored):
    # that incident closed must not stop the customers import.
    from customers.services import incident_close

    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post(
            reverse("admin:customers_importjob_add"),
            {
                "file": SimpleUploadedFile("c.csv", b"customer_ref\nUP0015\n"),
                "kind": "customers",
                "incident": incident.pk,
            },
        )
    incident_close(incident=incident, by=None)
    for callback in callbacks:
        callback()
    assert ImportJob.objects.get().status == "done"
    assert Customer.objects.filter(customer_ref="UP0015").exists()


def test_a_file_sent_anywhere_but_the_import_upload_is_not_stored(monkeypatch):
    # The CSRF check reads a form (and stores its files) before any view runs,
    # for anyone with the CSRF cookie: any address took a file of up to the
    # import limit (a gigabyte) onto the disk.
    from django.core.files.uploadhandler import (
        MemoryFileUploadHandler,
        TemporaryFileUploadHandler,
    )

    stored = []
    for handler in (MemoryFileUploadHandler, TemporaryFileUploadHandler):
        receive = handler.receive_data_chunk

        def counting(self, raw_data, start, receive=receive):
            stored.append(len(raw_data))
            return receive(self, raw_data, start)

        monkeypatch.setattr(handler, "receive_data_chunk", counting)
    from django.test import Client

    # Anyone: the cookie comes with any page that has a form.
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "a" * 32
    response = client.post(
        "/verify",
        {"csrfmiddlewaretoken": "b" * 32, "file": SimpleUploadedFile("c.csv", b"x" * 100_000)},
    )
    assert response.status_code == 403  # the CSRF check refused it, having read it
    assert stored == []


@pytest.mark.postgres
def test_on_postgresql_a_job_whose_worker_died_is_failed_once_nobody_holds_the_import_lock():
    # A worker killed (out of memory) in the middle of a 9.8-million-line import
    # left its job "running" for three hours and ten minutes. Its connection gone,
    # nobody holds the import lock that every running import holds.
    from datetime import timedelta

    from django.utils import timezone

    from customers.import_jobs import import_jobs_fail_abandoned

    job = ImportJob.objects.create(
        kind="customers",
        file="imports/c.csv",
        status="running",
        started_at=timezone.now() - timedelta(minutes=20),
    )
    with import_lock_held_elsewhere():  # its import, still running
        assert import_jobs_fail_abandoned() == 0
    assert import_jobs_fail_abandoned() == 1
    job.refresh_from_db()
    assert job.status == "failed" and "upload the file again" in job.message

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from customers.import_jobs import import_job_create, import_job_delete, import_job_progress
from customers.masking import mask_email, mask_name, mask_phone
from customers.models import (
    ClaimCode,
    ContactNote,
    Customer,
    DataClass,
    Exposure,
    ImportJob,
    Incident,
    Step,
    StepProgress,
    User,
)
from customers.normalise import normalise_email, normalise_phone
from customers.services import incident_close, incident_reopen
from portal.audit import audit
from portal.models import AuditAction
from portal.paginators import EstimatedCountPaginator


def customer_search_q(term: str) -> Q:
    """The reference exactly or by its beginning; an email or phone only whole.

    A prefix search on contact details would let staff spell out someone's
    number or address one character at a time, unmasked and unaudited; callers
    give theirs in full.
    """
    term = term.strip()
    query = Q(customer_ref=term) | Q(customer_ref__startswith=term.upper())
    if "@" in term:
        query |= Q(email=normalise_email(term, strict=False))
    phone = normalise_phone(term, strict=False)
    if phone:
        query |= Q(phone=phone)
    return query


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "customer_ref",
        "name",
        "masked_email",
        "masked_phone",
        "is_current",
        "preferred_channel",
        "has_login",
    ]
    list_filter = ["is_current", "preferred_channel", "preferred_language"]
    search_fields = ["customer_ref"]  # replaced by get_search_results below
    search_help_text = _("Customer reference (or its beginning), or a whole email or phone number.")
    # Millions of rows: sorted only by an indexed column (portal/admin_lookups.py).
    sortable_by = ["customer_ref"]
    raw_id_fields = ["user"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = ["created_at", "updated_at"]

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(customer_search_q(search_term)), False

    @admin.display(description=_("name"))
    def name(self, obj: Customer) -> str:
        name = f"{obj.first_name} {obj.last_name}".strip()
        return mask_name(name) if name else "—"

    @admin.display(description=_("email"))
    def masked_email(self, obj: Customer) -> str:
        return mask_email(obj.email) if obj.email else "—"

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Customer) -> str:
        return mask_phone(obj.phone) if obj.phone else "—"

    @admin.display(description=_("login"), boolean=True)
    def has_login(self, obj: Customer) -> bool:
        return obj.user_id is not None


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "status", "discovered_at", "announced_at", "closed_at"]
    list_filter = ["status"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    # Dated by closing (the action, or the status field): retention counts from it.
    readonly_fields = ["closed_at"]
    actions = ["close_incidents"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Its title and summary reach every affected customer: on record, as steps are.
        audit_content_save(
            request, obj, form, change, AuditAction.INCIDENT_ADD, AuditAction.INCIDENT_EDIT
        )
        if obj.status == Incident.Status.CLOSED and obj.closed_at is None:
            incident_close(incident=obj, by=request.user, request=request)
        elif obj.status != Incident.Status.CLOSED and obj.closed_at is not None:
            incident_reopen(incident=obj, by=request.user, status=obj.status, request=request)

    @admin.action(description=_("Close the selected incidents"), permissions=["change"])
    def close_incidents(self, request, queryset):
        count = sum(
            incident_close(incident=incident, by=request.user, request=request)
            for incident in queryset
        )
        self.message_user(
            request,
            ngettext("%(count)s incident closed.", "%(count)s incidents closed.", count)
            % {"count": count},
        )


def audit_content_save(request, obj, form, change, added, edited) -> None:
    """Staff content customers are shown, saved in the admin: on the audit log
    with the fields that changed (an edit that changed nothing is not)."""
    if change and not form.changed_data:
        return
    audit(
        edited if change else added,
        actor=request.user,
        target=obj,
        detail={"fields": sorted(form.changed_data)},
        request=request,
    )


@admin.register(DataClass)
class DataClassAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "sensitivity", "is_identity_document"]
    list_filter = ["sensitivity", "is_identity_document"]
    search_fields = ["code", "label"]

    def get_readonly_fields(self, request, obj=None):
        # Exposures name their fields by code, and segments find them by it: a
        # renamed code would drop every exposure of the class from both.
        return ["code"] if obj is not None else []

    # Its label and explanation are on every dashboard that shows the class.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_content_save(
            request, obj, form, change, AuditAction.DATA_CLASS_ADD, AuditAction.DATA_CLASS_EDIT
        )


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "priority"]
    list_filter = ["data_classes"]
    search_fields = ["code", "title"]
    filter_horizontal = ["data_classes"]

    def get_readonly_fields(self, request, obj=None):
        # A step's page is /dashboard/steps/<code>/, customers' ticks and seed
        # migrations find it by code: a renamed code breaks all three.
        return ["code"] if obj is not None else []

    # What customers are told to do is audited like any other staff content.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_content_save(request, obj, form, change, AuditAction.STEP_ADD, AuditAction.STEP_EDIT)

    def delete_model(self, request, obj):
        self._audit_delete(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        self._audit_delete(request, list(queryset))
        super().delete_queryset(request, queryset)

    @staticmethod
    def _audit_delete(request, steps) -> None:
        for step in steps:
            audit(AuditAction.STEP_DELETE, actor=request.user, target=step, request=request)


@admin.register(Exposure)
class ExposureAdmin(admin.ModelAdmin):
    list_display = ["customer", "incident", "exposed_fields", "created_at"]
    list_filter = ["incident"]
    list_select_related = ["customer", "incident"]
    raw_id_fields = ["customer"]
    search_fields = ["=customer__customer_ref"]
    sortable_by = []  # millions of rows, newest first (by key) only
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    @admin.display(description=_("exposed fields"))
    def exposed_fields(self, obj: Exposure) -> str:
        return ", ".join(sorted(obj.fields))


@admin.register(StepProgress)
class StepProgressAdmin(admin.ModelAdmin):
    list_display = ["customer", "step", "done_at"]
    list_select_related = ["customer", "step"]
    raw_id_fields = ["customer"]
    search_fields = ["=customer__customer_ref"]
    sortable_by = []  # millions of rows, newest first (by key) only
    paginator = EstimatedCountPaginator
    show_full_result_count = False


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["username", "email", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["=username", "=email"]
    # Pages of the list and of the autocomplete in a stable order (an index).
    ordering = ["username"]
    # A login for every customer who signs in: millions of rows.
    sortable_by = ["username"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    filter_horizontal = ["groups", "user_permissions"]
    exclude = ["password"]
    readonly_fields = ["last_login", "date_joined"]
    # Groups and permissions are audited as they change (portal/staff_auth.py).
    role_flags = ("is_superuser", "is_staff", "is_active")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        flags = {name: getattr(obj, name) for name in self.role_flags if name in form.changed_data}
        if flags:
            audit(
                AuditAction.ROLES_CHANGE,
                actor=request.user,
                target=obj,
                target_label=obj.get_username(),
                detail={"change": "flags", **flags},
                request=request,
            )


class ImportJobForm(forms.ModelForm):
    class Meta:
        model = ImportJob
        fields = ["kind", "incident", "file", "skip_invalid"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB: import it with manage.py instead.")
                % {"mb": settings.IMPORT_MAX_UPLOAD_MB}
            )
        if not upload.name.lower().endswith(".csv"):
            raise forms.ValidationError(_("Upload a .csv file."))
        # Storage shortens a long name from the end of its part before the first
        # dot: "customers.from.billing.2026.12.08….csv" had none left to shorten
        # and the upload ended in a 400 (SuspiciousFileOperation). One extension.
        root = upload.name[: -len(".csv")].replace(".", "_")[:60]
        upload.name = f"{root or 'upload'}.csv"
        return upload

    def clean(self):
        data = super().clean()
        incident = data.get("incident")
        if data.get("kind") == ImportJob.Kind.EXPOSURES and not incident:
            self.add_error("incident", _("Exposures belong to an incident: choose one."))
        elif data.get("kind") == ImportJob.Kind.EXPOSURES and incident.closed_at is not None:
            # Retention counts from the closing and may have frozen its figures and
            # deleted its exposures already: new ones would be neither counted nor kept.
            self.add_error(
                "incident", _("This incident is closed: reopen it before importing exposures.")
            )
        return data


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    form = ImportJobForm
    list_display = [
        "created_at",
        "kind",
        "incident",
        "status",
        "inserted",
        "updated",
        "rejected_lines",
        "created_by",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["incident", "created_by"]
    readonly_fields = [
        "status",
        "progress",
        "inserted",
        "updated",
        "rejected_lines",
        "report_link",
        "outcome",
        "message",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]

    class Media:
        js = ["customers/import_progress.js"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["kind", "incident", "file", "skip_invalid"]
        return ["kind", "incident", "file_name", "skip_invalid", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["kind", "incident", "file_name", "skip_invalid", *self.readonly_fields]

    @admin.display(description=_("CSV file"))
    def file_name(self, obj: ImportJob) -> str:
        # Its name only: Django would link the upload (raw personal data) at a
        # media URL, which nothing may serve.
        return obj.file.name.rsplit("/", 1)[-1] if obj.file else "—"

    def has_delete_permission(self, request, obj=None):
        return (
            obj is not None
            and obj.status != ImportJob.Status.RUNNING
            and super().has_delete_permission(request, obj)
        )

    def delete_model(self, request, obj):
        self._delete(request, [obj])

    def delete_queryset(self, request, queryset):
        self._delete(request, queryset)

    def _delete(self, request, jobs) -> None:
        kept = [str(job) for job in jobs if not import_job_delete(job=job)]
        if kept:
            self.message_user(
                request,
                _("Started by a worker in the meantime, so not deleted: %(jobs)s.")
                % {"jobs": ", ".join(kept)},
                messages.WARNING,
            )

    def save_model(self, request, obj, form, change):
        if change:
            return
        job = import_job_create(
            kind=obj.kind,
            file=form.cleaned_data["file"],
            incident=obj.incident,
            skip_invalid=obj.skip_invalid,
            by=request.user,
        )
        obj.pk = job.pk

    @admin.display(description=_("progress"))
    def progress(self, obj: ImportJob) -> str:
        if obj.status == ImportJob.Status.FAILED:
            return "—"  # not "0%": it may have read the whole file, then stopped
        done = import_job_progress(obj)
        total = max(obj.bytes_total, 1)
        running = obj.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
        # Named, for a screen reader: the field's label is not tied to it. While
        # the job runs, the page asks for its progress (import_progress.js).
        poll = reverse("admin:customers_importjob_progress", args=[obj.pk]) if running else ""
        return format_html(
            '<progress max="{}" value="{}" aria-label="{}"{}></progress> '
            "<span data-import-percent>{}%</span>",
            total,
            done,
            _("import progress"),
            format_html(' data-import-progress-url="{}"', poll) if poll else "",
            int(100 * done / total),
        )

    @admin.display(description=_("outcome"))
    def outcome(self, obj: ImportJob) -> str:
        """In the reader's language, from the counts; the details below it are
        the worker's own words (English, for the operator and the logs)."""
        rejected = obj.rejected_lines
        counts = {"added": obj.inserted, "changed": obj.updated, "rejected": rejected}
        if obj.status == ImportJob.Status.QUEUED:
            return _("Waiting for a worker to start it.")
        if obj.status == ImportJob.Status.RUNNING:
            return _("Importing.")
        if obj.status == ImportJob.Status.DONE and not rejected:
            return _("Imported: %(added)s added, %(changed)s changed.") % counts
        if obj.status == ImportJob.Status.DONE:
            return (
                ngettext(
                    "Imported: %(added)s added, %(changed)s changed; "
                    "%(rejected)s line rejected and left out (see the report).",
                    "Imported: %(added)s added, %(changed)s changed; "
                    "%(rejected)s lines rejected and left out (see the report).",
                    rejected,
                )
                % counts
            )
        if rejected:
            return (
                ngettext(
                    "Nothing imported: %(rejected)s line rejected (see the report).",
                    "Nothing imported: %(rejected)s lines rejected (see the report).",
                    rejected,
                )
                % counts
            )
        return _("Nothing imported: the import stopped before its end (see the details).")

    @admin.display(description=_("import report"))
    def report_link(self, obj: ImportJob) -> str:
        if not obj.report:
            return "—"
        url = reverse("admin:customers_importjob_report", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download the report (CSV)"))

    def get_urls(self):
        return [
            path(
                "<int:pk>/report/",
                self.admin_site.admin_view(self.report_view),
                name="customers_importjob_report",
            ),
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="customers_importjob_progress",
            ),
            *super().get_urls(),
        ]

    def progress_view(self, request, pk: int):
        """The job's status and bytes read, for its page to show without
        reloading itself (a reload every few seconds moved a screen reader and
        the keyboard focus back to the top of the page)."""
        job = get_object_or_404(ImportJob, pk=pk)
        if not self.has_view_permission(request, job):
            raise Http404
        return JsonResponse(
            {
                "status": job.status,
                "done": import_job_progress(job),
                "total": job.bytes_total,
            }
        )

    def report_view(self, request, pk: int):
        job = get_object_or_404(ImportJob, pk=pk)
        if not self.has_view_permission(request, job) or not job.report:
            raise Http404
        # Reports go to those who import (incident leads), not to every viewer.
        if not request.user.has_perm("customers.add_importjob"):
            raise PermissionDenied
        try:
            report = job.report.open("rb")
        except FileNotFoundError:
            # Written by a worker whose MEDIA_ROOT this web host does not share,
            # or removed from the disk by hand: a message, not a server error.
            self.message_user(
                request,
                _("The report of this import is not on this server's disk (MEDIA_ROOT)."),
                messages.ERROR,
            )
            return redirect("admin:customers_importjob_change", job.pk)
        audit(
            AuditAction.EXPORT,
            actor=request.user,
            target=job,
            detail={"what": "import report"},
            request=request,
        )
        return FileResponse(report, as_attachment=True, filename=f"import-{job.pk}-report.csv")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by their own flows (support page, claim, imports)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClaimCode)
class ClaimCodeAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "via",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
        "failed_attempts",
        "issued_by",
    ]
    list_filter = ["via"]
    list_select_related = ["customer", "issued_by"]
    search_fields = ["=customer__customer_ref"]
    # A letter's code for every customer without a login: millions of rows, and
    # created_at (the model's order) has no index. The key is as new.
    ordering = ["-pk"]
    sortable_by = []
    exclude = ["code_hash"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False


@admin.register(ContactNote)
class ContactNoteAdmin(ReadOnlyAdmin):
    list_display = ["customer", "kind", "author", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["customer", "author"]
    search_fields = ["=customer__customer_ref"]
    # A note is personal data: read on the customer's page, where opening it is
    # audited, not here, where nothing would record who read it.
    exclude = ["text"]
    # The model's order (created_at) has no index; the key is as new.
    ordering = ["-pk"]
    sortable_by = []
    paginator = EstimatedCountPaginator
    show_full_result_count = False

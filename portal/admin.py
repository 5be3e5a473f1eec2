from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from portal.audit import audit
from portal.csv_export import csv_download, in_created_order
from portal.models import AuditAction, AuditEntry
from portal.paginators import EstimatedCountPaginator

EXPORT_LIMIT = 1_000_000
EXPORT_CHUNK = 2000


# What audit entries are about (portal.audit's targets).
AUDITED_MODELS = (
    "customers.Customer",
    "customers.Incident",
    "customers.ImportJob",
    "customers.User",
    "notices.Campaign",
    "notices.Notice",
)


class TargetTypeFilter(admin.SimpleListFilter):
    """The kinds of target, known in advance: Django's own filter for a plain
    column runs SELECT DISTINCT over the whole log on every page of the list."""

    title = AuditEntry._meta.get_field("target_type").verbose_name
    parameter_name = "target_type__exact"

    def lookups(self, request, model_admin):
        models = [apps.get_model(label) for label in AUDITED_MODELS]
        return [(m._meta.model_name, capfirst(m._meta.verbose_name)) for m in models]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(target_type=value) if value else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only, for auditors and incident leads; the export is itself logged."""

    list_display = [
        "created_at",
        "actor_label",
        "action",
        "target_type",
        "target_label",
        "field",
        "reason",
    ]
    # The date filter's links need no query. The date hierarchy still reads its
    # parameters (?created_at__year=…, as a range on the index) but is not drawn:
    # its links read every entry's date (SELECT DISTINCT), on every page.
    list_filter = ["action", TargetTypeFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=target_label", "=actor_label"]
    search_help_text = _("Exact customer reference or staff email.")
    date_hierarchy = "created_at"
    sortable_by = ["created_at"]  # the only indexed column
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    change_list_template = "admin/portal/auditentry/change_list.html"

    def get_search_results(self, request, queryset, search_term):
        # By key, through the log's indexes (target, actor): an exact match on
        # its label columns, which have none, read the whole log.
        term = search_term.strip()
        if not term:
            return queryset, False
        customers = apps.get_model("customers.Customer").objects.filter(
            customer_ref__in={term, term.upper()}
        )
        ids = [str(pk) for pk in customers.values_list("pk", flat=True)[:10]]
        # Logins' emails are stored lower-cased (customers.models.User).
        staff = apps.get_model(settings.AUTH_USER_MODEL).objects.filter(email=term.lower())
        query = Q(target_type="customer", target_id__in=ids) | Q(actor__in=staff)
        return queryset.filter(query), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="portal_auditentry_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest):
        """The entries the list shows (same filters and search), as CSV."""
        if not request.user.has_perm("portal.export_auditentry"):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # What the list does with such filters, with a word on why nothing came.
            self.message_user(request, _("Those filters are not valid."), messages.ERROR)
            changelist_url = reverse("admin:portal_auditentry_changelist")
            return redirect(f"{changelist_url}?{ERROR_FLAG}=1")
        entries = changelist.get_queryset(request)
        audit(
            AuditAction.EXPORT,
            actor=request.user,
            target_label="audit log",
            detail={"what": "audit log", "filters": dict(request.GET.lists())},
            request=request,
        )
        header = ["when", "who", "action", "about", "about_id", "whose", "field", "why"]
        header += ["detail", "ip"]
        rows = (
            (
                e.created_at.isoformat(),
                e.actor_label,
                e.action,
                e.target_type,
                e.target_id,
                e.target_label,
                e.field,
                e.reason,
                e.detail,
                e.ip or "",
            )
            for e in in_created_order(entries, limit=EXPORT_LIMIT, chunk_size=EXPORT_CHUNK)
        )
        return csv_download("audit-log.csv", header, rows)

    def changelist_view(self, request, extra_context=None):
        extra = {"can_export": request.user.has_perm("portal.export_auditentry")}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

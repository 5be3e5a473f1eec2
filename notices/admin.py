"""The communications staff's workspace: compose, review, approve, send, watch."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.db.models.functions import Upper
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from customers import admin as customers_admin
from customers.masking import mask_contacts_in, mask_email, mask_phone, masked_contacts_only
from customers.models import Customer, DataClass, Incident, Step
from notices import selectors, services
from notices.audience import checked_channels
from notices.markdown import allowed_hosts, step_link_allowed
from notices.models import (
    Campaign,
    CampaignTemplate,
    Delivery,
    DeliveryEvent,
    DirectFirstOverride,
    IncidentTemplate,
    Notice,
    NoticeUpdate,
    OutboxMessage,
    SuspiciousReport,
    TestSend,
)
from notices.previews import preview_message, sample_exposed_codes
from notices.references import format_reference, normalise_reference
from notices.services.reviews import editor_add, wrote_or_edited
from notices.templating import (
    exposed_fields_text,
    sms_counter_values,
    validate_template,
    value_link_errors,
)
from portal.audit import audit
from portal.csv_export import csv_download
from portal.i18n import localized
from portal.models import AuditAction
from portal.paginators import EstimatedCountPaginator

Status = Campaign.Status


class _MessageText(forms.CharField):
    """A browser's CRLF and the newline the field strips from a stored text's end
    are not edits: counted as one, saving a page unchanged made its saver an
    editor (who then may not approve) and the campaign out of date."""

    def has_changed(self, initial, data) -> bool:
        if self.disabled:
            return False
        return not _same(self.to_python(data), initial or "")


class TemplateForm(forms.ModelForm):
    class Meta:
        fields = ["channel", "language", "subject", "body"]
        field_classes = {"subject": _MessageText, "body": _MessageText}
        widgets = {
            "body": forms.Textarea(attrs={"rows": 5, "cols": 80}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The counter sizes the text at its longest, as saving does; a bare
        # marker counted "{first_name}" as written and called that the longest.
        language = self.instance.language if self.instance.pk else None
        self.fields["body"].widget.attrs["data-sms-counter"] = json.dumps(
            sms_counter_values(language)
        )

    def clean(self):
        data = super().clean()
        # Browsers submit CRLF; count and store what is sent: LF.
        for name in ("body", "subject"):
            if data.get(name):
                data[name] = data[name].replace("\r\n", "\n")
        if data.get("body") and data.get("channel"):
            errors = validate_template(
                data["body"],
                channel=data["channel"],
                subject=data.get("subject", ""),
                language=data.get("language"),
            )
            if errors:
                raise ValidationError(errors)
        return data


class CampaignTemplateInline(admin.StackedInline):
    model = CampaignTemplate
    form = TemplateForm
    extra = 0

    def _editable(self, obj) -> bool:
        return obj is None or obj.status == Status.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "incident",
            "name",
            "data_classes",
            "customer_status",
            "channel_order",
            "sms_rate",
            "email_rate",
            "push_rate",
            "parallelism",
        ]
        # The model's help text predates push; said here to spare a migration.
        help_texts = {
            "channel_order": _("Channels in order, separated by commas: sms, email, inapp, push.")
        }

    def clean_incident(self):
        incident = self.cleaned_data["incident"]
        services.incident_check_active(incident)
        return incident

    def clean_channel_order(self) -> str:
        channels = [c.strip() for c in self.cleaned_data["channel_order"].split(",") if c.strip()]
        try:
            checked_channels(channels)
        except ValueError:
            raise ValidationError(
                _("Choose from sms, email, inapp and push, separated by commas.")
            ) from None
        if len(set(channels)) != len(channels):
            raise ValidationError(_("Name each channel once."))
        return ",".join(channels)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = [
        "name",
        "incident",
        "status",
        "channel_order",
        "created_by",
        "approved_by",
        "created_at",
        "review_link",
    ]
    list_filter = ["status", "incident"]
    list_select_related = ["incident", "created_by", "approved_by"]
    search_fields = ["name"]
    filter_horizontal = ["data_classes"]
    inlines = [CampaignTemplateInline]
    edit_fields = [
        "incident",
        "name",
        "data_classes",
        "customer_status",
        "channel_order",
        "sms_rate",
        "email_rate",
        "push_rate",
        "parallelism",
    ]
    state_fields = [
        "status",
        "created_by",
        "approved_by",
        "approved_at",
        "send_started_at",
        "completed_at",
    ]

    class Media:
        js = ["notices/sms_counter.js"]
        css = {"all": ["notices/admin.css"]}

    def get_fields(self, request, obj=None):
        return self.edit_fields + (self.state_fields if obj else [])

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Status.DRAFT:
            return self.edit_fields + self.state_fields
        return self.state_fields

    def has_delete_permission(self, request, obj=None):
        return (obj is None or obj.status == Status.DRAFT) and super().has_delete_permission(
            request, obj
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = obj.edited_by = request.user
            super().save_model(request, obj, form, change)
            editor_add(obj, request.user)
            audit(AuditAction.CAMPAIGN_CREATE, actor=request.user, target=obj, request=request)
            return
        # The admin saves inside one transaction: the row stays locked (against
        # other updates; rows that refer to it can still be added) until the
        # templates are saved too, so an approval lands before the edit (which is
        # then refused) or after it (and is refused as out of date). Only the
        # fields edited are written: a whole-row save would write back a status,
        # an approval or a worker's progress made since this request read it.
        current = Campaign.objects.select_for_update(no_key=True).get(pk=obj.pk)
        request._campaign_editable = current.status == Status.DRAFT
        if not request._campaign_editable:
            if form.has_changed():
                self._refused(request, _("Only a draft campaign can be edited."))
            return
        fields = [
            name
            for name in form.changed_data
            if name in self.edit_fields and not obj._meta.get_field(name).many_to_many
        ]
        if fields:
            obj.save(update_fields=[*fields, "updated_at"])

    def save_related(self, request, form, formsets, change):
        if change and not getattr(request, "_campaign_editable", True):
            if any(fs.has_changed() for fs in formsets):
                self._refused(request, _("Only a draft campaign can be edited."))
            for formset in formsets:
                formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            return
        super().save_related(request, form, formsets, change)
        services.campaign_templates_fill(campaign=form.instance)
        templates_changed = any(fs.has_changed() for fs in formsets)
        if change and (form.has_changed() or templates_changed):
            # Whoever changed it cannot be the one who approves it.
            services.campaign_edited(
                campaign=form.instance,
                by=request.user,
                fields=[*form.changed_data, *(["templates"] if templates_changed else [])],
                request=request,
            )

    def _refused(self, request, error) -> None:
        if not getattr(request, "_campaign_change_refused", False):
            self.message_user(request, error, messages.ERROR)
        request._campaign_change_refused = True

    def log_change(self, request, obj, message):
        # A refused edit changed nothing: the history must not say it did.
        if getattr(request, "_campaign_editable", True):
            return super().log_change(request, obj, message)
        return None

    def response_add(self, request, obj, post_url_continue=None):
        return redirect("admin:notices_campaign_review", obj.pk)

    def response_change(self, request, obj):
        if getattr(request, "_campaign_change_refused", False):
            return HttpResponseRedirect(request.path)
        if "_continue" in request.POST:
            return super().response_change(request, obj)
        return redirect("admin:notices_campaign_review", obj.pk)

    @admin.display(description=_("review"))
    def review_link(self, obj: Campaign) -> str:
        url = reverse("admin:notices_campaign_review", args=[obj.pk])
        label = _("Progress") if obj.status not in (Status.DRAFT, Status.APPROVED) else _("Review")
        return format_html('<a href="{}">{}</a>', url, label)

    # --- custom views ---------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/review/", wrap(self.review_view), name="notices_campaign_review"),
            path(
                "<int:pk>/progress.json", wrap(self.progress_json), name="notices_campaign_progress"
            ),
            path(
                "<int:pk>/unreachable.csv",
                wrap(self.unreachable_csv),
                name="notices_campaign_unreachable",
            ),
            path("<int:pk>/act/<slug:action>/", wrap(self.act_view), name="notices_campaign_act"),
            path(
                "<int:pk>/test-send/", wrap(self.test_send_view), name="notices_campaign_test_send"
            ),
            *super().get_urls(),
        ]

    def _campaign(self, request: HttpRequest, pk: int) -> Campaign:
        campaign = get_object_or_404(Campaign.objects.select_related("incident"), pk=pk)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return campaign

    def review_view(self, request: HttpRequest, pk: int) -> TemplateResponse:
        campaign = self._campaign(request, pk)
        coverage_key = f"campaign-coverage:{campaign.pk}:{campaign.updated_at.timestamp()}"
        coverage = cache.get(coverage_key)
        if coverage is None:
            coverage = selectors.campaign_coverage(campaign)
            cache.set(coverage_key, coverage, 60)
        previews = []
        # One sample customer for every preview: finding one can mean a long scan
        # of a large incident's exposures when the audience is narrow.
        exposed = sample_exposed_codes(campaign)
        for template in campaign.templates.order_by("channel", "language"):
            try:
                previews.append(
                    preview_message(
                        campaign=campaign,
                        channel=template.channel,
                        language=template.language,
                        exposed=exposed,
                    )
                )
            except LookupError:
                continue
        user = request.user
        is_author = wrote_or_edited(campaign, user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Campaign: %s") % campaign.name,
            "campaign": campaign,
            "coverage": coverage,
            # Whom it reaches, not only how many: what the approver approves.
            "audience_classes": exposed_fields_text(
                list(campaign.data_classes.values_list("code", flat=True)),
                translation.get_language() or "en",
            ),
            "coverage_rows": [
                (channel, coverage.by_channel.get(channel, 0)) for channel in campaign.channels
            ],
            "previews": previews,
            "problems": services.campaign_problems(campaign),
            "progress": selectors.campaign_progress(campaign)
            if campaign.status not in (Status.DRAFT, Status.APPROVED)
            else None,
            "can_approve": campaign.status == Status.DRAFT
            and user.has_perm("notices.approve_campaign")
            and campaign.created_by_id is not None
            and not is_author,
            "is_author": is_author,
            "can_send": user.has_perm("notices.send_campaign"),
            "can_export": user.has_perm("notices.export_unreachable"),
            "test_sends": campaign.test_sends.order_by("-created_at")[:10],
            "test_send_form": TestSendForm(initial={"to": user.email}),
        }
        return TemplateResponse(request, "admin/notices/campaign/review.html", context)

    def progress_json(self, request: HttpRequest, pk: int) -> JsonResponse:
        campaign = self._campaign(request, pk)
        progress = selectors.campaign_progress(campaign)
        return JsonResponse(
            {
                "status": campaign.status,
                "total": progress.total,
                "done": progress.done,
                "handed_over": progress.handed_over,
                "percent": progress.percent,
                "counts": progress.counts,
                "by_channel": progress.by_channel,
                "rate": progress.rate,
                "eta_seconds": progress.eta_seconds,
            }
        )

    def unreachable_csv(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        campaign = self._campaign(request, pk)
        if not request.user.has_perm("notices.export_unreachable"):
            raise PermissionDenied
        audit(
            AuditAction.EXPORT,
            actor=request.user,
            target=campaign,
            detail={"what": "customers no channel reaches"},
            request=request,
        )
        header = ["customer_ref", "first_name", "last_name", "is_current", "language"]
        return csv_download(
            f"unreachable-{campaign.pk}.csv", header, selectors.unreachable_customers(campaign)
        )

    @staticmethod
    def _act(action: str, campaign: Campaign, request: HttpRequest):
        user = request.user
        if action == "approve":
            if not user.has_perm("notices.approve_campaign"):
                raise PermissionDenied
            seen = _seen(
                request,
                _(
                    "This request did not say which version of the campaign you reviewed: "
                    "open its review page and approve from there."
                ),
            )
            approved = services.campaign_approve(
                campaign=campaign, by=user, seen=seen, request=request
            )
            return approved, _("Campaign approved.")
        if not user.has_perm("notices.send_campaign"):
            raise PermissionDenied
        actions = {
            "send": (services.campaign_send, _("Sending has started.")),
            "pause": (
                services.campaign_pause,
                _("Paused: messages already being sent will finish first."),
            ),
            "resume": (services.campaign_resume, _("Sending has resumed.")),
            "cancel": (services.campaign_cancel, _("Cancelled: nothing more will be sent.")),
        }
        if action not in actions:
            raise PermissionDenied
        service, message = actions[action]
        return service(campaign=campaign, by=user, request=request), message

    def act_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        campaign = self._campaign(request, pk)
        try:
            _campaign, message = self._act(action, campaign, request)
            self.message_user(request, message, messages.SUCCESS)
        except ValidationError as exc:
            for error in exc.messages:
                self.message_user(request, error, messages.ERROR)
        except PermissionDenied as exc:
            _refused_or_raise(self, request, exc)
        return redirect("admin:notices_campaign_review", campaign.pk)

    def test_send_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        campaign = self._campaign(request, pk)
        if not self.has_change_permission(request, campaign):
            raise PermissionDenied
        form = TestSendForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, error, messages.ERROR)
        elif not campaign.templates.filter(channel=form.cleaned_data["channel"]).exists():
            self.message_user(
                request, _("This campaign has no message for that channel."), messages.ERROR
            )
        else:
            try:
                services.test_send_create(
                    campaign=campaign, by=request.user, request=request, **form.cleaned_data
                )
            except ValidationError as exc:
                for error in exc.messages:
                    self.message_user(request, error, messages.ERROR)
            else:
                self.message_user(request, _("Test message queued."), messages.SUCCESS)
        return redirect("admin:notices_campaign_review", campaign.pk)


def _refused_or_raise(model_admin, request: HttpRequest, exc: PermissionDenied) -> None:
    """A service's refusal says why (four eyes: the lead edited it, maybe in another
    tab): back on the page with the reason, as a ValidationError is. A bare one (no
    permission for this action at all, checked by the view) stays Django's 403."""
    reason = str(exc)
    if not reason:
        raise exc
    model_admin.message_user(request, reason, messages.ERROR)


def _seen(request: HttpRequest, missing: str) -> str:
    """The version of the page the reviewer read, which its approve, publish and
    schedule buttons post: a POST without it (made by hand) is refused, rather than
    acting on whatever is current unread. (The services take None from commands.)"""
    seen = request.POST.get("seen", "").strip()
    if not seen:
        raise ValidationError(missing)
    return seen


class TestSendForm(forms.Form):
    channel = forms.ChoiceField(choices=[("sms", "SMS"), ("email", _("Email"))])
    language = forms.ChoiceField(choices=[("en", _("English")), ("fr", _("French"))])
    to = forms.CharField(
        label=_("Send to (your verified email, or a test phone or address the operators allow)"),
        max_length=254,
    )

    def clean(self):
        data = super().clean()
        from customers.normalise import normalise_email, normalise_phone

        if data.get("channel") == "sms" and data.get("to"):
            data["to"] = normalise_phone(data["to"])
        elif data.get("channel") == "email" and data.get("to"):
            data["to"] = normalise_email(data["to"])
        return data


class IncidentTemplateForm(TemplateForm):
    # TemplateForm leaves the parent to the inline; here it is a field of the form.
    class Meta(TemplateForm.Meta):
        fields = ["incident", *TemplateForm.Meta.fields]


@admin.register(IncidentTemplate)
class IncidentTemplateAdmin(admin.ModelAdmin):
    form = IncidentTemplateForm
    list_display = ["incident", "channel", "language", "subject"]
    list_filter = ["incident", "channel", "language"]

    class Media:
        js = ["notices/sms_counter.js"]
        css = {"all": ["notices/admin.css"]}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or form.has_changed():
            # Campaigns copy this text: its writers do not approve them.
            editor_add(obj, request.user)
        customers_admin.audit_content_save(
            request,
            obj,
            form,
            change,
            AuditAction.INCIDENT_TEMPLATE_ADD,
            AuditAction.INCIDENT_TEMPLATE_EDIT,
        )


class DeliveryEventInline(admin.TabularInline):
    model = DeliveryEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "source", "status", "provider_status", "masked_detail"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("detail"))
    def masked_detail(self, obj: DeliveryEvent) -> str:
        # A provider's error can quote the number or address it refused.
        return mask_contacts_in(obj.detail)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["reference", "campaign", "customer", "channel", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "in_doubt"]
    list_select_related = ["campaign", "customer"]
    search_fields = ["=reference", "=provider_id", "=customer__customer_ref"]  # see below
    search_help_text = _("A message reference, a provider's message id or a customer reference.")
    sortable_by = []  # millions of rows, newest first (by key) only
    raw_id_fields = ["campaign", "customer"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    inlines = [DeliveryEventInline]
    # The address and the text and subject (either may hold the customer's name)
    # stay out of the admin; the address and a provider's error (which can quote
    # the address) are shown masked, as on the support page.
    exclude = ["to", "body", "subject", "last_error"]
    readonly_fields = [
        *(
            f.name
            for f in Delivery._meta.fields
            if f.name not in ("to", "body", "subject", "last_error")
        ),
        "masked_to",
        "masked_error",
    ]

    def get_search_results(self, request, queryset, search_term):
        # A reference as the message prints it (K7QM-3TXP-9HWC, any case) is
        # stored bare: an exact match on the text typed found nothing.
        term = search_term.strip()
        if not term:
            return queryset, False
        query = Q(provider_id=term) | Q(customer__in=Customer.objects.filter(customer_ref=term))
        reference = normalise_reference(term)
        if reference:
            query |= Q(reference=reference)
        return queryset.filter(query), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("last error"))
    def masked_error(self, obj: Delivery) -> str:
        return mask_contacts_in(obj.last_error)

    @admin.display(description=_("to"))
    def masked_to(self, obj: Delivery) -> str:
        if obj.channel == "sms":
            return mask_phone(obj.to)
        if obj.channel == "email":
            return mask_email(obj.to)
        return ""


@admin.register(TestSend)
class TestSendAdmin(admin.ModelAdmin):
    list_display = ["created_at", "campaign", "channel", "to", "status", "requested_by"]
    list_filter = ["status", "channel"]
    list_select_related = ["campaign", "requested_by"]
    readonly_fields = [f.name for f in TestSend._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "to", "subject", "reference"]
    list_filter = ["channel"]
    search_fields = ["=reference"]


# --- notices ------------------------------------------------------------------------


class NoticeUpdateInline(admin.StackedInline):
    model = NoticeUpdate
    extra = 0
    fields = ["created_at", "body", "body_fr", "notify_affected", "campaign"]
    readonly_fields = ["created_at", "campaign"]
    can_delete = False

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is not None and obj.status == Notice.Status.PUBLISHED else 0

    def has_add_permission(self, request, obj=None):
        # Updates are how a published notice changes; before that, edit the notice.
        # An update is published at once, so it takes the publish permission.
        return (
            obj is not None
            and obj.status == Notice.Status.PUBLISHED
            and request.user.has_perm("notices.publish_notice")
            and super().has_add_permission(request, obj)
        )

    def has_change_permission(self, request, obj=None):
        return False


class NoticeForm(forms.ModelForm):
    class Meta:
        model = Notice
        fields = list(services.NOTICE_CONTENT_FIELDS)  # the workflow's fields are not the form's
        widgets = {
            "body": forms.Textarea(attrs={"rows": 20}),
            "body_fr": forms.Textarea(attrs={"rows": 20}),
        }

    # A breach notice missing a required section, or with one left empty, is
    # saved all the same (a draft is written in several sittings): its page
    # lists what stops publication, and publishing refuses it.


def _direct_first_shown(incident: Incident):
    """Direct first as the notice's page shows it, counted at most every 30 s
    like the incident's timeline: the count reads every exposure of the incident.
    Publishing counts afresh."""
    key = f"direct-first:{incident.pk}"
    status = cache.get(key)
    if status is None:
        status = selectors.direct_first_status(incident)
        cache.set(key, status, 30)
    return status


def _same(submitted, stored) -> bool:
    """A browser's CRLF and a textarea's trailing newline are not edits."""
    if isinstance(submitted, str) and isinstance(stored, str):
        return submitted.replace("\r\n", "\n").strip() == stored.replace("\r\n", "\n").strip()
    return submitted == stored


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    form = NoticeForm
    list_display = [
        "title",
        "incident",
        "audience",
        "kind",
        "status",
        "published_at",
        "publish_at",
        "held_because",
    ]
    list_filter = ["status", "audience", "kind", "incident"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [NoticeUpdateInline]
    change_form_template = "admin/notices/notice/change_form.html"
    content_fields = list(services.NOTICE_CONTENT_FIELDS)

    def view_on_site(self, obj: Notice) -> str | None:
        # Only a published notice has a page: any other's is a 404.
        return obj.get_absolute_url() if obj.status == Notice.Status.PUBLISHED else None

    def get_readonly_fields(self, request, obj=None):
        state = ["status", "publish_at", "published_at", "published_by", "held_because"]
        if obj is not None and obj.status == Notice.Status.PUBLISHED:
            # Never a silent edit: corrections are dated updates below.
            return self.content_fields + state
        return state

    def has_delete_permission(self, request, obj=None):
        # A published notice is what customers and "Is this message from us?"
        # rely on; a scheduled one is about to be. Only a draft goes. Checked per
        # notice by "delete selected" too (get_deleted_objects), which is then refused.
        return (obj is None or obj.status == Notice.Status.DRAFT) and super().has_delete_permission(
            request, obj
        )

    def delete_model(self, request, obj):
        # Published or scheduled since the page was checked: kept.
        Notice.objects.filter(pk=obj.pk, status=Notice.Status.DRAFT).delete()

    def delete_queryset(self, request, queryset):
        queryset.filter(status=Notice.Status.DRAFT).delete()

    def get_prepopulated_fields(self, request, obj=None):
        return (
            {}
            if obj is not None and obj.status == Notice.Status.PUBLISHED
            else self.prepopulated_fields
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = obj.edited_by = request.user
            super().save_model(request, obj, form, change)
            editor_add(obj, request.user)
            customers_admin.audit_content_save(
                request, obj, form, change, AuditAction.NOTICE_CREATE, AuditAction.NOTICE_EDIT
            )
            return
        # Only what really differs from the stored notice.
        stored = Notice.objects.get(pk=obj.pk)
        changes = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in services.NOTICE_CONTENT_FIELDS
            and not _same(form.cleaned_data[name], getattr(stored, name))
        }
        if not changes:
            return
        was_scheduled = stored.status == Notice.Status.SCHEDULED
        try:
            edited = services.notice_edit(
                notice=obj, changes=changes, by=request.user, request=request
            )
        except ValidationError as exc:
            self._refused(request, exc.messages)
            return
        if was_scheduled and edited.status == Notice.Status.DRAFT:
            self.message_user(
                request,
                _(
                    "The notice was scheduled; after your edit it is a draft again, and "
                    "another staff member must publish or schedule it."
                ),
                messages.WARNING,
            )

    def save_formset(self, request, form, formset, change):
        if formset.model is not NoticeUpdate:
            return super().save_formset(request, form, formset, change)
        # Updates go through the service (it may also draft a campaign).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for update_form in formset.forms:
            data = update_form.cleaned_data
            if not data or update_form.instance.pk or not (data.get("body") or "").strip():
                continue
            try:
                services.notice_update_add(
                    notice=form.instance,
                    body=data["body"],
                    body_fr=data.get("body_fr", ""),
                    notify_affected=data.get("notify_affected", False),
                    by=request.user,
                    request=request,
                )
            except ValidationError as exc:
                self._refused(request, exc.messages)
            except PermissionDenied as exc:
                self._refused(request, [str(exc)])
        return None

    def _refused(self, request, errors) -> None:
        for error in errors:
            self.message_user(request, error, messages.ERROR)
        request._notice_change_refused = True

    def response_change(self, request, obj):
        # A refused edit is not "changed successfully": back to the page, with the reason.
        if getattr(request, "_notice_change_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        notice = self.get_object(request, object_id)
        extra = {}
        if notice is not None:
            extra["problems"] = services.notice_problems(notice)
            extra["can_publish"] = request.user.has_perm("notices.publish_notice")
            extra["wrote_it"] = wrote_or_edited(notice, request.user)
            if notice.audience == Notice.Audience.PUBLIC:
                extra["direct_first"] = _direct_first_shown(notice.incident)
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/publish/", wrap(self.publish_view), name="notices_notice_publish"),
            *super().get_urls(),
        ]

    def publish_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponse(status=405)
        notice = get_object_or_404(Notice.objects.select_related("incident"), pk=pk)
        if not request.user.has_perm("notices.publish_notice"):
            raise PermissionDenied
        when = request.POST.get("publish_at", "").strip()
        try:
            # The version of the notice the page showed: only that is published.
            seen = _seen(
                request,
                _(
                    "This request did not say which version of the notice you read: "
                    "open the notice and publish or schedule it from there."
                ),
            )
            if when:
                at = forms.DateTimeField().clean(when)
                services.notice_schedule(
                    notice=notice, at=at, by=request.user, seen=seen, request=request
                )
                self.message_user(request, _("Scheduled."), messages.SUCCESS)
            else:
                services.notice_publish(notice=notice, by=request.user, seen=seen, request=request)
                self.message_user(request, _("Published."), messages.SUCCESS)
        except ValidationError as exc:
            for error in exc.messages:
                self.message_user(request, error, messages.ERROR)
        except PermissionDenied as exc:
            _refused_or_raise(self, request, exc)
        return redirect("admin:notices_notice_change", notice.pk)


@admin.register(SuspiciousReport)
class SuspiciousReportAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "sender", "reference", "reviewed"]
    list_filter = ["reviewed", "channel"]
    search_fields = ["=reference", "sender"]  # see get_search_results
    search_help_text = _(
        "A whole sender (a number in any format, an address or a name) or a reference."
    )
    readonly_fields = ["channel", "sender", "reference", "message", "contact", "created_at"]
    # A public form fills it: no count of the whole table on every page.
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    actions = ["mark_reviewed"]

    def has_add_permission(self, request):
        return False

    def get_search_results(self, request, queryset, search_term):
        # The sender whole, in its normal form, on an index: a substring search
        # read every report (a public form fills the table).
        term = search_term.strip()
        if not term:
            return queryset, False
        # The reference as the reporter typed it, in any case, with or without dashes.
        references = {term.upper()}
        bare = normalise_reference(term)
        if bare:
            references |= {bare, format_reference(bare)}
        query = Q(reference_upper__in=references)
        key = services.report_sender_key(term)
        if key:
            query |= Q(sender_key=key)
        return queryset.alias(reference_upper=Upper("reference")).filter(query), False

    def _replies(self, request) -> bool:
        # Support answers the reporter; the roles that only read see the contact masked.
        return request.user.has_perm("notices.change_suspiciousreport")

    def get_fields(self, request, obj=None):
        fields = ["channel", "sender", "reference", "message", "contact", "created_at"]
        if not self._replies(request):
            fields[fields.index("contact")] = "masked_contact"
        return [*fields, "reviewed"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "masked_contact"]

    def save_model(self, request, obj, form, change):
        # Only "reviewed" is editable here: through the service, so it is audited.
        if "reviewed" in form.changed_data:
            services.suspicious_reports_review(
                reports=SuspiciousReport.objects.filter(pk=obj.pk),
                by=request.user,
                reviewed=obj.reviewed,
                request=request,
            )

    @admin.display(description=_("how we can reach you (optional)"))
    def masked_contact(self, obj: SuspiciousReport) -> str:
        return masked_contacts_only(obj.contact) if obj.contact else "—"

    @admin.action(description=_("Mark as reviewed"), permissions=["change"])
    def mark_reviewed(self, request, queryset):
        count = services.suspicious_reports_review(
            reports=queryset, by=request.user, request=request
        )
        self.message_user(
            request,
            ngettext(
                "%(count)s report marked as reviewed.",
                "%(count)s reports marked as reviewed.",
                count,
            )
            % {"count": count},
        )


@admin.register(DirectFirstOverride)
class DirectFirstOverrideAdmin(admin.ModelAdmin):
    list_display = ["incident", "by", "created_at"]
    readonly_fields = ["incident", "reason", "by", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- what messages include: data class labels and incident titles --------------------


class _MessageValuesForm(forms.ModelForm):
    """Text that messages include ({exposed_fields}, {incident_title}) holds no
    link a template could not hold: it goes out as it is at send time, approved
    campaigns included."""

    message_values: tuple[str, ...] = ()

    def clean(self):
        data = super().clean()
        for name in self.message_values:
            for error in value_link_errors(data.get(name) or ""):
                self.add_error(name, error)
        return data


class DataClassForm(_MessageValuesForm):
    message_values = ("label", "label_fr")


admin.site.unregister(DataClass)


@admin.register(DataClass)
class DataClassAdmin(customers_admin.DataClassAdmin):
    form = DataClassForm


class IncidentForm(_MessageValuesForm):
    message_values = ("title", "title_fr")


# --- recommended steps: their link, on every affected customer's dashboard -----------


class StepForm(forms.ModelForm):
    def clean_link_url(self):
        url = self.cleaned_data.get("link_url") or ""
        if url and not step_link_allowed(url):
            hosts = ", ".join(sorted(allowed_hosts()))
            raise ValidationError(
                _(
                    "A step may only link to a page of the portal, to %(hosts)s over https, "
                    "or to an email address or phone number (mailto:, tel:)."
                )
                % {"hosts": hosts}
            )
        return url


admin.site.unregister(Step)


@admin.register(Step)
class StepAdmin(customers_admin.StepAdmin):
    form = StepForm


# --- incidents: the customers app's admin, with the timeline and direct first -------

admin.site.unregister(Incident)


@admin.register(Incident)
class IncidentAdmin(customers_admin.IncidentAdmin):
    form = IncidentForm
    change_form_template = "admin/notices/incident/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        incident = self.get_object(request, object_id)
        extra = {}
        if incident is not None:
            key = f"incident-timeline:{incident.pk}"
            timeline = cache.get(key)
            if timeline is None:
                timeline = selectors.incident_timeline(incident)
                cache.set(key, timeline, 30)
            labels = {c.code: localized(c, "label") for c in DataClass.objects.all()}
            extra = {
                "timeline": timeline,
                "exposed_rows": sorted(
                    ((labels.get(code, code), n) for code, n in timeline.by_data_class.items()),
                    key=lambda row: (-row[1], row[0]),
                ),
                "overrides": incident.direct_first_overrides.select_related("by"),
                "can_override": request.user.has_perm("notices.override_direct_first"),
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def get_urls(self):
        return [
            path(
                "<int:pk>/override-direct-first/",
                self.admin_site.admin_view(self.override_view),
                name="customers_incident_override",
            ),
            *super().get_urls(),
        ]

    def override_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponse(status=405)
        incident = get_object_or_404(Incident, pk=pk)
        try:
            services.direct_first_override(
                incident=incident,
                reason=request.POST.get("reason", ""),
                by=request.user,
                request=request,
            )
            cache.delete_many([f"incident-timeline:{incident.pk}", f"direct-first:{incident.pk}"])
            self.message_user(request, _("Override recorded."), messages.SUCCESS)
        except ValidationError as exc:
            for error in exc.messages:
                self.message_user(request, error, messages.ERROR)
        return redirect("admin:customers_incident_change", incident.pk)


# The support page replaces the customer change form (it shows messages too).
from notices import support_admin  # noqa: E402, F401

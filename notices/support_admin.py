"""The support agent's customer page: one screen for one customer.

Status, exposures, messages and their delivery states, claim codes, notes and
recent sign-ins, with the actions support needs. Personal data is masked; a
reveal asks for a reason. Opening the page and every action are on the audit
log. It lives in ``notices`` because it shows messages (customers cannot
depend on notices); it replaces the customers app's change form.
"""

from __future__ import annotations

from allauth.usersessions.models import UserSession
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers import admin as customers_admin
from customers.masking import mask_contacts_in, mask_email, mask_phone
from customers.models import ClaimCode, ContactNote, Customer
from customers.selectors import dashboard_for_customer
from notices.models import Delivery
from notices.references import format_reference
from notices.services import support
from portal.models import AuditEntry


class RevealForm(forms.Form):
    field = forms.ChoiceField(
        label=_("Show"),
        choices=[("name", _("Name")), ("email", _("Email")), ("phone", _("Phone"))],
    )
    reason = forms.CharField(label=_("Why"), max_length=500)


class ContactForm(forms.Form):
    field = forms.ChoiceField(
        label=_("Detail"), choices=[("email", _("Email")), ("phone", _("Phone"))]
    )
    value = forms.CharField(label=_("Correct value"), max_length=254, required=False)
    reason = forms.CharField(label=_("Why"), max_length=500)


class NoteForm(forms.Form):
    kind = forms.ChoiceField(label=_("Contact by"), choices=ContactNote.Kind.choices)
    text = forms.CharField(
        label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ResendForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=[])

    def __init__(self, *args, channels: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(c, c) for c in channels]


def mask_ip(ip: str | None) -> str:
    """203.0.113.45 → 203.0.113.•; IPv6 keeps its first three groups."""
    if not ip:
        return "—"
    if ":" in ip:
        return ":".join(ip.split(":")[:3]) + ":•"
    return ".".join(ip.split(".")[:3]) + ".•"


def _masked_to(delivery: Delivery) -> str:
    if delivery.channel == "sms":
        return mask_phone(delivery.to)
    if delivery.channel == "email":
        return mask_email(delivery.to)
    return ""


admin.site.unregister(Customer)


@admin.register(Customer)
class CustomerSupportAdmin(customers_admin.CustomerAdmin):
    """Customers come from imports; support changes them only through recorded actions."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/support/<slug:action>/",
                view(self.action_view),
                name="customers_customer_support_action",
            ),
            *super().get_urls(),
        ]

    # --- the page -------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self._customer(request, object_id)
        support.customer_viewed(customer=customer, by=request.user, request=request)
        return self._render(request, customer)

    def _customer(self, request: HttpRequest, pk) -> Customer:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            return Customer.objects.select_related("user").get(pk=pk)
        except (Customer.DoesNotExist, ValueError):
            raise Http404 from None

    def _render(self, request: HttpRequest, customer: Customer, **extra) -> HttpResponse:
        user = request.user
        latest = support.latest_alert(customer)
        channels = support.resend_channels(customer, latest)
        # What the customer sees on their dashboard: per incident, the exposed
        # fields (masked) and the steps, ticked or not.
        statuses = [s for s in dashboard_for_customer(customer) if s.exposure is not None]
        steps = [item for s in statuses for card in s.cards for item in card.steps]
        deliveries = list(
            Delivery.objects.filter(customer=customer)
            .select_related("campaign")
            .order_by("-created_at", "-pk")[:50]
        )
        for delivery in deliveries:
            delivery.masked_to = _masked_to(delivery)
            delivery.masked_error = mask_contacts_in(delivery.last_error)
            delivery.formatted_reference = (
                format_reference(delivery.reference) if delivery.reference else ""
            )
        now = timezone.now()
        claim_codes = list(
            ClaimCode.objects.filter(customer=customer).select_related("issued_by")[:10]
        )
        for code in claim_codes:
            code.current_state = code.state(now)
        sessions = (
            list(UserSession.objects.filter(user_id=customer.user_id).order_by("-created_at")[:10])
            if customer.user_id
            else []
        )
        for session in sessions:
            session.masked_ip = mask_ip(session.ip)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(customer),
            "customer": customer,
            "masked": support.masked_values(customer),
            "statuses": statuses,
            "steps_done": sum(item.done for item in steps),
            "steps_total": len(steps),
            "deliveries": deliveries,
            "latest": latest,
            "claim_codes": claim_codes,
            "notes": ContactNote.objects.filter(customer=customer).select_related("author")[:20],
            "sessions": sessions,
            "audit": (
                AuditEntry.objects.filter(target_type="customer", target_id=str(customer.pk))[:20]
                if user.has_perm("portal.view_auditentry")
                else None
            ),
            "can_reveal": user.has_perm("customers.reveal_customer_data"),
            "can_correct": user.has_perm("customers.change_customer_contact"),
            "can_note": user.has_perm("customers.add_contactnote"),
            "can_claim": user.has_perm("customers.add_claimcode"),
            "can_resend": user.has_perm("notices.resend_delivery") and bool(channels),
            "reveal_form": RevealForm(auto_id="reveal_%s"),
            "contact_form": ContactForm(auto_id="contact_%s"),
            "note_form": NoteForm(auto_id="note_%s"),
            "resend_form": ResendForm(channels=channels, auto_id="resend_%s"),
            **extra,
        }
        response = TemplateResponse(request, "admin/customers/customer/support.html", context)
        # Revealed values and claim codes must not linger in any cache.
        response["Cache-Control"] = "no-store"
        return response

    # --- the actions ------------------------------------------------------------

    def action_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        customer = self._customer(request, pk)
        handler = {
            "reveal": self._reveal,
            "contact": self._contact,
            "note": self._note,
            "claim-code": self._claim_code,
            "resend": self._resend,
        }.get(action)
        if handler is None:
            raise Http404
        try:
            response = handler(request, customer)
        except ValidationError as exc:
            for error in exc.messages:
                self.message_user(request, error, messages.ERROR)
            response = None
        return response or redirect("admin:customers_customer_change", customer.pk)

    @staticmethod
    def _form_errors(form: forms.Form) -> ValidationError:
        return ValidationError(
            [f"{form[name].label}: {e}" for name, errs in form.errors.items() for e in errs]
        )

    def _reveal(self, request, customer):
        form = RevealForm(request.POST)
        if not form.is_valid():
            raise self._form_errors(form)
        value = support.customer_reveal(
            customer=customer, by=request.user, request=request, **form.cleaned_data
        )
        return self._render(
            request, customer, revealed={"field": form.cleaned_data["field"], "value": value}
        )

    def _contact(self, request, customer):
        form = ContactForm(request.POST)
        if not form.is_valid():
            raise self._form_errors(form)
        support.customer_contact_correct(
            customer=customer, by=request.user, request=request, **form.cleaned_data
        )
        self.message_user(
            request,
            _("Contact detail corrected. The customer's sign-in email is unchanged."),
            messages.SUCCESS,
        )

    def _note(self, request, customer):
        form = NoteForm(request.POST)
        if not form.is_valid():
            raise self._form_errors(form)
        support.contact_note_add(
            customer=customer, by=request.user, request=request, **form.cleaned_data
        )
        self.message_user(request, _("Note added."), messages.SUCCESS)

    def _claim_code(self, request, customer):
        by_sms = request.POST.get("send") == "sms"
        code = support.claim_code_give(
            customer=customer, send_by_sms=by_sms, by=request.user, request=request
        )
        if by_sms:
            self.message_user(
                request, _("A claim code is on its way to the phone on record."), messages.SUCCESS
            )
            return None
        return self._render(request, customer, new_claim_code=code)

    def _resend(self, request, customer):
        latest = support.latest_alert(customer)
        form = ResendForm(request.POST, channels=support.resend_channels(customer, latest))
        if not form.is_valid():
            raise self._form_errors(form)
        support.alert_resend(
            customer=customer,
            channel=form.cleaned_data["channel"],
            by=request.user,
            request=request,
        )
        self.message_user(request, _("The latest alert is being sent again."), messages.SUCCESS)

"""The customer's Preferences page: how and in which language we contact them,
and their email and phone, each changed only once a code sent there comes back.

It lives in ``notices`` because confirming a contact sends a message.
"""

from __future__ import annotations

from allauth.core.exceptions import ReauthenticationRequired
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from customers.models import Channel, Customer
from customers.selectors import customer_for_user
from customers.services import customer_preferences_update
from notices import services
from notices.forms import ContactChangeForm, ContactConfirmForm, PreferencesForm
from notices.models import ContactVerification, Device
from portal.i18n import set_language_cookie
from portal.reauthentication import recently_authenticated

PENDING_KEY = "notices.contact_pending"  # kind → verification public id


def channel_choices(customer: Customer) -> list[tuple[str, str]]:
    """The channels this customer can be reached on."""
    has_device = customer.user_id is not None and (
        Device.objects.filter(user_id=customer.user_id, active=True).exists()
    )
    available = {
        Channel.SMS: bool(customer.phone),
        Channel.EMAIL: bool(customer.email),
        Channel.INAPP: customer.user_id is not None,
        Channel.PUSH: has_device,
    }
    return [(value, label) for value, label in Channel.choices if available[value]]


def _contact_limited(request: HttpRequest) -> bool:
    return is_ratelimited(
        request,
        group="contact:user",
        key=lambda _g, r: str(r.user.pk),
        rate=settings.CONTACT_RATE_PER_USER,
        increment=True,
    )


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    customer = customer_for_user(request.user)
    if customer is None:
        # The menu offers this page to every login: the same answer as My status.
        return render(request, "customers/no_record.html")
    pending = request.session.get(PENDING_KEY, {})
    choices = channel_choices(customer)
    prefs_form = PreferencesForm(
        channels=choices,
        initial={
            # A channel they can no longer be reached on (a number since removed)
            # would leave no choice ticked: "No preference" is what applies.
            "preferred_channel": customer.preferred_channel
            if customer.preferred_channel in dict(choices)
            else "",
            "preferred_language": customer.preferred_language,
        },
    )
    change_forms = {kind: ContactChangeForm(kind=kind) for kind in ("email", "phone")}
    confirm_forms = {kind: ContactConfirmForm(prefix=f"{kind}-confirm") for kind in pending}
    status = 200
    action = request.POST.get("action")

    if action == "preferences":
        prefs_form = PreferencesForm(request.POST, channels=choices)
        if prefs_form.is_valid():
            language = prefs_form.cleaned_data["preferred_language"]
            customer_preferences_update(
                customer=customer,
                preferred_channel=prefs_form.cleaned_data["preferred_channel"],
                preferred_language=language,
            )
            translation.activate(language)
            messages.success(request, _("Your preferences are saved."))
            response = redirect("notices:preferences")
            set_language_cookie(response, language)
            return response
        status = 400

    elif action == "contact_start":
        kind = request.POST.get("kind")
        if kind not in ("email", "phone"):
            raise Http404
        if not recently_authenticated(user=request.user, session=request.session):
            # A stolen session must not move the login to its holder's inbox or
            # phone. allauth's middleware keeps this request, asks for a password
            # or a code to the login's address, then sends it on.
            messages.info(request, _("To change your email or phone, confirm it is you first."))
            raise ReauthenticationRequired
        form = ContactChangeForm(request.POST, kind=kind)
        change_forms[kind] = form
        if _contact_limited(request):
            form.add_error(None, _("You have asked for several codes. Try again in an hour."))
            status = 429
        elif form.is_valid():
            try:
                verification = services.contact_change_start(
                    customer=customer, kind=kind, value=form.cleaned_data["value"]
                )
            except ValidationError as exc:
                form.add_error("value", exc)
                status = 400
            else:
                pending[kind] = str(verification.public_id)
                request.session[PENDING_KEY] = pending
                messages.success(request, _("We sent a code. Enter it below to confirm."))
                return redirect(f"{request.path}#confirm-{kind}")
        else:
            status = 400

    elif action == "contact_confirm":
        kind = request.POST.get("kind")
        if kind not in pending:
            return redirect("notices:preferences")
        form = ContactConfirmForm(request.POST, prefix=f"{kind}-confirm")
        confirm_forms[kind] = form
        if form.is_valid():
            try:
                services.contact_change_confirm(
                    customer=customer, verification_id=pending[kind], code=form.cleaned_data["code"]
                )
            except ValidationError as exc:
                form.add_error("code", exc)
                status = 400
            else:
                del pending[kind]
                request.session[PENDING_KEY] = pending
                messages.success(request, _("Confirmed: we will use it from now on."))
                return redirect("notices:preferences")
        else:
            status = 400

    elif action == "contact_cancel":
        pending.pop(request.POST.get("kind"), None)
        request.session[PENDING_KEY] = pending
        return redirect("notices:preferences")

    # A code that has expired is asked for again, not typed in: its form goes,
    # unless this very post tried it (its error is shown there).
    now = timezone.now()
    waiting = {
        v.kind: v
        for v in ContactVerification.objects.filter(
            public_id__in=list(pending.values()), customer=customer, confirmed_at__isnull=True
        )
        if v.expires_at > now or confirm_forms[v.kind].is_bound
    }
    return render(
        request,
        "notices/preferences.html",
        {
            "customer": customer,
            "prefs_form": prefs_form,
            "change_forms": change_forms,
            "confirm_forms": confirm_forms,
            "waiting": waiting,
            "page_has_errors": status != 200,  # its forms have names of their own
        },
        status=status,
    )

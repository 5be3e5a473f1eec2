from __future__ import annotations

import re
from dataclasses import asdict

from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.login import record_authentication
from allauth.account.utils import perform_login
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from customers import claims, selectors, services
from customers.dashboard_page import content_stamp, dashboard_response
from customers.forms import ClaimConfirmForm, ClaimForm
from customers.models import Language
from portal.i18n import mark_language_chosen
from portal.public_pages import cached_for_visitors

# An incident slug (a SlugField): the only text a step's anchor takes from the post.
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")


@cached_for_visitors
def home(request: HttpRequest) -> HttpResponse:
    """What happened, the way in, the latest notices, and how we contact people."""
    incidents = list(selectors.active_incidents()[:3])
    return render(
        request,
        "customers/home.html",
        {
            "incidents": incidents,
            "public_page": not request.user.is_authenticated,
            # A signed-in customer's latest notices include those for customers.
            "customer": selectors.customer_for_user(request.user),
        },
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    stamp = content_stamp()  # before the statuses are built from the shared copies
    found = selectors.dashboard_for_user(request.user)
    if found is None:
        return render(request, "customers/no_record.html", status=200)
    return dashboard_response(request, stamp, *found)


@login_required
@require_POST
def step_toggle(request: HttpRequest, code: str) -> HttpResponse:
    customer = selectors.customer_for_user(request.user)
    step = selectors.step_for_customer(customer, code) if customer else None
    if step is None:
        raise Http404
    services.step_progress_set(customer=customer, step=step, done=request.POST.get("done") == "1")
    # Back to the step where it was ticked (a step can show under two incidents).
    incident = request.POST.get("incident", "")
    anchor = f"#step-{incident}-{step.code}" if SLUG.fullmatch(incident) else ""
    return redirect(f"{reverse('customers:dashboard')}{anchor}")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, remembered on the customer's record too."""
    response = django_set_language(request)
    language = request.POST.get("language")
    customer = selectors.customer_for_user(request.user)
    if customer is not None and language in Language.values:
        services.customer_language_set(customer=customer, language=language)
    elif customer is None:
        mark_language_chosen(response)  # kept when they sign in here
    return response


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """Sign-in email, password, two-step verification and signed-in devices."""
    from allauth.mfa.utils import is_mfa_enabled
    from allauth.usersessions.models import UserSession

    sessions = sorted(
        UserSession.objects.purge_and_list(request.user),
        key=lambda s: s.created_at,
        reverse=True,
    )
    return render(
        request,
        "customers/account.html",
        {
            "customer": selectors.customer_for_user(request.user),
            "has_password": request.user.has_usable_password(),
            "mfa_enabled": is_mfa_enabled(request.user),
            "sessions": [(s, s.is_current()) for s in sessions],
        },
    )


@login_required
@require_POST
def end_other_sessions(request: HttpRequest) -> HttpResponse:
    from allauth.usersessions.forms import ManageUserSessionsForm

    ManageUserSessionsForm(request=request).save(request)
    messages.success(request, _("You are signed out everywhere else."))
    return redirect("customers:account")


# --- account claim ----------------------------------------------------------------

CLAIM_SESSION_KEY = "customers.claim"


@never_cache  # it shows back what was typed: a reference and a date of birth
def claim_start(request: HttpRequest) -> HttpResponse:
    """Customer reference, date of birth and claim code, then a new email."""
    form = ClaimForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            claim = claims.claim_check(
                request=request,
                customer_ref=data["customer_ref"],
                birth_date=data["birth_date"],
                code=data["claim_code"],
            )
        except claims.ClaimLimited:
            form.add_error(
                None, _("Too many tries. Wait an hour and try again, or call us for help.")
            )
            return render(request, "customers/claim.html", {"form": form}, status=429)
        if claim is None:
            form.add_error(None, claims.failure_message())
        elif not claims.email_available_for(claim.customer, data["email"]):
            form.add_error(
                "email", _("That email address is already used by another login: choose another.")
            )
        else:
            pending, code = claims.PendingClaim.start(claim, data["email"])
            request.session[CLAIM_SESSION_KEY] = asdict(pending)
            get_adapter(request).send_mail(
                "account/email/claim_code", data["email"], {"code": code}
            )
            return redirect("customers:claim_confirm")
    # Sent back with its errors: a 400 (every failure of the checks answers alike).
    status = 400 if form.is_bound else 200
    return render(request, "customers/claim.html", {"form": form}, status=status)


@never_cache  # the email address being claimed
def claim_confirm(request: HttpRequest) -> HttpResponse:
    """The code we emailed: it proves the email, then the login is made."""
    stored = request.session.get(CLAIM_SESSION_KEY)
    if not stored:
        return redirect("customers:claim")
    pending = claims.PendingClaim(**stored)
    form = ClaimConfirmForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        if pending.matches(form.cleaned_data["code"]):
            del request.session[CLAIM_SESSION_KEY]
            try:
                user = claims.claim_complete(claim_id=pending.claim_id, email=pending.email)
            except ValidationError as exc:
                messages.error(request, exc.messages[0])
                return redirect("customers:claim")
            response = perform_login(
                request,
                user,
                email_verification="none",
                redirect_url=reverse("customers:dashboard"),
                email=pending.email,
            )
            # A code to the email, proven just now: a recent authentication, as a
            # sign-in by code is (portal.reauthentication), so that setting a
            # first password or changing a contact next does not ask again.
            record_authentication(request, user, method="code", email=pending.email)
            return response
        pending.tries += 1
        if pending.tries >= claims.EMAIL_CODE_TRIES:
            del request.session[CLAIM_SESSION_KEY]
            messages.error(request, _("That code was wrong too many times. Start again."))
            return redirect("customers:claim")
        request.session[CLAIM_SESSION_KEY] = asdict(pending)
        form.add_error("code", _("That code is not right or has expired."))
    return render(
        request,
        "customers/claim_confirm.html",
        {"form": form, "email": pending.email},
        status=400 if form.is_bound else 200,
    )

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from customers import selectors, services
from customers.models import Language


def home(request: HttpRequest) -> HttpResponse:
    incidents = selectors.incidents_visible_to_customers().filter(status="active")[:3]
    return render(request, "customers/home.html", {"incidents": incidents})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    customer = selectors.customer_for_user(request.user)
    if customer is None:
        return render(request, "customers/no_record.html", status=200)
    statuses = selectors.dashboard_for_customer(customer)
    return render(
        request,
        "customers/dashboard.html",
        {"customer": customer, "statuses": statuses},
    )


@login_required
@require_POST
def step_toggle(request: HttpRequest, code: str) -> HttpResponse:
    customer = selectors.customer_for_user(request.user)
    step = selectors.step_for_customer(customer, code) if customer else None
    if step is None:
        raise Http404
    services.step_progress_set(customer=customer, step=step, done=request.POST.get("done") == "1")
    return redirect(f"{reverse('customers:dashboard')}#step-{step.code}")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, remembered on the customer's record too."""
    response = django_set_language(request)
    language = request.POST.get("language")
    customer = selectors.customer_for_user(request.user)
    if customer is not None and language in Language.values:
        services.customer_language_set(customer=customer, language=language)
    return response

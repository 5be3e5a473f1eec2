from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from customers.selectors import customer_for_user
from notices.models import OutboxMessage
from notices.selectors import messages_for_customer


@staff_member_required
def outbox(request: HttpRequest) -> HttpResponse:
    """Demo only: what the outbox channels would have sent, newest first."""
    messages = OutboxMessage.objects.all()[:200]
    return render(request, "notices/outbox.html", {"outbox": messages})


@login_required
def messages_page(request: HttpRequest) -> HttpResponse:
    """Every alert we sent this customer, on any channel, with its reference."""
    customer = customer_for_user(request.user)
    if customer is None:
        return render(request, "customers/no_record.html")
    page = Paginator(messages_for_customer(customer), 20).get_page(request.GET.get("page"))
    return render(request, "notices/messages.html", {"page": page, "customer": customer})

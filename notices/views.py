from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from notices.models import OutboxMessage


@staff_member_required
def outbox(request: HttpRequest) -> HttpResponse:
    """Demo only: what the outbox channels would have sent, newest first."""
    messages = OutboxMessage.objects.all()[:200]
    return render(request, "notices/outbox.html", {"outbox": messages})

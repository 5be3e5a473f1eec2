"""The admin's pipeline health page: queues, workers, provider errors, stuck work."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.observability import pipeline, workers


def pipeline_page(request: HttpRequest, admin_site) -> TemplateResponse:
    first_event = pipeline.first_event_id_since(timezone.now() - timedelta(hours=1))
    _counts, imports = pipeline.import_jobs()
    depths = pipeline.queue_depths()
    context = {
        **admin_site.each_context(request),
        "title": _("Pipeline health"),
        "queues": sorted(depths.items()) if depths is not None else None,
        "workers": workers.workers_known(),
        "providers": pipeline.provider_errors(first_event),
        "left_sending": pipeline.deliveries_left_sending(),
        "in_doubt_after": settings.DELIVERY_IN_DOUBT_AFTER,
        "marked_in_doubt": pipeline.marked_in_doubt(first_event),
        "stalled": pipeline.stalled_campaigns(),
        "imports": imports,
    }
    return TemplateResponse(request, "admin/pipeline.html", context)

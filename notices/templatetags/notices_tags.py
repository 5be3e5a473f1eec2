"""Notices on customer pages that live in other apps (the dashboard, the home
page), without the customers app importing notices."""

from __future__ import annotations

from django import template
from django.conf import settings

from notices.models import Notice
from notices.selectors import notices_visible_to
from portal import generations

register = template.Library()

# Every page view of a sign-in storm shows the latest notices: each process
# keeps the recent ones until the content generation moves (a notice published
# or withdrawn) or for RECENT_NOTICES_SECONDS, and picks the reader's in Python.
RECENT_COUNT = 50


def recent_notices() -> list[Notice]:
    return generations.copy(
        "notices.recent",
        settings.RECENT_NOTICES_SECONDS,
        lambda: list(
            Notice.objects.filter(status=Notice.Status.PUBLISHED)
            .select_related("incident")
            .order_by("-published_at")[:RECENT_COUNT]
        ),
    )


def _visible(notice: Notice, signed_in: bool, affected: set[int]) -> bool:
    if notice.audience == Notice.Audience.PUBLIC:
        return True
    if notice.audience == Notice.Audience.CUSTOMERS:
        return signed_in
    return notice.incident_id in affected


def publicly_told_incident_ids() -> frozenset[int]:
    """Incidents with a published public notice: the only ones a public page may
    name (direct first: the affected hear it from us before anyone else)."""
    return generations.copy(
        "notices.publicly-told",
        settings.RECENT_NOTICES_SECONDS,
        lambda: frozenset(
            Notice.objects.filter(
                audience=Notice.Audience.PUBLIC, status=Notice.Status.PUBLISHED
            ).values_list("incident_id", flat=True)
        ),
    )


@register.filter
def told_publicly(incidents, public_page=True):
    """On a page anyone can read, only the incidents a public notice has
    announced; signed-in customers' pages keep them all."""
    if not public_page:
        return incidents
    told = publicly_told_incident_ids()
    return [incident for incident in incidents if incident.pk in told]


@register.inclusion_tag("notices/_latest.html", takes_context=True)
def latest_notices(context, customer=None, affected_incident_ids=None, count: int = 3):
    """The latest notices this reader may see. Pass the incidents that affect
    the customer when the page already knows them (it saves a query)."""
    if customer is not None and affected_incident_ids is None:
        notices = list(notices_visible_to(customer)[:count])
    else:
        affected = set(affected_incident_ids or ())
        signed_in = customer is not None
        notices = [n for n in recent_notices() if _visible(n, signed_in, affected)][:count]
    return {"notices": notices, "LANGUAGE_CODE": context.get("LANGUAGE_CODE")}

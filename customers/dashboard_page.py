"""The dashboard page, rendered once per shape and shared by everyone of that shape.

A customer's page is the same as every other customer's with the same incidents,
the same exposed fields and the same steps ticked, bar a handful of values: the
name in the greeting, the masked values, when each status last changed and the
CSRF token. During a sign-in storm millions of customers share a few hundred
shapes, so each process renders each shape once, with placeholders, and fills in
the customer's values per request (portal/prerender.py). The copies are dropped
when the content generation moves (portal/generations.py) or after PAGE_SECONDS.

Flash messages are filled in like the other values; a page with a query string
is rendered in full, as before.
"""

from __future__ import annotations

import dataclasses
import functools

from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.translation import get_language

from customers.models import Customer
from customers.selectors import IncidentStatus, taxonomy_generation
from portal import generations
from portal.prerender import Copies, fill, mark, messages_html

TEMPLATE = "customers/dashboard.html"
PAGE_SECONDS = 300.0
MAX_PAGES = 2000
_pages = Copies(PAGE_SECONDS, MAX_PAGES)


def content_stamp() -> tuple:
    """Which copies of the shared content a request's statuses are built from: read
    before building them, so a page is never stored under a newer stamp than the
    content it shows (a staff edit landing mid-request)."""
    return (generations.current(), taxonomy_generation())


def _shape(statuses: list[IncidentStatus]) -> tuple:
    return tuple(
        (
            status.incident.pk,
            status.exposure is not None,
            tuple(
                (card.data_class.code, tuple((item.step.pk, item.done) for item in card.steps))
                for card in status.cards
            ),
        )
        for status in statuses
    )


def _updated(status: IncidentStatus) -> tuple[str, str]:
    """ "Last updated" as the page shows it, and as a machine-readable stamp."""
    return _formatted(status.updated_at, get_language(), timezone.get_current_timezone_name())


@functools.lru_cache(maxsize=1024)
def _formatted(stamp, language: str, zone: str) -> tuple[str, str]:
    """Formatted once per process: an import stamps a whole batch of exposures
    with one time, so a sign-in storm shows a handful of distinct times. The
    active language and time zone are part of the key."""
    when = timezone.localtime(stamp)
    return formats.date_format(when, "DATETIME_FORMAT"), when.isoformat()


def _values(request, customer: Customer, statuses: list[IncidentStatus]) -> dict[str, str]:
    values = {
        "name": customer.first_name or customer.customer_ref,
        "csrf": get_token(request),
    }
    cards = (card for status in statuses for card in status.cards)
    values.update((f"m{n}", card.masked_value) for n, card in enumerate(cards))
    for n, status in enumerate(statuses):
        values[f"w{n}"], values[f"s{n}"] = _updated(status)
    escaped = {name: escape(value) for name, value in values.items()}
    escaped["messages"] = messages_html(request)  # rendered, so escaped there
    return escaped


def _with_placeholders(statuses: list[IncidentStatus]) -> list[IncidentStatus]:
    """Copies of the statuses whose per-customer values are placeholders."""
    copies, card_number = [], 0
    for n, status in enumerate(statuses):
        cards = []
        for card in status.cards:
            cards.append(dataclasses.replace(card, masked_value=mark(f"m{card_number}")))
            card_number += 1
        copy = dataclasses.replace(status, cards=cards)
        copy.updated_label, copy.updated_iso = mark(f"w{n}"), mark(f"s{n}")
        copies.append(copy)
    return copies


def _context(customer, statuses, greeting_name: str) -> dict:
    return {
        "customer": customer,
        "greeting_name": greeting_name,
        "statuses": statuses,
        "affected_incident_ids": [s.incident.pk for s in statuses if s.exposure],
        # Set, so no failed lookup logs this context (the greeting holds a name).
        "public_page": False,
    }


def _page(request, stamp: tuple, customer, statuses) -> str:
    def render() -> str:
        context = _context(customer, _with_placeholders(statuses), mark("name"))
        # Over the context processor's real ones.
        context.update(csrf_token=mark("csrf"), messages_html=mark("messages"))
        return render_to_string(TEMPLATE, context, request)

    return _pages.get_or_render((stamp, get_language(), _shape(statuses)), render)


def dashboard_response(request, stamp: tuple, customer: Customer, statuses: list[IncidentStatus]):
    """The page for these statuses, built from the content of ``stamp`` (content_stamp())."""
    if request.GET:
        for status in statuses:
            status.updated_label, status.updated_iso = _updated(status)
        name = customer.first_name or customer.customer_ref
        return render(request, TEMPLATE, _context(customer, statuses, name))
    values = _values(request, customer, statuses)
    page = _page(request, stamp, customer, statuses)
    return HttpResponse(fill(page, values))


def clear_pages() -> None:
    _pages.clear()

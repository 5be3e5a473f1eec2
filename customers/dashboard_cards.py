"""The dashboard's field cards, rendered once per process and shared.

A card (what the field means, what to do, each step's form) is the same for
every customer with the same field and the same steps ticked, bar the masked
value and the CSRF token. During a sign-in storm millions of customers share a
few hundred such cards, so each process renders each one once and fills in the
two values per request. Cards are rebuilt when the taxonomy is reloaded.
"""

from __future__ import annotations

from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from customers.selectors import IncidentStatus, taxonomy_generation

MASKED = "\x00masked\x00"
CSRF = "\x00csrf\x00"
MAX_CARDS = 5000
_cards: dict[tuple, str] = {}


def _card_key(generation: float, language: str, slug: str, card) -> tuple:
    steps = tuple((item.step.pk, item.done) for item in card.steps)
    return (generation, language, slug, card.data_class.code, steps)


def render_cards(request, statuses: list[IncidentStatus]) -> None:
    """Set ``card.html`` on every card of these statuses."""
    generation = taxonomy_generation()
    language = get_language()
    token = escape(get_token(request))
    for status in statuses:
        for card in status.cards:
            key = _card_key(generation, language, status.incident.slug, card)
            html = _cards.get(key)
            if html is None:
                if len(_cards) >= MAX_CARDS:
                    _cards.clear()
                html = render_to_string(
                    "customers/_field_card.html",
                    {
                        "card": card,
                        "status": status,
                        "masked_value": MASKED,
                        "csrf_token": CSRF,
                    },
                )
                _cards[key] = html
            card.html = mark_safe(  # noqa: S308 - both values escaped here
                html.replace(MASKED, escape(card.masked_value)).replace(CSRF, token)
            )


def clear_cards() -> None:
    _cards.clear()

"""Notices on customer pages that live in other apps (the dashboard), without
the customers app importing notices."""

from __future__ import annotations

from django import template

from notices.selectors import notices_visible_to

register = template.Library()


@register.inclusion_tag("notices/_latest.html", takes_context=True)
def latest_notices(context, customer=None, count: int = 3):
    return {
        "notices": list(notices_visible_to(customer)[:count]),
        "LANGUAGE_CODE": context.get("LANGUAGE_CODE"),
    }

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {
        "SITE_NAME": settings.SITE_NAME,
        "PORTAL_BASE_URL": settings.PORTAL_BASE_URL,
        "PORTAL_HOST": urlsplit(settings.PORTAL_BASE_URL).hostname,
        "SUPPORT_PHONE": settings.SUPPORT_PHONE,
        "REGULATOR_NAME": settings.REGULATOR_NAME,
        "REGULATOR_URL": settings.REGULATOR_URL,
        "ID_SUPPORT_NAME": settings.ID_SUPPORT_NAME,
        "ID_SUPPORT_PHONE": settings.ID_SUPPORT_PHONE,
        "ID_SUPPORT_URL": settings.ID_SUPPORT_URL,
        "SUPPORT_HOURS": settings.SUPPORT_HOURS,
        # Defaults for what base.html asks of every page, so that no page's
        # template logs a failed lookup (with its whole context) at DEBUG.
        "public_page": False,
        "messages_html": "",
    }

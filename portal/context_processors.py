from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

from portal.i18n import localized_setting


def site(request: HttpRequest) -> dict:
    return {
        "SITE_NAME": settings.SITE_NAME,
        "PORTAL_BASE_URL": settings.PORTAL_BASE_URL,
        "PORTAL_HOST": urlsplit(settings.PORTAL_BASE_URL).hostname,
        "SUPPORT_PHONE": settings.SUPPORT_PHONE,
        # Texts shown inside sentences, in the page's language.
        "REGULATOR_NAME": localized_setting("REGULATOR_NAME"),
        "REGULATOR_URL": settings.REGULATOR_URL,
        "ID_SUPPORT_NAME": settings.ID_SUPPORT_NAME,
        "ID_SUPPORT_PHONE": settings.ID_SUPPORT_PHONE,
        "ID_SUPPORT_URL": settings.ID_SUPPORT_URL,
        "SUPPORT_HOURS": localized_setting("SUPPORT_HOURS"),
        # Defaults for what base.html asks of every page, so that no page's
        # template logs a failed lookup (with its whole context) at DEBUG.
        "public_page": False,
        "messages_html": "",
    }

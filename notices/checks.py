"""System checks (`manage.py check`, and every `migrate`) for settings that
would make the sending pipeline break a promise."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from notices.sms import sms_segments
from notices.templating import SHORT_SMS, longest_values


@checks.register(checks.Tags.compatibility)
def short_sms_fits(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The last-resort text message carries two links to the portal: with a long
    PORTAL_BASE_URL or SMS_MAX_SEGMENTS too low, even it would go over the limit."""
    limit = settings.SMS_MAX_SEGMENTS
    errors = []
    for language, text in SHORT_SMS.items():
        values = longest_values(language, ["reference", "portal_url", "verify_url"])
        segments = sms_segments(text.format_map(values)).segments
        if segments > limit:
            errors.append(
                checks.Error(
                    f"The short text message ({language}) takes {segments} SMS segments with "
                    f"PORTAL_BASE_URL={settings.PORTAL_BASE_URL!r}; SMS_MAX_SEGMENTS is {limit}.",
                    hint="Use a shorter PORTAL_BASE_URL or allow more segments: a customer "
                    "whose message cannot be shortened further gets this one.",
                    id="notices.E001",
                )
            )
    return errors

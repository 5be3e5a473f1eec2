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


@checks.register(checks.Tags.compatibility)
def in_doubt_after_outlives_a_dispatch_task(
    app_configs=None, **kwargs
) -> list[checks.CheckMessage]:
    """The sweep takes a claim older than DELIVERY_IN_DOUBT_AFTER for a dead
    worker's. The dispatch task's hard time limit is what ends a stalled one: a
    shorter wait could put rows back while their worker may still send them."""
    from notices.tasks import campaign_dispatch, resend_send

    longest = max(campaign_dispatch.time_limit, resend_send.time_limit)
    if longest <= settings.DELIVERY_IN_DOUBT_AFTER:
        return []
    return [
        checks.Warning(
            f"DELIVERY_IN_DOUBT_AFTER is {settings.DELIVERY_IN_DOUBT_AFTER} s, shorter than the "
            f"dispatch task's hard time limit ({longest} s).",
            hint="A worker that stalls (rather than dies) could then send a message the sweep "
            "has handed to another worker. Keep it at or above the time limit.",
            id="notices.W001",
        )
    ]

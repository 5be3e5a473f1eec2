"""System checks (`manage.py check`, and every `migrate`; `check --deploy` adds
the deploy ones) for settings that would make the sending pipeline break a promise."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

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


# The demo's outbox keeps every message whole in the database (sign-in codes
# included) instead of sending it. Per channel: its check id and what to set.
_REAL_PROVIDER = {
    "email": (
        "notices.E002",
        "Set EMAIL_BACKEND to a real provider, e.g. django.core.mail.backends.smtp.EmailBackend "
        "or an anymail backend.",
    ),
    "sms": (
        "notices.E003",
        "Set it to a real provider, e.g. notices.channels.twilio.TwilioBackend, with its "
        "TWILIO_* (or SMS_<NAME>_*) settings.",
    ),
    "push": (
        "notices.E004",
        "Set PUSH_BACKEND=notices.channels.push.FcmBackend with its FCM_* settings.",
    ),
}


def _channel_backends() -> list[tuple[str, str, str]]:
    """(channel, setting, dotted path) of every configured provider."""
    sms = [
        ("SMS_BACKEND" if p["name"] == "primary" else f"SMS_{p['name'].upper()}_BACKEND", p)
        for p in settings.SMS_PROVIDERS
    ]
    return [
        ("email", "EMAIL_BACKEND", settings.EMAIL_BACKEND),
        *(("sms", setting, provider["backend"]) for setting, provider in sms),
        *(("push", "PUSH_BACKEND", provider["backend"]) for provider in settings.PUSH_PROVIDERS),
    ]


def _stores_in_outbox(path: str) -> bool:
    from notices.channels import outbox

    try:
        backend = import_string(path)
    except ImportError:
        return False  # reported where it is loaded
    return isinstance(backend, type) and issubclass(
        backend, (outbox.EmailBackend, outbox.SmsBackend)
    )


@checks.register(checks.Tags.security, deploy=True)
def no_outbox_in_production(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Without DEBUG, a channel left on the demo outbox sends nothing and stores
    every message, sign-in codes and addresses included, in notices_outboxmessage."""
    if settings.DEBUG:
        return []
    errors = []
    for channel, setting, path in _channel_backends():
        if not _stores_in_outbox(path):
            continue
        check_id, hint = _REAL_PROVIDER[channel]
        errors.append(
            checks.Error(
                f"{setting} is the demo outbox ({path}) with DEBUG off: {channel} messages "
                "would be stored in the database (notices_outboxmessage), not sent.",
                hint=f"{hint} A deployment meant to keep the outbox (a staging site) lists "
                f"{check_id} in SILENCED_SYSTEM_CHECKS.",
                id=check_id,
            )
        )
    return errors


@checks.register(checks.Tags.compatibility)
def allowed_test_recipients_are_addresses(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Each TEST_SEND_RECIPIENTS entry is an email or a phone number: a typo
    would otherwise be skipped without a word, and the test send refused."""
    from django.core.exceptions import ValidationError

    from customers.normalise import normalise_email, normalise_phone

    def valid(entry: str) -> bool:
        for normalise in (normalise_email, normalise_phone):
            try:
                normalise(entry)
            except ValidationError:
                continue
            return True
        return False

    return [
        checks.Error(
            f"TEST_SEND_RECIPIENTS: {entry!r} is neither an email address nor a phone number.",
            hint="List the team's test mailboxes and phones, comma-separated.",
            id="notices.E005",
        )
        for entry in settings.TEST_SEND_RECIPIENTS
        if not valid(entry)
    ]

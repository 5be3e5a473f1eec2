"""System checks on the sending settings."""

from __future__ import annotations

from notices.checks import short_sms_fits


def test_the_short_text_message_fits_with_the_default_settings():
    assert short_sms_fits() == []


def test_too_few_segments_for_the_short_text_message_is_an_error(settings):
    settings.PORTAL_BASE_URL = "https://breach-support.example-telco.com.au"
    assert short_sms_fits() == []
    settings.SMS_MAX_SEGMENTS = 1
    errors = short_sms_fits()
    assert {e.id for e in errors} == {"notices.E001"} and len(errors) == 2
    assert "SMS_MAX_SEGMENTS is 1" in errors[0].msg


def test_a_very_long_portal_address_is_an_error(settings):
    settings.PORTAL_BASE_URL = "https://" + "breach-notice." * 40 + "example.com"
    assert [e.id for e in short_sms_fits()] == ["notices.E001", "notices.E001"]


def test_a_sweep_sooner_than_a_dispatch_task_can_run_is_a_warning(settings):
    from notices.checks import in_doubt_after_outlives_a_dispatch_task

    assert in_doubt_after_outlives_a_dispatch_task() == []
    settings.DELIVERY_IN_DOUBT_AFTER = 60
    [warning] = in_doubt_after_outlives_a_dispatch_task()
    assert warning.id == "notices.W001" and "300 s" in warning.msg


OUTBOX = "notices.channels.outbox"


def test_a_channel_left_on_the_outbox_without_debug_is_a_deploy_error(settings):
    from django.core.checks import registry

    from notices.checks import no_outbox_in_production

    settings.DEBUG = False
    settings.EMAIL_BACKEND = f"{OUTBOX}.EmailBackend"
    settings.SMS_PROVIDERS = [
        {"name": "primary", "backend": "notices.channels.twilio.TwilioBackend"},
        {"name": "backup", "backend": f"{OUTBOX}.SmsBackend"},
    ]
    settings.PUSH_PROVIDERS = [{"name": "primary", "backend": f"{OUTBOX}.PushBackend"}]
    errors = no_outbox_in_production()
    assert [(e.id, e.level) for e in errors] == [
        ("notices.E002", 40),
        ("notices.E003", 40),
        ("notices.E004", 40),
    ]
    assert errors[1].msg.startswith("SMS_BACKUP_BACKEND is the demo outbox")
    assert no_outbox_in_production in registry.registry.get_checks(include_deployment_checks=True)
    assert no_outbox_in_production not in registry.registry.get_checks()

    settings.DEBUG = True  # make run
    assert no_outbox_in_production() == []
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.SMS_PROVIDERS = [
        {"name": "primary", "backend": "notices.channels.twilio.TwilioBackend"}
    ]
    settings.PUSH_PROVIDERS = [{"name": "primary", "backend": "notices.channels.push.FcmBackend"}]
    assert no_outbox_in_production() == []


def test_an_allowed_test_recipient_that_is_no_address_is_an_error(settings):
    from notices.checks import allowed_test_recipients_are_addresses

    settings.TEST_SEND_RECIPIENTS = ["qa@example.com", "+61 412 345 678"]
    assert allowed_test_recipients_are_addresses() == []
    settings.TEST_SEND_RECIPIENTS = ["qa@example.com", "qa-at-example.com"]
    errors = allowed_test_recipients_are_addresses()
    assert [e.id for e in errors] == ["notices.E005"]
    assert "'qa-at-example.com'" in errors[0].msg

"""Tasks that call a provider outside a campaign take a slot of its account's rate."""

from __future__ import annotations

import time

import pytest
from celery.exceptions import Retry

from notices import channels, tasks
from notices.channels import locmem
from notices.models import ContactVerification, RateBucket
from notices.models import TestSend as _TestSendModel
from notices.ratelimit import reserve_slots

pytestmark = pytest.mark.django_db

SMS_KEY = "provider:sms:primary"


@pytest.fixture(autouse=True)
def _sms_rate(settings):
    settings.RATE_HEADROOM = 1.0
    settings.SMS_PROVIDERS = [{**p, "rate": 10} for p in settings.SMS_PROVIDERS]
    locmem.outbox.clear()


@pytest.fixture
def retries(monkeypatch):
    """What each task asked to be retried with, instead of a broker."""
    asked = []

    def fake(task):
        def retry(*, args=None, kwargs=None, countdown=None, exc=None, **options):
            asked.append({"task": task.name, "kwargs": kwargs or {}, "countdown": countdown})
            raise Retry(exc=exc, when=countdown)

        return retry

    for task in (tasks.send_claim_code, tasks.send_contact_code, tasks.test_send):
        monkeypatch.setattr(task, "retry", fake(task))
    return asked


def _next_slot() -> float:
    return RateBucket.objects.get(key=SMS_KEY).next_slot


def _verification(alice, kind="phone", value="+61411000789", lifetime=600):
    from datetime import timedelta

    from django.utils import timezone

    return ContactVerification.objects.create(
        customer=alice,
        kind=kind,
        value=value,
        code_hash="-",
        expires_at=timezone.now() + timedelta(seconds=lifetime),
    )


def _test_send(campaign) -> _TestSendModel:
    return _TestSendModel.objects.create(
        campaign=campaign,
        channel="sms",
        language="en",
        to="+61411000123",
        body="Test",
        reference="K7QM3TXP9HWC",
        requested_by=campaign.created_by,
    )


def _send(name, alice, campaign, **kwargs):
    if name == "claim":
        tasks.send_claim_code(alice.pk, "ABCD-EFGH-JKLM", "K7QM3TXP9HWC", **kwargs)
    elif name == "contact":
        tasks.send_contact_code(_verification(alice).pk, "123456", "K7QM3TXP9HWC", **kwargs)
    else:
        tasks.test_send(_test_send(campaign).pk, **kwargs)


KINDS = ["claim", "contact", "test"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_code_text_takes_one_slot_of_the_providers_shared_rate(kind, alice, campaign):
    reserve_slots(SMS_KEY, 5, 10)  # half a second booked ahead: the text waits for its slot
    before = _next_slot()
    _send(kind, alice, campaign)
    assert len(locmem.outbox) == 1
    assert _next_slot() == pytest.approx(before + 0.1, abs=0.01)


@pytest.mark.parametrize("kind", KINDS)
def test_a_code_text_with_no_slot_soon_is_retried_at_its_slot(kind, alice, campaign, retries):
    reserve_slots(SMS_KEY, 300, 10)  # the account is booked 30 s ahead by a campaign
    with pytest.raises(Retry):
        _send(kind, alice, campaign)
    assert locmem.outbox == []
    [asked] = retries
    assert 25 < asked["countdown"] < 35
    assert asked["kwargs"]["slot_at"] == pytest.approx(time.time() + asked["countdown"], abs=1)
    assert asked["kwargs"]["provider"] == "primary"


@pytest.mark.parametrize("kind", KINDS)
def test_a_retried_code_text_uses_the_slot_it_booked(kind, alice, campaign, retries):
    reserve_slots(SMS_KEY, 300, 10)
    booked = _next_slot()
    _send(kind, alice, campaign, slot_at=time.time() + 0.2, provider="primary")
    assert len(locmem.outbox) == 1 and retries == []
    assert _next_slot() == booked  # no second slot taken


def test_a_contact_code_email_takes_a_slot_of_the_email_providers_rate(settings, alice):
    from django.core import mail

    settings.EMAIL_RATE = 10
    reserve_slots("provider:email:email", 3, 10)
    before = RateBucket.objects.get(key="provider:email:email").next_slot
    verification = _verification(alice, "email", "new@example.com")
    tasks.send_contact_code(verification.pk, "123456", "K7QM3TXP9HWC")
    assert [m.to for m in mail.outbox] == [["new@example.com"]]
    after = RateBucket.objects.get(key="provider:email:email").next_slot
    assert after == pytest.approx(before + 0.1, abs=0.01)


@pytest.mark.parametrize("kind", ["phone", "email"])
def test_a_contact_code_whose_slot_comes_after_it_expires_is_dropped_not_retried(
    kind, settings, alice, retries, caplog
):
    """Under a lasting backlog a late retry books again, and again: a code
    that would arrive expired is not sent, nor retried until long after."""
    from django.core import mail

    settings.EMAIL_RATE = 10
    reserve_slots("provider:email:email" if kind == "email" else SMS_KEY, 300, 10)  # 30 s ahead
    value = "new@example.com" if kind == "email" else "+61411000789"
    verification = _verification(alice, kind, value, lifetime=10)
    tasks.send_contact_code(verification.pk, "123456", "K7QM3TXP9HWC")
    assert locmem.outbox == [] and mail.outbox == [] and retries == []
    assert "message K7QM3TXP9HWC not sent, it would arrive expired" in caplog.text


def test_an_unlimited_provider_sends_at_once(settings, alice, campaign, retries):
    settings.SMS_PROVIDERS = [{**p, "rate": 0} for p in settings.SMS_PROVIDERS]
    _send("claim", alice, campaign)
    assert len(locmem.outbox) == 1 and retries == []
    assert channels.provider_rate("sms", "primary") == 0


def test_a_code_text_retried_after_a_provider_error_chooses_its_provider_again(
    alice, campaign, retries, settings
):
    from tests.notices import backends

    backends.reset()
    settings.SMS_PROVIDERS = [{**p, "rate": 10} for p in backends.SCRIPTED]
    backends.script["+61411000789"] = ["transient"]
    with pytest.raises(Retry):
        _send("contact", alice, campaign, slot_at=time.time(), provider="primary")
    [asked] = retries
    assert asked["kwargs"] == {"slot_at": None, "provider": ""}
    backends.reset()


def test_an_email_test_send_records_a_message_id_on_a_real_domain(settings, campaign):
    """An email's Message-ID names our host, over 64 characters on most real domains."""
    settings.PORTAL_BASE_URL = "https://alerts.customer-support.example-telco.com.au"
    test = _TestSendModel.objects.create(
        campaign=campaign,
        channel="email",
        language="en",
        to="staff@example.com",
        subject="Test",
        body="Test",
        reference="K7QM3TXP9HWC",
        requested_by=campaign.created_by,
    )
    tasks.test_send(test.pk)
    test.refresh_from_db()
    assert test.status == "sent" and len(test.provider_id) > 64


@pytest.mark.parametrize("kind", ["claim", "contact"])
def test_a_code_text_whose_answer_was_lost_is_looked_up_not_sent_twice(
    kind, alice, campaign, retries, settings
):
    """The provider took the text, but its answer timed out: the retry asks the
    same provider for it by its reference before sending a second copy."""
    from portal.models import TransactionalMessage
    from tests.notices import backends

    backends.reset()
    settings.SMS_PROVIDERS = [
        {**p, "rate": 0} for p in backends.TWO_ACCOUNTS
    ]  # the retry's provider: the one that may have it, not the first one free
    alice.phone = "+61411000789"
    alice.save()
    backends.script["+61411000789"] = ["lost"]
    with pytest.raises(Retry):
        _send(kind, alice, campaign, provider="backup")
    [asked] = retries
    assert asked["kwargs"] == {"slot_at": None, "provider": "backup", "in_doubt": True}

    _send(kind, alice, campaign, **asked["kwargs"])
    sent = [m for account in backends.by_account.values() for m in account]
    assert len(sent) == 1
    assert backends.lookups == ["backup:K7QM3TXP9HWC"]
    assert TransactionalMessage.objects.get(reference="K7QM3TXP9HWC").sent_at is not None
    backends.reset()


# --- a provider account refused as a whole ----------------------------------------


@pytest.fixture
def refused_account(settings):
    """The email server refuses our sign-in (535); the only SMS provider our token."""
    from tests.notices import backends
    from tests.notices.smtp_sink import SmtpSink

    sink = SmtpSink(answer_to_auth=b"535 5.7.8 Authentication credentials invalid").start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "alerts", "wrong"
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.EMAIL_RATE = 0
    settings.SMS_PROVIDERS = [{"name": "primary", "backend": backends.RefusedSmsBackend.path}]
    yield sink
    sink.stop()


def _as_a_worker_on_its_last_retry(task, *args):
    """Run ``task`` as a worker would, its retries used up; returns the retry it queued."""
    from celery.canvas import Signature

    queued = []
    original = Signature.apply_async
    Signature.apply_async = lambda sig, *a, **k: queued.append(sig)
    task.push_request(
        retries=task.max_retries, args=list(args), kwargs={}, called_directly=False, is_eager=False
    )
    try:
        with pytest.raises(Retry):
            task.run(*args)
    finally:
        task.pop_request()
        Signature.apply_async = original
    [retry] = queued
    return retry


@pytest.mark.parametrize("kind, value", [("email", "new@example.com"), ("phone", "+61411000789")])
def test_a_code_its_provider_account_refuses_waits_for_it_spending_no_retry(
    kind, value, alice, refused_account
):
    """Counted, with the few seconds of back-off a code's retries give, a refused
    sign-in or a revoked token lasting any longer dropped every code. It is
    tried again in about a minute instead, however many retries it had spent."""
    from portal.models import TransactionalMessage

    verification = _verification(alice, kind, value)
    task = tasks.send_contact_code
    retry = _as_a_worker_on_its_last_retry(task, verification.pk, "123456", "K7QM3TXP9HWC")
    assert retry.options["retries"] == task.max_retries  # this retry not counted
    assert 60 <= retry.options["countdown"] <= 72
    assert retry.kwargs["slot_at"] is None
    assert retry.args == (verification.pk, "123456", "K7QM3TXP9HWC")
    assert refused_account.messages == 0 and locmem.outbox == []
    assert TransactionalMessage.objects.get(reference="K7QM3TXP9HWC").sent_at is None


def test_a_claim_code_text_its_provider_account_refuses_waits_for_it(alice, refused_account):
    retry = _as_a_worker_on_its_last_retry(
        tasks.send_claim_code, alice.pk, "ABCD-EFGH-JKLM", "K7QM3TXP9HWC"
    )
    assert retry.options["retries"] == tasks.send_claim_code.max_retries
    assert 60 <= retry.options["countdown"] <= 72


@pytest.mark.parametrize("kind, value", [("email", "new@example.com"), ("phone", "+61411000789")])
def test_a_code_refused_until_it_would_arrive_expired_is_dropped(
    kind, value, alice, refused_account, retries, caplog
):
    verification = _verification(alice, kind, value, lifetime=30)
    tasks.send_contact_code(verification.pk, "123456", "K7QM3TXP9HWC")
    assert retries == [] and locmem.outbox == [] and refused_account.messages == 0
    assert "message K7QM3TXP9HWC not sent, its provider account refused it" in caplog.text

"""The worker task that sends transactional email (sign-in codes, confirmations)."""

from __future__ import annotations

import pytest
from anymail.exceptions import AnymailAPIError
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from customers.tasks import send_transactional_email

pytestmark = pytest.mark.django_db

failures_left = []


class ThrottledOnceBackend(EmailBackend):
    """An email provider that answers 429 to the first send."""

    def send_messages(self, messages):
        if failures_left:
            failures_left.pop()
            raise AnymailAPIError("ESP API response 429: too many requests")
        return super().send_messages(messages)


def test_a_throttled_send_is_retried_not_lost(settings):
    settings.EMAIL_BACKEND = f"{__name__}.ThrottledOnceBackend"
    failures_left[:] = [1]
    message = {
        "subject": "Your sign-in code",
        "body": "123456",
        "from_email": "alerts@example.com",
        "to": ["jane@example.com"],
    }
    # As a worker runs it: a retry runs again at once here (eager), not after its back-off.
    send_transactional_email.apply(args=(message,), throw=False)
    assert [m.to for m in mail.outbox] == [["jane@example.com"]]
    assert failures_left == []


# --- the email provider's rate, shared with campaigns ---------------------------

EMAIL_KEY = "provider:email:email"
MESSAGE = {
    "subject": "Your sign-in code",
    "body": "123456",
    "from_email": "alerts@example.com",
    "to": ["jane@example.com"],
    "reference": "K7QM3TXP9HWC",
}


@pytest.fixture
def email_rate(settings):
    settings.RATE_HEADROOM = 1.0
    settings.EMAIL_RATE = 10


def _next_slot() -> float:
    from notices.models import RateBucket

    return RateBucket.objects.get(key=EMAIL_KEY).next_slot


def test_a_sign_in_code_email_takes_a_slot_of_the_email_providers_rate(email_rate):
    from notices.ratelimit import reserve_slots

    # A campaign booked a second ahead (a stall of the machine shorter than that
    # leaves the booking ahead of the clock): the code waits its turn.
    reserve_slots(EMAIL_KEY, 10, 10)
    before = _next_slot()
    send_transactional_email(MESSAGE)
    assert [m.to for m in mail.outbox] == [["jane@example.com"]]
    assert _next_slot() == pytest.approx(before + 0.1, abs=0.01)


def test_a_code_email_with_no_slot_soon_is_retried_at_its_slot(email_rate, monkeypatch):
    import time

    from celery.exceptions import Retry

    from notices.ratelimit import reserve_slots

    asked = []

    def retry(*, kwargs=None, countdown=None, **options):
        asked.append((kwargs, countdown))
        raise Retry(when=countdown)

    monkeypatch.setattr(send_transactional_email, "retry", retry)
    reserve_slots(EMAIL_KEY, 300, 10)  # 30 s booked ahead by a campaign
    with pytest.raises(Retry):
        send_transactional_email(MESSAGE)
    assert mail.outbox == []
    [(kwargs, countdown)] = asked
    assert 25 < countdown < 35 and kwargs["provider"] == "email"
    booked = _next_slot()
    # The retry, at its slot, sends without booking another.
    send_transactional_email(MESSAGE, slot_at=time.time() + 0.1, provider="email")
    assert len(mail.outbox) == 1 and _next_slot() == booked


def test_waiting_for_a_slot_spends_none_of_the_retries_kept_for_provider_errors(
    email_rate, monkeypatch
):
    """At its last retry (after provider errors, or earlier waits), a code that
    must wait for the rate is sent at its slot, not dropped: the retry the
    worker queues keeps the count of retries as it was."""
    from celery.canvas import Signature
    from celery.exceptions import Retry

    from notices.ratelimit import reserve_slots

    queued = []
    monkeypatch.setattr(Signature, "apply_async", lambda sig, *a, **k: queued.append(sig))
    reserve_slots(EMAIL_KEY, 300, 10)  # 30 s booked ahead by a campaign
    last = send_transactional_email.max_retries
    # As a worker runs it (not eagerly): the retry goes to the broker.
    send_transactional_email.push_request(
        retries=last, args=[MESSAGE], kwargs={}, called_directly=False, is_eager=False
    )
    try:
        with pytest.raises(Retry):
            send_transactional_email.run(MESSAGE)
    finally:
        send_transactional_email.pop_request()
    assert mail.outbox == []
    [retry] = queued
    assert retry.options["retries"] == last
    assert 25 < retry.options["countdown"] < 35
    assert retry.args == (MESSAGE,) and retry.kwargs["provider"] == "email"


def test_a_code_email_whose_slot_comes_after_the_code_expires_is_dropped(
    email_rate, monkeypatch, caplog
):
    """A retry that ran late books a new slot: under a lasting backlog the code
    would be retried until long after it expired, then arrive useless."""
    import time

    from notices.ratelimit import reserve_slots

    monkeypatch.setattr(
        send_transactional_email, "retry", lambda **kw: pytest.fail(f"retried: {kw!r}")
    )
    reserve_slots(EMAIL_KEY, 300, 10)  # 30 s booked ahead by a campaign
    stale = time.time() - 5  # the slot its last retry booked, run late
    send_transactional_email(
        {**MESSAGE, "useful_until": time.time() + 10}, slot_at=stale, provider="email"
    )
    assert mail.outbox == []
    assert "K7QM3TXP9HWC not sent, it would arrive expired" in caplog.text


def test_sign_in_code_emails_say_until_when_they_are_of_use(client, settings, monkeypatch):
    """The adapter stamps a code email with its code's expiry; other emails
    (a password reset link lasts days) are sent however late."""
    import time

    from customers import adapters
    from tests.factories import CustomerFactory

    queued = []
    monkeypatch.setattr(adapters.send_transactional_email, "delay", queued.append)
    CustomerFactory(email="jane@example.com")
    with pytest.MonkeyPatch.context() as m:
        m.setattr("django.db.transaction.on_commit", lambda fn, *a, **k: fn())
        response = client.post("/accounts/login/code/", {"email": "jane@example.com"})
    assert response.status_code == 302
    [payload] = queued
    expected = time.time() + settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT
    assert payload["useful_until"] == pytest.approx(expected, abs=5)

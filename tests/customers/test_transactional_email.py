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

"""The email channel over a real SMTP connection on loopback: a connection kept
for a batch that the server has closed loses no message, and only an answer
lost after the message's data went out leaves a send in doubt."""

from __future__ import annotations

import smtplib

import pytest
from anymail.exceptions import AnymailAPIError

from notices.channels.base import ChannelError, OutgoingMessage
from notices.channels.email import EmailChannel, account_refusal
from tests.notices.smtp_sink import SmtpSink


def message(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        reference=f"REF{n:04d}", to=f"c{n}@example.com", body="Your data…", subject="Notice"
    )


@pytest.fixture
def sink(settings):
    sink = SmtpSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5

    def started(**behaviour) -> SmtpSink:
        for name, value in behaviour.items():
            setattr(sink, name, value)
        sink.start()
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        return sink

    yield started
    sink.stop()


def test_a_batch_keeps_one_connection(sink):
    server = sink()
    channel = EmailChannel()
    for n in range(3):
        channel.send(message(n))
    channel.end_batch()
    assert (server.messages, server.connections, server.quits) == (3, 1, 1)


def test_a_kept_connection_the_server_has_closed_is_replaced_and_nothing_is_lost(sink):
    """A server that closes a connection after each message (its limit, or an
    idle timeout): the next message finds it gone before sending anything, and
    goes out on a new connection, not into doubt."""
    server = sink(messages_per_connection=1)
    channel = EmailChannel()
    for n in range(3):
        channel.send(message(n))
    channel.end_batch()
    assert server.recipients == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert (server.messages, server.connections) == (3, 3)


def test_a_connection_lost_before_the_data_is_a_plain_failure_retried_later(sink):
    server = sink(hang_up_at_mail=True)
    channel = EmailChannel()
    with pytest.raises(ChannelError) as refused:
        channel.send(message(1))
    assert not refused.value.ambiguous and not refused.value.permanent
    assert server.messages == 0


def test_only_one_new_connection_is_tried_for_a_message(sink):
    server = sink(messages_per_connection=1)
    channel = EmailChannel()
    channel.send(message(0))
    server.hang_up_at_mail = True  # the new connection fails the same way
    with pytest.raises(ChannelError) as refused:
        channel.send(message(1))
    assert not refused.value.ambiguous
    assert (server.messages, server.connections) == (1, 2)


def test_an_answer_lost_once_the_data_went_out_leaves_the_send_in_doubt(sink):
    """The server may have the message: resending blindly could send it twice."""
    server = sink(hang_up_after_data=True)
    channel = EmailChannel()
    with pytest.raises(ChannelError) as lost:
        channel.send(message(1))
    assert lost.value.ambiguous
    assert (server.messages, server.connections) == (1, 1)


def test_an_unreachable_server_is_a_plain_failure(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    with pytest.raises(ChannelError) as refused:
        EmailChannel().send(message(1))
    assert not refused.value.ambiguous


@pytest.mark.parametrize(
    "answer, permanent",
    [(b"554 5.7.1 Message rejected", True), (b"451 4.3.0 Try again later", False)],
)
def test_a_message_the_server_refuses_for_good_is_not_retried(sink, answer, permanent):
    """A 5xx answer to the data refuses this message for good (its content or its
    recipient): retried, it would be refused six times over ten minutes before
    the customer's next channel is tried. A 4xx asks for a retry."""
    sink(answer_after_data=answer)
    channel = EmailChannel()
    with pytest.raises(ChannelError) as refused:
        channel.send(message(1))
    assert refused.value.permanent is permanent and not refused.value.ambiguous
    channel.end_batch()


@pytest.mark.parametrize(
    "behaviour",
    [
        {"answer_to_auth": b"535 5.7.8 Authentication credentials invalid"},
        {"answer_to_mail": b"550 5.7.1 Sender address rejected: not owned by user"},
        {"answer_after_data": b"554 Message rejected: Sending suspended for this account"},
        {"answer_after_data": b"550 5.7.60 SMTP; Client does not have permissions to send as"},
    ],
    ids=["sign-in", "sender", "suspended", "send-as"],
)
def test_a_refusal_of_the_account_is_not_the_recipients_failure(sink, settings, behaviour):
    """Refused sign-in, sender or account: every message would get the same
    answer. Taken as this recipient's permanent failure, a misconfigured account
    would fail every email of a campaign for good, one by one."""
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "alerts", "secret"
    server = sink(**behaviour)
    channel = EmailChannel()
    with pytest.raises(ChannelError) as refused:
        channel.send(message(1))
    assert refused.value.account
    assert not refused.value.permanent and not refused.value.ambiguous
    channel.end_batch()
    assert server.messages <= 1  # refused, if it got that far: nothing was taken


def test_an_unreachable_server_is_the_accounts_failure(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    with pytest.raises(ChannelError) as refused:
        EmailChannel().send(message(1))
    assert refused.value.account and not refused.value.permanent


@pytest.mark.parametrize(
    "answer",
    [
        b"554 5.7.1 Message rejected",
        b"550 5.1.1 The email account that you tried to reach does not exist",
        b"552 5.3.4 Message size exceeds fixed limit",
    ],
)
def test_a_refusal_of_this_message_stays_its_own_permanent_failure(sink, answer):
    sink(answer_after_data=answer)
    channel = EmailChannel()
    with pytest.raises(ChannelError) as refused:
        channel.send(message(1))
    assert refused.value.permanent and not refused.value.account
    channel.end_batch()


@pytest.mark.parametrize(
    "answer",
    [
        b"450 4.2.1 Mailbox busy, try again later",
        b"451 4.7.1 Greylisted, please try again in 5 minutes",
        b"452 4.5.3 Too many recipients",
    ],
    ids=["busy", "greylisted", "too-many"],
)
def test_a_recipient_deferred_for_now_is_retried_not_failed_for_good(sink, answer):
    """A 4xx at RCPT TO asks for a retry: taken for a refusal for good, a
    greylisting server would fail the email at once and send the customer to
    their next channel."""
    sink(answer_to_rcpt=answer)
    channel = EmailChannel()
    with pytest.raises(ChannelError) as deferred:
        channel.send(message(1))
    error = deferred.value
    assert not error.permanent and not error.account and not error.ambiguous
    assert answer.decode()[:3] in str(error)
    channel.end_batch()


@pytest.mark.parametrize(
    "answer",
    [
        b"554 5.7.1 <c1@example.com>: Relay access denied",
        b"550 5.7.1 <c1@example.com>... Relaying denied. Proper authentication required.",
        b"550 5.7.1 Unable to relay",
        b"454 4.7.1 <c1@example.com>: Relay access denied",
    ],
    ids=["postfix", "sendmail", "exchange", "postfix-4xx"],
)
def test_a_server_that_will_not_relay_for_us_refuses_our_account_not_the_recipient(sink, answer):
    """Relaying denied at RCPT TO: we are not signed in or not allowed to send
    through that server. Every recipient would be refused alike: failing each
    for good would fail a campaign's emails one by one."""
    server = sink(answer_to_rcpt=answer)
    channel = EmailChannel()
    with pytest.raises(ChannelError) as refused:
        channel.send(message(1))
    error = refused.value
    assert error.account and not error.permanent and not error.ambiguous
    assert "c1@example.com" not in str(error)  # the address is not kept in the error
    channel.end_batch()
    assert server.messages == 0


@pytest.mark.parametrize(
    "answer",
    [
        b"550 5.1.1 <c1@example.com>: Recipient address rejected: User unknown",
        b"550 5.2.1 Mailbox disabled, not accepting messages",
        b"550 5.1.1 Relaying denied for unknown user",
    ],
    ids=["unknown", "disabled", "unknown-relay-words"],
)
def test_a_recipient_refused_for_good_stays_its_own_permanent_failure(sink, answer):
    sink(answer_to_rcpt=answer)
    channel = EmailChannel()
    with pytest.raises(ChannelError) as refused:
        channel.send(message(1))
    assert refused.value.permanent and not refused.value.account
    channel.end_batch()


@pytest.mark.parametrize(
    "exc, account",
    [
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid"), True),
        (smtplib.SMTPSenderRefused(550, b"5.7.1 Sender rejected", "alerts@example.com"), True),
        (smtplib.SMTPSenderRefused(552, b"5.3.4 Message too big", "alerts@example.com"), False),
        (smtplib.SMTPDataError(554, b"Sending suspended for this account"), True),
        (smtplib.SMTPDataError(554, b"5.7.1 Message rejected"), False),
        (smtplib.SMTPRecipientsRefused({"a@b.example": (554, b"5.7.1 Relay access denied")}), True),
        (smtplib.SMTPRecipientsRefused({"a@b.example": (550, b"5.1.1 User unknown")}), False),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (smtplib.SMTPServerDisconnected("lost"), False),
        (AnymailAPIError("refused", status_code=401), True),
        (AnymailAPIError("throttled", status_code=429), False),
    ],
)
def test_an_email_sent_outside_the_channel_tells_an_account_refusal_apart(exc, account):
    """Codes go out through Django's EmailMessage.send(): their errors are told
    apart as the channel's are."""
    refusal = account_refusal(exc)
    assert (refusal is not None and refusal.account) is account

"""The Twilio wire-format backend against the fake provider on loopback."""

from __future__ import annotations

import pytest

from notices.channels.base import ChannelError, OutgoingMessage
from notices.channels.twilio import TwilioBackend
from notices.references import format_reference
from tests.fakes.twilio_server import running_fake_twilio

SID, TOKEN = "AC" + "1" * 32, "backend-token"


@pytest.fixture(scope="module")
def fake():
    with running_fake_twilio(SID, TOKEN) as running:
        yield running


@pytest.fixture
def backend(fake):
    fake.reset()
    return TwilioBackend(
        "primary",
        api_base_url=fake.base_url,
        account_sid=SID,
        auth_token=TOKEN,
        from_number="+61400000000",
        timeout=2,
    )


def message(to="+61411111111", reference="ABCDEFGHJKLM") -> OutgoingMessage:
    return OutgoingMessage(
        reference=reference, to=to, body=f"Alert. Ref {format_reference(reference)}"
    )


def test_send_returns_the_provider_id(backend, fake):
    sid = backend.send(message())
    assert sid.startswith("SM")
    [accepted] = fake.messages()
    assert accepted["to"] == "+61411111111" and accepted["from"] == "+61400000000"


def test_invalid_number_is_permanent(backend, fake):
    fake.configure(invalid_numbers=["+61400000009"])
    with pytest.raises(ChannelError) as excinfo:
        backend.send(message(to="+61400000009"))
    assert excinfo.value.permanent and "21211" in str(excinfo.value)


def test_429_is_transient_with_retry_after(backend, fake):
    fake.configure(rate_429=1.0, retry_after_s=7)
    with pytest.raises(ChannelError) as excinfo:
        backend.send(message())
    assert not excinfo.value.permanent and excinfo.value.retry_after == 7


def test_5xx_is_transient(backend, fake):
    fake.configure(error_5xx_rate=1.0)
    with pytest.raises(ChannelError) as excinfo:
        backend.send(message())
    assert not excinfo.value.permanent and not excinfo.value.ambiguous


def test_a_lost_answer_is_ambiguous_and_the_lookup_finds_the_message(backend, fake):
    fake.configure(drop_rate=1.0, drop_after_accept=True)
    with pytest.raises(ChannelError) as excinfo:
        backend.send(message(reference="QRSTUVWXYZ23"))
    assert excinfo.value.ambiguous
    fake.configure(drop_rate=0.0)
    assert backend.lookup(message(reference="QRSTUVWXYZ23")).startswith("SM")
    assert backend.lookup(message(reference="QRSTUVWXYZ24")) is None


def test_wrong_credentials_are_a_refusal_of_our_account_not_the_recipients_fault(fake):
    """A 401 (or 403: a suspended account) answers every text alike: taken as one
    text's transient error, each would use up its attempts and fall back."""
    wrong = TwilioBackend(
        "primary",
        api_base_url=fake.base_url,
        account_sid=SID,
        auth_token="wrong",
        from_number="+61400000000",
    )
    with pytest.raises(ChannelError) as sent:
        wrong.send(message())
    with pytest.raises(ChannelError) as looked_up:
        wrong.lookup(message())
    for refused in (sent.value, looked_up.value):
        assert refused.account and "401" in str(refused)
        assert not refused.permanent and not refused.ambiguous


def test_nothing_listening_is_a_transient_connection_failure():
    backend = TwilioBackend(
        "primary", api_base_url="http://127.0.0.1:9", account_sid=SID, auth_token=TOKEN, timeout=1
    )
    with pytest.raises(ChannelError) as excinfo:
        backend.send(message())
    assert not excinfo.value.permanent and not excinfo.value.ambiguous

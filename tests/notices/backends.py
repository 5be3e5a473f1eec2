"""A scripted SMS backend: each number answers from a list of outcomes."""

from __future__ import annotations

from notices.channels.base import ChannelBackend, ChannelError, OutgoingMessage

# number → outcomes still to play: "ok", "transient", "permanent", "lost" (the
# provider accepts it but the answer never arrives), "timeout" (no answer, and
# the provider never took it), "429".
script: dict[str, list[str]] = {}
accepted: list[OutgoingMessage] = []
lookups: list[str] = []
# While set, a lookup fails as the provider's API would when it is down.
lookup_down = False


def reset() -> None:
    global lookup_down
    by_account.clear()
    script.clear()
    accepted.clear()
    lookups.clear()
    lookup_down = False


class ScriptedSmsBackend(ChannelBackend):
    channel = "sms"

    def send(self, message: OutgoingMessage) -> str:
        outcome = script.get(message.to, ["ok"]).pop(0) if script.get(message.to) else "ok"
        if outcome == "transient":
            raise ChannelError("HTTP 503")
        if outcome == "429":
            raise ChannelError("HTTP 429", retry_after=30)
        if outcome == "permanent":
            raise ChannelError("code 21211: invalid number", permanent=True)
        if outcome == "timeout":
            raise ChannelError("no answer: ReadTimeoutError", ambiguous=True)
        accepted.append(message)
        if outcome == "lost":
            raise ChannelError("no answer: ReadTimeoutError", ambiguous=True)
        return f"SM{len(accepted):032d}"

    def lookup(self, message: OutgoingMessage) -> str | None:
        lookups.append(message.reference)
        if lookup_down:
            raise ChannelError("HTTP 503 from the provider")
        for index, sent in enumerate(accepted, start=1):
            if sent.reference == message.reference:
                return f"SM{index:032d}"
        return None


SCRIPTED = [{"name": "primary", "backend": "tests.notices.backends.ScriptedSmsBackend"}]


class NoLookupSmsBackend(ScriptedSmsBackend):
    """A provider that cannot be asked whether it has a message."""

    def lookup(self, message: OutgoingMessage) -> str | None:
        from notices.channels.base import LookupUnsupported

        lookups.append(message.reference)
        raise LookupUnsupported("no lookup")


NO_LOOKUP = [{"name": "primary", "backend": "tests.notices.backends.NoLookupSmsBackend"}]


class DownSmsBackend(ChannelBackend):
    """A provider having an outage: every send fails, transiently."""

    channel = "sms"

    def send(self, message: OutgoingMessage) -> str:
        raise ChannelError("HTTP 503 from the provider")

    def lookup(self, message: OutgoingMessage) -> str | None:
        return None


class RefusedSmsBackend(DownSmsBackend):
    """A provider that refuses our account (a revoked token, a suspended account)."""

    path = "tests.notices.backends.RefusedSmsBackend"

    def send(self, message: OutgoingMessage) -> str:
        raise ChannelError("HTTP 401 code 20003: Authenticate", account=True)


FAILOVER = [
    {"name": "primary", "backend": "tests.notices.backends.DownSmsBackend"},
    {"name": "backup", "backend": "tests.notices.backends.ScriptedSmsBackend"},
]


REFUSED_PRIMARY = [
    {"name": "primary", "backend": "tests.notices.backends.RefusedSmsBackend"},
    {"name": "backup", "backend": "tests.notices.backends.ScriptedSmsBackend"},
]


# Two provider accounts that each know only their own messages, like two real
# providers: a lookup at one never finds what the other accepted.
by_account: dict[str, list[OutgoingMessage]] = {}


class AccountSmsBackend(ChannelBackend):
    """A provider account that accepts every text, but whose answer to the
    numbers in ``script`` (outcome "lost") never arrives."""

    channel = "sms"

    def send(self, message: OutgoingMessage) -> str:
        sent = by_account.setdefault(self.name, [])
        sent.append(message)
        if script.get(message.to) and script[message.to].pop(0) == "lost":
            raise ChannelError("no answer: ReadTimeoutError", ambiguous=True)
        return f"{self.name}-{len(sent)}"

    def lookup(self, message: OutgoingMessage) -> str | None:
        lookups.append(f"{self.name}:{message.reference}")
        for index, sent in enumerate(by_account.get(self.name, []), start=1):
            if sent.reference == message.reference:
                return f"{self.name}-{index}"
        return None


TWO_ACCOUNTS = [
    {"name": "primary", "backend": "tests.notices.backends.AccountSmsBackend"},
    {"name": "backup", "backend": "tests.notices.backends.AccountSmsBackend"},
]


class CountingEmailBackend:
    """Django's locmem email backend that counts its connections; ``failures``
    are raised by the next sends, in turn."""

    made = opened = closed = 0
    failures: list[Exception] = []

    def __new__(cls, *args, **kwargs):
        from django.core.mail.backends.locmem import EmailBackend

        class Counting(EmailBackend):
            def open(self):
                CountingEmailBackend.opened += 1
                return True

            def close(self):
                CountingEmailBackend.closed += 1

            def send_messages(self, messages):
                if CountingEmailBackend.failures:
                    raise CountingEmailBackend.failures.pop(0)
                return super().send_messages(messages)

        cls.made += 1
        return Counting(*args, **kwargs)

    @classmethod
    def reset(cls) -> None:
        cls.made = cls.opened = cls.closed = 0
        cls.failures = []

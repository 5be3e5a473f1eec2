"""The small interface every channel backend implements.

Like Django's email backends: a class chosen by a dotted-path setting, a
``locmem`` twin for tests and an outbox for the demo.
"""

from __future__ import annotations

from dataclasses import dataclass


class ChannelError(Exception):
    """A send that failed.

    ``permanent``: never retry on this channel (invalid number, hard bounce).
    ``ambiguous``: the provider may have accepted it anyway (timeout after the
    request went out, connection dropped before the answer): look it up before
    any resend. ``retry_after``: seconds the provider asked us to wait.
    ``invalid_address``: the number, address or device token itself is dead.
    ``account``: the provider refused our account or connection, not this
    message (sign-in, sender, a suspended account, no connection): every other
    message would get the same answer. Nothing was taken; the batch stops, and
    it is tried again later without counting as the recipient's attempt.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        ambiguous: bool = False,
        retry_after: float | None = None,
        invalid_address: bool = False,
        account: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.ambiguous = ambiguous
        self.retry_after = retry_after
        self.invalid_address = invalid_address
        self.account = account


class LookupUnsupported(Exception):
    """The provider cannot be asked whether it has a message."""


@dataclass(frozen=True)
class OutgoingMessage:
    reference: str
    to: str
    body: str
    subject: str = ""
    language: str = "en"
    # Where the provider reports delivery; empty when it cannot.
    callback_url: str = ""


class ChannelBackend:
    """One provider account for one channel."""

    channel: str = ""
    # Whether several threads may call send() at once.
    thread_safe: bool = True

    def __init__(self, name: str = "default", **options) -> None:
        self.name = name
        self.options = options

    def send(self, message: OutgoingMessage) -> str:
        """Hand one message to the provider; return the provider's id for it."""
        raise NotImplementedError

    def lookup(self, message: OutgoingMessage) -> str | None:
        """The provider's id of a message with this reference that it already has,
        or None. Raises LookupUnsupported when the provider cannot be asked."""
        raise LookupUnsupported

    def end_batch(self) -> None:
        """Release what was held for one batch's sends (the email channel's
        connections); a provider's shared connection pool stays open."""

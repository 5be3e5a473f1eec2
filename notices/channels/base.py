"""The small interface every channel backend implements.

Like Django's email backends: a class chosen by a dotted-path setting, a
``locmem`` twin for tests and an outbox for the demo.
"""

from __future__ import annotations

from dataclasses import dataclass


class ChannelError(Exception):
    """A send that failed. ``permanent`` failures are never retried on this channel."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class OutgoingMessage:
    reference: str
    to: str
    body: str
    subject: str = ""
    language: str = "en"


class ChannelBackend:
    channel: str = ""

    def send(self, message: OutgoingMessage) -> str:
        """Hand one message to the provider; return the provider's id for it."""
        raise NotImplementedError

    def lookup(self, message: OutgoingMessage) -> str | None:
        """The provider's id of a message we may have sent already, found by its
        reference; None when the provider has no such message."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called when a worker is done with the backend."""

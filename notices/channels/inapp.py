"""In-app: the message is the delivery row itself, shown on the customer's
Messages page (and in the app); handing it over needs no provider."""

from __future__ import annotations

from notices.channels.base import ChannelBackend, OutgoingMessage


class InAppChannel(ChannelBackend):
    channel = "inapp"

    def send(self, message: OutgoingMessage) -> str:
        return f"inapp-{message.reference}"

    def lookup(self, message: OutgoingMessage) -> str | None:
        return f"inapp-{message.reference}"

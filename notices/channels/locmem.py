"""In-memory channel backends for tests, like Django's locmem email backend."""

from __future__ import annotations

import threading

from notices.channels.base import ChannelBackend, ChannelError, OutgoingMessage

# Every message "sent" in this process; tests clear it.
outbox: list[OutgoingMessage] = []
# Numbers that fail permanently, like an invalid number at a real provider.
invalid_numbers: set[str] = set()
_lock = threading.Lock()


class SmsBackend(ChannelBackend):
    channel = "sms"

    def send(self, message: OutgoingMessage) -> str:
        if message.to in invalid_numbers:
            raise ChannelError("invalid number", permanent=True)
        with _lock:
            outbox.append(message)
            return f"locmem-{len(outbox)}"

    def lookup(self, message: OutgoingMessage) -> str | None:
        with _lock:
            for index, sent in enumerate(outbox, start=1):
                if sent.reference == message.reference:
                    return f"locmem-{index}"
        return None


class PushBackend(SmsBackend):
    channel = "push"

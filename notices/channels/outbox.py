"""Outbox channels for ``make run``: messages land in a staff-only Outbox page."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from notices.channels.base import ChannelBackend, OutgoingMessage
from notices.models import OutboxMessage

REFERENCE_HEADER = "X-Firsthand-Reference"


class SmsBackend(ChannelBackend):
    channel = "sms"

    def send(self, message: OutgoingMessage) -> str:
        row = OutboxMessage.objects.create(
            channel=self.channel, to=message.to, body=message.body, reference=message.reference
        )
        return f"outbox-{row.pk}"

    def lookup(self, message: OutgoingMessage) -> str | None:
        row = OutboxMessage.objects.filter(
            channel=self.channel, reference=message.reference
        ).first()
        return f"outbox-{row.pk}" if row else None


class PushBackend(SmsBackend):
    channel = "push"


class EmailBackend(BaseEmailBackend):
    """A Django email backend that writes each email into the outbox."""

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        rows = [
            OutboxMessage(
                channel="email",
                to=", ".join(message.to),
                subject=message.subject,
                body=message.body,
                reference=message.extra_headers.get(REFERENCE_HEADER, ""),
            )
            for message in email_messages
        ]
        OutboxMessage.objects.bulk_create(rows)
        return len(rows)

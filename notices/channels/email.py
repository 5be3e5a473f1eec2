"""Email through Django's email framework, so any EMAIL_BACKEND works:
SMTP, an ESP through django-anymail, the demo outbox or locmem in tests."""

from __future__ import annotations

import contextlib
import smtplib
from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage

from notices.channels.base import ChannelBackend, ChannelError, LookupUnsupported, OutgoingMessage
from notices.channels.outbox import REFERENCE_HEADER
from notices.models import OutboxMessage

try:  # django-anymail's errors, when an ESP is in use
    from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
except ImportError:  # pragma: no cover - anymail is a dependency
    AnymailAPIError = AnymailRecipientsRefused = ()  # type: ignore[misc,assignment]


class EmailChannel(ChannelBackend):
    channel = "email"
    # One SMTP connection cannot be shared between threads.
    thread_safe = False

    def __init__(self, name: str = "default", **options) -> None:
        super().__init__(name, **options)
        # One connection for every message of a batch: Django's email opens and
        # closes one per message otherwise, a TCP and TLS handshake each time
        # (SMTP) or a new HTTP session (an ESP through anymail).
        self._connection = None

    def _opened(self):
        if self._connection is None:
            connection = mail.get_connection()
            connection.open()
            self._connection = connection
        return self._connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # A connection already broken has nothing left to release.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.close()

    def send(self, message: OutgoingMessage) -> str:
        domain = urlsplit(settings.PORTAL_BASE_URL).hostname or "localhost"
        message_id = make_msgid(idstring=message.reference, domain=domain)
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={REFERENCE_HEADER: message.reference, "Message-ID": message_id},
        )
        # ESPs (anymail) carry metadata into their delivery webhooks.
        email.metadata = {"reference": message.reference}  # type: ignore[attr-defined]
        try:
            email.connection = self._opened()
            email.send()
        except (smtplib.SMTPRecipientsRefused, AnymailRecipientsRefused) as exc:
            raise ChannelError(
                f"recipient refused: {exc.__class__.__name__}", permanent=True
            ) from exc
        except (smtplib.SMTPServerDisconnected, TimeoutError) as exc:
            self.close()  # the next message opens a fresh connection
            raise ChannelError(f"no answer: {exc.__class__.__name__}", ambiguous=True) from exc
        except (smtplib.SMTPException, OSError, AnymailAPIError) as exc:
            self.close()
            raise ChannelError(f"send failed: {exc.__class__.__name__}") from exc
        status = getattr(email, "anymail_status", None)
        if status is not None:
            if status.status and status.status <= {"rejected", "invalid"}:
                raise ChannelError(f"rejected by the provider: {status.status}", permanent=True)
            return status.message_id or message_id
        return message_id

    def lookup(self, message: OutgoingMessage) -> str | None:
        backend = settings.EMAIL_BACKEND
        if backend == "notices.channels.outbox.EmailBackend":
            row = OutboxMessage.objects.filter(channel="email", reference=message.reference).first()
            return f"outbox-{row.pk}" if row else None
        if backend == "django.core.mail.backends.locmem.EmailBackend":
            for sent in getattr(mail, "outbox", []):
                if sent.extra_headers.get(REFERENCE_HEADER) == message.reference:
                    return sent.extra_headers.get("Message-ID", message.reference)
            return None
        raise LookupUnsupported(backend)

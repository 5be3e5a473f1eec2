"""Email through Django's email framework, so any EMAIL_BACKEND works:
SMTP, an ESP through django-anymail, the demo outbox or locmem in tests."""

from __future__ import annotations

import contextlib
import re
import smtplib
import threading
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


# Email backends that talk to a server: each sending thread gets its own
# connection, so a batch's emails go out in parallel as text messages do. The
# others (the demo outbox, locmem in tests) write in this process, in order.
NETWORK_BACKENDS = ("django.core.mail.backends.smtp.", "anymail.")


class EmailChannel(ChannelBackend):
    channel = "email"

    def __init__(self, name: str = "default", **options) -> None:
        super().__init__(name, **options)
        # One connection per thread for every message of a batch: Django's email
        # opens and closes one per message otherwise, a TCP and TLS handshake
        # each time (SMTP) or a new HTTP session (an ESP through anymail). An
        # SMTP connection cannot be shared between threads.
        self._local = threading.local()
        self._connections: list = []
        self._connections_lock = threading.Lock()

    @property
    def thread_safe(self) -> bool:
        return settings.EMAIL_BACKEND.startswith(NETWORK_BACKENDS)

    def _opened(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = mail.get_connection()
            try:
                connection.open()
            except BaseException:
                _close(connection)  # a socket opened before the sign-in failed
                raise
            _watch_data(connection, self._local)
            self._local.connection = connection
            self._local.sent = 0
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def _drop(self) -> None:
        """Close this thread's connection: the next message opens a fresh one."""
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._connections_lock:
                self._connections.remove(connection)
            _close(connection)

    def end_batch(self) -> None:
        """Every thread's connection, once the batch's sends have all returned."""
        with self._connections_lock:
            connections, self._connections = self._connections, []
        self._local = threading.local()
        for connection in connections:
            _close(connection)

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
        self._send(email)
        status = getattr(email, "anymail_status", None)
        if status is not None:
            if status.status and status.status <= {"rejected", "invalid"}:
                raise ChannelError(f"rejected by the provider: {status.status}", permanent=True)
            return status.message_id or message_id
        return message_id

    def _send(self, email: EmailMessage) -> None:
        for last_try in (False, True):
            reused, self._local.data_started = False, False
            email.connection = self._connected()
            reused = self._local.sent > 0
            if not self._local.watched:
                self._local.data_started = None
            try:
                email.send()
            except smtplib.SMTPRecipientsRefused as exc:
                refusal = _recipient_refusal(exc)
                if refusal.account:
                    self._drop()
                raise refusal from exc
            except AnymailRecipientsRefused as exc:
                raise ChannelError(
                    f"recipient refused: {exc.__class__.__name__}", permanent=True
                ) from exc
            except smtplib.SMTPSenderRefused as exc:
                self._drop()
                # At MAIL FROM, before any recipient: the account or the sender
                # address is refused, except a message over the server's size limit.
                refusal = account_refusal(exc)
                raise refusal or ChannelError(f"refused: {_detail(exc)}", permanent=True) from exc
            except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError) as exc:
                self._drop()
                if self._local.data_started is not False:
                    # The server may have taken the message before its answer was
                    # lost (through an ESP we cannot tell): in doubt, not resent blindly.
                    raise ChannelError(
                        f"no answer: {exc.__class__.__name__}", ambiguous=True
                    ) from exc
                if reused and not last_try:
                    # A kept connection the server has since closed (idle, or its
                    # limit of messages a connection): nothing was taken, send again.
                    continue
                raise ChannelError(f"send failed: {exc.__class__.__name__}") from exc
            except smtplib.SMTPDataError as exc:
                self._drop()
                if refusal := account_refusal(exc):
                    raise refusal from exc
                # 5xx: the server refuses this message for good (its content, its
                # recipient); 4xx: it asks us to try again later.
                raise ChannelError(
                    f"refused: {exc.smtp_code} {exc.__class__.__name__}",
                    permanent=500 <= exc.smtp_code < 600,
                ) from exc
            except (smtplib.SMTPException, OSError, AnymailAPIError) as exc:
                self._drop()
                if refusal := account_refusal(exc):  # an ESP's API refusing our key, say
                    raise refusal from exc
                raise ChannelError(f"send failed: {exc.__class__.__name__}") from exc
            self._local.sent += 1
            return

    def _connected(self):
        """This thread's connection, opened if need be. Failing to connect or
        to sign in is about the account or the server, not a recipient."""
        try:
            return self._opened()
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"cannot connect or sign in: {_detail(exc)}", account=True) from exc

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


# An SMTP answer's enhanced status code (RFC 3463), e.g. "5.7.8".
_ENHANCED_STATUS = re.compile(rb"^[245]\.\d{1,3}\.\d{1,3}\b")
# Enhanced codes of a refusal of the account, not of the message: authentication
# required, invalid or too weak (7.8, 7.9, 7.11), account disabled (7.13), trust
# relationship required (7.14); Microsoft 365's client not authenticated (7.57),
# send-as denied (7.60) and tenant or IP blocked (7.708, 7.750).
_ACCOUNT_STATUSES = {"7.8", "7.9", "7.11", "7.13", "7.14", "7.57", "7.60", "7.708", "7.750"}
# The words of providers that answer a suspended, unverified or over-quota
# account at the data, with no such code (SES: "Sending suspended for this
# account", "Email address is not verified"; SendGrid: "verified Sender Identity").
_ACCOUNT_WORDS = re.compile(
    rb"suspend|authenticat|sending paused|not verified|sender identity|quota exceeded"
    rb"|sending (?:rate|limit|quota)|throttl",
    re.IGNORECASE,
)


# A server's answer to RCPT TO that it will not relay for us (we are not signed
# in, or not allowed to send through it): Postfix's "554 5.7.1 <…>: Relay access
# denied", Sendmail's "550 5.7.1 <…>... Relaying denied", Exchange's "550 5.7.1
# Unable to relay", Microsoft 365's "550 5.7.64 TenantAttribution; Relay Access Denied".
_RELAY_DENIED = re.compile(
    rb"\brelay(?:ing)?\b[^.;]{0,30}?\b(?:denied|not (?:permitted|allowed)|prohibited|refused)"
    rb"|\bunable to relay|\bnot (?:permitted|allowed|authorized) to relay",
    re.IGNORECASE,
)
# An address in a server's answer: not kept in a delivery's error.
_ADDRESS = re.compile(rb"<[^<>]*>")


def _enhanced_status(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error).encode()
    return _status_in(error)


def _status_in(answer: bytes) -> str:
    match = _ENHANCED_STATUS.match(answer.lstrip())
    return match.group().decode() if match else ""


def _recipient_refusal(exc: smtplib.SMTPRecipientsRefused) -> ChannelError:
    """The error for a refused RCPT TO (a message has one recipient).

    A refusal to relay for us, or an account-level code, is about our account:
    every recipient would get it. A 4xx (greylisting, a mailbox busy, too many
    recipients for now) asks for a retry. Any other 5xx refuses this recipient
    for good (X.1.* unknown user or address, X.2.* mailbox disabled)."""
    code, answer = next(iter(exc.recipients.values()), (550, b""))
    answer = answer if isinstance(answer, bytes) else str(answer).encode()
    text = _ADDRESS.sub(b"<...>", answer).decode(errors="replace")
    detail = f"{code} {' '.join(text.split())[:200]} ({exc.__class__.__name__})"
    status = _status_in(answer)
    if status[2:4] not in {"1.", "2."} and (
        _RELAY_DENIED.search(answer) or status[2:] in _ACCOUNT_STATUSES
    ):
        return ChannelError(f"relaying refused for our account: {detail}", account=True)
    if 400 <= code < 500:
        return ChannelError(f"recipient deferred: {detail}")
    return ChannelError(f"recipient refused: {detail}", permanent=True)


def _about_the_account(exc: smtplib.SMTPResponseException) -> bool:
    """Whether a refusal of a message's data is about our account rather than
    the message: then every message would get it, and failing each for good
    would fail a whole campaign. A code about the address or the mailbox
    (X.1.*, X.2.*) is the recipient's."""
    status = _enhanced_status(exc)
    if status[2:4] in {"1.", "2."}:
        return False
    if status[2:] in _ACCOUNT_STATUSES:
        return True
    error = exc.smtp_error if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error).encode()
    return bool(_ACCOUNT_WORDS.search(error))


def account_refusal(exc: BaseException) -> ChannelError | None:
    """The exception as ``ChannelError(account=True)`` when it refuses our
    account or server rather than the message; else None. ``EmailChannel.send``
    and the emails sent outside it (codes, through Django's
    ``EmailMessage.send()``) tell them apart alike."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refusal = _recipient_refusal(exc)
        return refusal if refusal.account else None
    if isinstance(exc, smtplib.SMTPSenderRefused):
        if exc.smtp_code == 552 or _enhanced_status(exc)[1:] == ".3.4":
            return None  # the message's size
        return ChannelError(f"sender refused: {_detail(exc)}", account=True)
    if isinstance(exc, smtplib.SMTPDataError):
        if _about_the_account(exc):
            return ChannelError(f"account refused: {_detail(exc)}", account=True)
        return None
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPConnectError):
        return ChannelError(f"cannot connect or sign in: {_detail(exc)}", account=True)
    if isinstance(exc, ConnectionRefusedError):  # nothing listens: nothing was sent
        return ChannelError(f"cannot connect: {_detail(exc)}", account=True)
    status = getattr(exc, "status_code", None)
    if isinstance(exc, AnymailAPIError) and status in (401, 403):
        return ChannelError(
            f"account refused: HTTP {status} ({exc.__class__.__name__})", account=True
        )
    return None


def _detail(exc: Exception) -> str:
    """The error and, for an SMTP answer, its code and text, for staff to act on."""
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        return f"{exc.smtp_code} {' '.join(text.split())[:200]} ({exc.__class__.__name__})"
    return exc.__class__.__name__


def _watch_data(connection, local: threading.local) -> None:
    """On an SMTP connection, note when a message's data starts to go out: a
    connection lost before that point leaves nothing with the server. Through
    any other backend, it cannot be told."""
    smtp = getattr(connection, "connection", None)
    local.watched = isinstance(smtp, smtplib.SMTP)
    if not local.watched:
        return
    data = smtp.data

    def watched(msg):
        local.data_started = True
        return data(msg)

    smtp.data = watched


def _close(connection) -> None:
    # A connection already broken has nothing left to release.
    with contextlib.suppress(smtplib.SMTPException, OSError):
        connection.close()

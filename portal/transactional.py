"""References on transactional messages: sign-in codes, claim codes, contact codes.

Every message we send carries a reference that "Is this message from us?"
(/verify) can vouch for, campaign or not. A transactional message draws its
reference where it is written, prints it with the address of that page, and
the worker that sends it records it first (record before send) and marks it
sent once the provider took it.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from customers.masking import mask_email
from portal.codes import format_code, random_code
from portal.models import TransactionalMessage

REFERENCE_LENGTH = 12  # as notices.references: one alphabet, one length


def message_reference_new() -> str:
    return random_code(REFERENCE_LENGTH)


def printed_reference(reference: str) -> str:
    return format_code(reference)


def verify_url() -> str:
    return f"{settings.PORTAL_BASE_URL}/verify"


def verify_hint(channel: str, to: str) -> str:
    """What /verify shows of the recipient: a phone's last two digits, a masked email."""
    if channel == "sms":
        return to[-2:]
    if channel == "email":
        return mask_email(to)
    return ""


def transactional_message_record(*, reference: str, channel: str, to: str) -> datetime:
    """Before sending; a retried send finds its row already there. Returns when
    it was first recorded."""
    message, _created = TransactionalMessage.objects.get_or_create(
        reference=reference, defaults={"channel": channel, "to_hint": verify_hint(channel, to)}
    )
    return message.created_at


def transactional_message_sent(*, reference: str) -> None:
    TransactionalMessage.objects.filter(reference=reference, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )

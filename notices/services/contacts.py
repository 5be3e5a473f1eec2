"""How we reach a customer: new contact details confirmed by code, app devices."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.normalise import normalise_email, normalise_phone
from customers.services import login_in_the_way, login_retire
from notices.models import ContactVerification, Device
from portal.transactional import message_reference_new

CODE_SECONDS = 600
MAX_ATTEMPTS = 5


def _code_hash(verification_id: str, code: str) -> str:
    return salted_hmac("contact-verification", f"{verification_id}:{code}").hexdigest()


def contact_change_start(*, customer: Customer, kind: str, value: str) -> ContactVerification:
    """Send a code to a new email or phone; it changes only once the code comes back."""
    if kind == ContactVerification.Kind.EMAIL:
        value = normalise_email(value)
        current = customer.email
    elif kind == ContactVerification.Kind.PHONE:
        value = normalise_phone(value)
        current = customer.phone
    else:
        raise ValidationError(_("Choose email or phone."))
    if not value:
        raise ValidationError(_("Enter the new email address or phone number."))
    if value == current:
        raise ValidationError(_("That email address or phone number is already on your record."))
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        # A new request replaces any earlier one for the same kind.
        ContactVerification.objects.filter(
            customer=customer, kind=kind, confirmed_at__isnull=True
        ).delete()
        verification = ContactVerification(
            customer=customer,
            kind=kind,
            value=value,
            expires_at=timezone.now() + timedelta(seconds=CODE_SECONDS),
        )
        verification.code_hash = _code_hash(str(verification.public_id), code)
        verification.save()
        transaction.on_commit(lambda: _send_code(verification, code))
    return verification


def _send_code(verification: ContactVerification, code: str) -> None:
    from notices import tasks

    # Drawn once, so that a retried send prints and records the same reference.
    tasks.send_contact_code.delay(verification.pk, code, message_reference_new())


def contact_change_confirm(*, customer: Customer, verification_id, code: str) -> Customer:
    """Check the code (a few attempts, a few minutes); then the new contact is the
    customer's, verified, and the login's email follows an email change."""
    try:
        verification = ContactVerification.objects.get(
            public_id=verification_id, customer=customer, confirmed_at__isnull=True
        )
    except (ContactVerification.DoesNotExist, ValidationError, ValueError):
        raise Http404 from None
    wrong = _("That code is not right or has expired. Ask for a new one.")
    # Every try is counted, in the database, before its code is checked: guesses
    # sent at once cannot all read the same count and get past the limit together.
    counted = ContactVerification.objects.filter(
        pk=verification.pk, attempts__lt=MAX_ATTEMPTS, expires_at__gte=timezone.now()
    ).update(attempts=F("attempts") + 1)
    if not counted:
        raise ValidationError(wrong)
    expected = _code_hash(str(verification.public_id), (code or "").strip())
    if not hmac.compare_digest(expected, verification.code_hash):
        raise ValidationError(wrong)
    try:
        return _contact_change_apply(customer, verification)
    except (_EmailTaken, IntegrityError):  # IntegrityError: another login took it since
        # Said only now that the code proved they read that inbox: no one learns
        # from it which addresses have a login.
        raise ValidationError(
            _("That email address is already used by another login: choose another.")
        ) from None


class _EmailTaken(Exception):
    pass


def _contact_change_apply(customer: Customer, verification: ContactVerification) -> Customer:
    now = timezone.now()
    kind = verification.kind
    old = customer.email if kind == ContactVerification.Kind.EMAIL else customer.phone
    with transaction.atomic():
        verification.confirmed_at = now
        verification.save(update_fields=["confirmed_at"])
        if verification.kind == ContactVerification.Kind.EMAIL:
            customer.email, customer.email_verified = verification.value, True
            customer.email_from_support = False
            fields = ["email", "email_verified", "email_from_support"]
            if customer.user_id:
                _free_for_the_login(customer, verification.value)
                _move_login_email(customer, verification.value)
        else:
            customer.phone, customer.phone_verified = verification.value, True
            fields = ["phone", "phone_verified"]
        customer.updated_at = now
        customer.save(update_fields=[*fields, "updated_at"])
        if old:
            transaction.on_commit(lambda: _tell_the_old_contact(customer, kind, old))
    return customer


def _tell_the_old_contact(customer: Customer, kind: str, old: str) -> None:
    from notices import tasks

    tasks.send_contact_changed.delay(customer.pk, kind, old, message_reference_new())


def _free_for_the_login(customer: Customer, email: str) -> None:
    """Another login with the email would be a second login's address (a unique
    one): an IntegrityError, and a 500. One an erased record left behind gives
    way (retired). Both columns are matched exactly through their indexes."""
    in_the_way = login_in_the_way(email, besides=customer.user_id)
    if in_the_way is True or (in_the_way and not login_retire(in_the_way, email)):
        raise _EmailTaken


def _move_login_email(customer: Customer, email: str) -> None:
    user = customer.user
    EmailAddress.objects.filter(user=user).delete()
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    user.email = email
    user.save(update_fields=["email"])


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user_session(user, session_key: str | None):
    """allauth's record of the signed-in session ``session_key``, if it keeps one."""
    from allauth.usersessions.models import UserSession

    if not session_key:
        return None
    return UserSession.objects.filter(user=user, session_key=session_key).first()


def device_register(*, user, token: str, platform: str, session_key: str | None = None) -> Device:
    """Register (or re-register) an app install for push, for as long as the
    session registering it lasts; a token that moved to another login follows it."""
    device, _created = Device.objects.update_or_create(
        token_hash=token_hash(token),
        defaults={
            "user": user,
            "token": token,
            "platform": platform,
            "active": True,
            "user_session": _user_session(user, session_key),
        },
    )
    return device


def device_refresh(*, user, public_id, token: str, session_key: str | None = None) -> Device:
    device = _own_device(user, public_id)
    Device.objects.filter(token_hash=token_hash(token)).exclude(pk=device.pk).delete()
    device.token, device.token_hash, device.active = token, token_hash(token), True
    device.user_session = _user_session(user, session_key)
    device.save(update_fields=["token", "token_hash", "active", "user_session", "updated_at"])
    return device


def device_remove(*, user, public_id) -> None:
    _own_device(user, public_id).delete()


def devices_deactivate(*, tokens: list[str]) -> int:
    """The push provider says these tokens are dead (app uninstalled)."""
    return Device.objects.filter(token_hash__in=[token_hash(t) for t in tokens]).update(
        active=False, updated_at=timezone.now()
    )


def _own_device(user, public_id) -> Device:
    try:
        return Device.objects.get(public_id=public_id, user=user)
    except (Device.DoesNotExist, ValidationError, ValueError):
        raise Http404 from None

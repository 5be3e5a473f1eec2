"""Account claim: a customer without a (working) login claims their record.

A claim code (from a letter, a text or a support agent) with the customer
reference and the date of birth proves who someone is; they then add an email,
prove it with a short code sent there, and get a login. Codes are random (60
bits), stored as keyed hashes, expire, work once and lock after a few wrong
tries. Tries are also limited per address and per customer reference.

Every failure gives the same answer after the same work (the same queries
whether or not the reference, the code or the date match) and is held to a
minimum duration, so neither words nor timing tell what was wrong.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import date, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited

from customers.hashing import birth_date_hash, claim_code_hash, keyed_hash
from customers.importers.spec import normalise_ref
from customers.models import ClaimCode, Customer, User
from customers.services import (
    login_in_the_way,
    login_retire,
    login_username_for,
)
from portal.codes import format_code, normalise_code, random_code
from portal.ratelimits import limited

CODE_LENGTH = 12
EMAIL_CODE_SECONDS = 900
EMAIL_CODE_TRIES = 3


class ClaimLimited(Exception):
    """Too many tries from this address or for this customer reference."""


def failure_message() -> str:
    return _(
        "These details do not match a claim code we issued, or the code has expired or "
        "been used. Check them and try again, or call us."
    )


# --- issuing -----------------------------------------------------------------


def claim_code_issue(*, customer: Customer, via: str, by=None) -> str:
    """A new code for ``customer`` (earlier active ones are withdrawn); returns it
    formatted. It is shown or sent once and never stored."""
    code = random_code(CODE_LENGTH)
    now = timezone.now()
    with transaction.atomic():
        _withdraw_active(customer, now)
        ClaimCode.objects.create(
            customer=customer,
            code_hash=claim_code_hash(code),
            via=via,
            issued_by=by if getattr(by, "is_authenticated", False) else None,
            expires_at=now + timedelta(days=settings.CLAIM_CODE_DAYS[via]),
        )
    return format_code(code)


def claim_codes_issue_for_letters(customers: QuerySet, *, batch_size: int = 5000):
    """Codes for a mail merge, in batches: yields (customer_ref, formatted code).

    Earlier active codes of these customers are withdrawn batch by batch.
    """
    expires = timezone.now() + timedelta(days=settings.CLAIM_CODE_DAYS["letter"])
    last_id = 0
    while True:
        batch = list(
            customers.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "customer_ref")[:batch_size]
        )
        if not batch:
            return
        last_id = batch[-1][0]
        codes = [(pk, ref, random_code(CODE_LENGTH)) for pk, ref in batch]
        now = timezone.now()
        with transaction.atomic():
            ClaimCode.objects.filter(
                customer_id__in=[pk for pk, _ref in batch],
                used_at__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=now,
            ).update(revoked_at=now)
            ClaimCode.objects.bulk_create(
                ClaimCode(
                    customer_id=pk,
                    code_hash=claim_code_hash(code),
                    via=ClaimCode.Via.LETTER,
                    expires_at=expires,
                )
                for pk, _ref, code in codes
            )
        for _pk, ref, code in codes:
            yield ref, format_code(code)


def _withdraw_active(customer: Customer, now) -> None:
    ClaimCode.objects.filter(
        customer=customer, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(revoked_at=now)


# --- checking ----------------------------------------------------------------


def _over_limits(request: HttpRequest, ref: str) -> bool:
    per_customer = is_ratelimited(
        request,
        group="claim:customer",
        key=lambda _g, _r: keyed_hash("claim_ref", ref),
        rate=settings.CLAIM_RATE_PER_CUSTOMER,
        increment=True,
    )
    per_ip = limited(
        request, "claim", per_ip=settings.CLAIM_RATE_PER_IP, overall=settings.CLAIM_RATE_GLOBAL
    )
    return per_customer or per_ip


def _hold(started: float) -> None:
    """Every failure lasts at least CLAIM_FAILURE_SECONDS."""
    remaining = settings.CLAIM_FAILURE_SECONDS - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)


def claim_check(
    *, request: HttpRequest, customer_ref: str, birth_date: date | None, code: str
) -> ClaimCode | None:
    """The matching active claim code, or None. Raises ClaimLimited when over a limit.

    Counts every try against the address and the reference; a wrong try with
    a real code also counts against that code.
    """
    started = time.monotonic()
    ref = normalise_ref(customer_ref or "")
    if _over_limits(request, ref):
        _hold(started)
        raise ClaimLimited
    compact = normalise_code(code, CODE_LENGTH) or ""
    code_hash = claim_code_hash(compact)
    dob_hash = birth_date_hash(birth_date.isoformat() if birth_date else "")
    # The same two indexed queries whatever is right or wrong.
    customer = Customer.objects.filter(customer_ref=ref).only("pk", "birth_date_hash").first()
    claim = ClaimCode.objects.filter(code_hash=code_hash).first()
    now = timezone.now()
    ok = (
        customer is not None
        and claim is not None
        and bool(compact)
        and claim.customer_id == customer.pk
        and claim.state(now) == "active"
        and bool(customer.birth_date_hash)
        and hmac.compare_digest(customer.birth_date_hash, dob_hash)
    )
    if ok:
        return claim
    ClaimCode.objects.filter(code_hash=code_hash).update(failed_attempts=F("failed_attempts") + 1)
    _hold(started)
    return None


# --- completing: a login with a proven email ------------------------------------


@dataclass
class PendingClaim:
    """What the browser session holds between the claim and the email code."""

    claim_id: int
    email: str
    code_hash: str
    expires: float
    tries: int = 0

    @classmethod
    def start(cls, claim: ClaimCode, email: str) -> tuple[PendingClaim, str]:
        code = f"{secrets.randbelow(10**6):06d}"
        pending = cls(
            claim_id=claim.pk,
            email=email,
            code_hash=keyed_hash("claim_email", f"{claim.pk}:{email}:{code}"),
            expires=time.time() + EMAIL_CODE_SECONDS,
        )
        return pending, code

    def matches(self, code: str) -> bool:
        expected = keyed_hash("claim_email", f"{self.claim_id}:{self.email}:{code.strip()}")
        return time.time() < self.expires and hmac.compare_digest(expected, self.code_hash)


def email_available_for(customer: Customer, email: str) -> bool:
    """An email can be the login of one person only (login_in_the_way); one an
    erased record left behind is retired when the claim completes."""
    return login_in_the_way(email, besides=customer.user_id) is not True


def claim_complete(*, claim_id: int, email: str) -> User:
    """Use the claim code, give the customer a login with this (proven) email."""
    now = timezone.now()
    with transaction.atomic():
        claim = ClaimCode.objects.select_for_update().select_related("customer").get(pk=claim_id)
        if claim.state(now) != "active":
            raise ValidationError(failure_message())
        customer = Customer.objects.select_for_update().get(pk=claim.customer_id)
        in_the_way = login_in_the_way(email, besides=customer.user_id)
        if in_the_way is True or (in_the_way and not login_retire(in_the_way, email)):
            raise ValidationError(
                _("That email address is already used by another login: choose another.")
            )
        claim.used_at = now
        claim.save(update_fields=["used_at"])
        _withdraw_active(customer, now)
        user = customer.user
        if user is None:
            user = User(
                username=login_username_for(customer),
                first_name=customer.first_name,
                last_name=customer.last_name,
            )
            user.set_unusable_password()
        user.email = email
        user.save()
        EmailAddress.objects.filter(user=user).delete()
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        customer.user = user
        customer.email, customer.email_verified = email, True
        customer.email_from_support = False
        customer.updated_at = now
        customer.save(
            update_fields=["user", "email", "email_verified", "email_from_support", "updated_at"]
        )
    return user

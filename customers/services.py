"""Operations that write customer data."""

from __future__ import annotations

import logging
import secrets
from contextlib import nullcontext

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from customers.models import Customer, Incident, Step, StepProgress, User
from portal import generations
from portal.audit import audit
from portal.models import AuditAction

logger = logging.getLogger(__name__)


def customer_login_ensure(*, email: str) -> User | None:
    """The login a sign-in code for this email may sign in, made if need be.

    Only people in our customer records get a login: the first time someone
    asks for a sign-in code for an email on record, an (unverified, password-
    less) login is created and linked to that customer. Proving the email by
    code verifies it. An email a support agent entered does not count until the
    customer proves it (customers.claims).

    One login per email. A login that already uses the email (as its own field
    or as its allauth address) is never doubled, and it answers for the email
    only when that is unambiguous: its own record has the email, or no other
    record does (a record that moved on to another address after a correction
    keeps its sign-in email). Otherwise, as for an email not ours, None: the
    reader of a shared or reassigned inbox is not signed in to someone else's
    login, nor to a staff one, and the answer they see is the same either way.
    The one exception is a login an erased record left behind, when a record
    is waiting for a login with the email (_past_a_login_left_behind).
    """
    email = (email or "").strip().lower()
    if not email:
        return None
    if connection.vendor == "postgresql":
        return _login_ensure_in_one_statement(email)
    owners = _owners(email)
    if owners:
        return _owner_if_unambiguous(email, owners) or _past_a_login_left_behind(email, owners)
    return _login_create(email)


def logins_with_email(email: str) -> QuerySet[User]:
    """The logins that use this email, as their own field or as their allauth
    address (allauth finds a login by either); enough of them to tell one from
    several. Each column is read through its own index: one query with an OR
    across the join read every login and every address (a quarter of a second
    at 300,000 logins), for every sign-in asked for an email not on record."""
    ids = set(User.objects.filter(email=email).values_list("pk", flat=True)[:2])
    ids |= set(EmailAddress.objects.filter(email=email).values_list("user_id", flat=True)[:2])
    return User.objects.filter(pk__in=ids) if ids else User.objects.none()


def _owners(email: str) -> list[User]:
    """The logins that use this email; two at most."""
    return list(logins_with_email(email).order_by("pk")[:2])


def _owner_if_unambiguous(email: str, owners: list[User]) -> User | None:
    if len(owners) != 1 or not owners[0].is_active:
        return None
    owner = owners[0]
    records = Customer.objects.filter(email=email)
    if records.filter(user=owner).exists():
        return owner
    if records.filter(email_from_support=False).exclude(user=owner).exists():
        return None
    return owner


def _past_a_login_left_behind(email: str, owners: list[User]) -> User | None:
    """A new login for the record waiting for one with this email, when the one
    login using the email is one an erased record left behind (login_left_behind).
    That login is retired, not linked to the waiting record: its password, its
    sessions and its app installs were the earlier record's holder's, who may no
    longer read the inbox. Never when no record waits (the login still signs in
    then, as before). Off the hot paths: only when the email's one login
    answered None."""
    owner = login_left_behind(email, owners)
    if owner is None:
        return None
    waiting = Customer.objects.filter(email=email, user__isnull=True, email_from_support=False)
    if not waiting.exists():
        return None  # it still signs in, as before
    if not login_retire(owner, email):
        return _login_for(email)  # a concurrent request's work, or not ours
    return _login_create(email)


def login_left_behind(email: str, owners: list[User] | None = None) -> User | None:
    """The one login using ``email``, when it is linked to no record at all (its
    record was erased, and perhaps imported again as a new one) and is nothing
    else: not staff, no role or permission of its own, active, and no other
    address (its own field or allauth's). Whoever proves the email next, for a
    record (a sign-in by code, a claim, a change of contact), may have the
    address; that login is then retired (login_retire), never handed over."""
    owners = _owners(email) if owners is None else owners
    if len(owners) != 1:
        return None
    owner = owners[0]
    if not owner.is_active or owner.is_staff or owner.is_superuser or owner.email != email:
        return None
    if Customer.objects.filter(user=owner).exists():
        return None  # another record's login: never handed over
    if EmailAddress.objects.filter(user=owner).exclude(email=email).exists():
        return None  # a login of two addresses, not plainly this email's
    if owner.groups.exists() or owner.user_permissions.exists():
        return None
    return owner


def login_in_the_way(email: str, *, besides: int | None) -> User | bool | None:
    """What stands between a record's login (``besides``, if it has one) and
    ``email`` (proven): None when no other login has it, as its own field or as
    its allauth address; the login an erased record left behind, when that is
    the only one (to retire with login_retire); True for any other login."""
    others = list(logins_with_email(email).exclude(pk=besides).order_by("pk")[:2])
    if not others:
        return None
    return login_left_behind(email, others) or True


def login_retire(owner: User, email: str) -> bool:
    """Disable a login login_left_behind found, and free its address: its
    password and sessions stop working. Conditional, so that a login linked or
    given a role since is left alone; returns whether it was retired."""
    with transaction.atomic():
        retired = User.objects.filter(
            pk=owner.pk,
            email=email,
            is_active=True,
            is_staff=False,
            is_superuser=False,
            customer__isnull=True,
            groups__isnull=True,
            user_permissions__isnull=True,
        ).update(is_active=False, email="")
        if retired:
            EmailAddress.objects.filter(user=owner).delete()
            logger.info("login %s, left by an erased record, retired for a new one", owner.pk)
    return bool(retired)


def _login_for(email: str) -> User | None:
    return _owner_if_unambiguous(email, _owners(email))


def login_for_email(*, email: str) -> User | None:
    """The login an email signs in to, on the rules of customer_login_ensure,
    never made here: for a password reset, which sets a password and signs in."""
    email = (email or "").strip().lower()
    return _login_for(email) if email else None


USERNAME_PREFIX = "customer-"


def _username_suffix() -> str:
    return "-" + secrets.token_hex(4)


def login_username_for(customer: Customer) -> str:
    """A new login's username: ``customer-<reference>``, readable in the admin;
    when someone already has that name (a staff login made by hand, an unlinked
    old login), a random suffix, so that it never blocks a first sign-in. Logins
    are found by email, never by username: existing names stay as they are."""
    username = f"{USERNAME_PREFIX}{customer.customer_ref}".lower()
    if User.objects.filter(username=username).exists():
        username += _username_suffix()
    return username


# A sign-in storm after a breach is mostly first sign-ins: finding, or creating
# and linking, the login is one round trip here instead of eight (look up, pick,
# lock, two inserts, link, savepoint and its release). The record is picked
# first and then locked by id: a concurrent request that linked it first makes it
# drop out (its user_id is no longer null when re-checked) and the login that
# request created is read afterwards. Locking while picking would instead fall
# through to the next record with the same email and give it a second login.
# An existing login is returned on the rules of _owner_if_unambiguous.
_FIND_OR_CREATE_AND_LINK = """
WITH owner AS (
    SELECT id FROM customers_user WHERE email = %(email)s
    UNION SELECT user_id FROM account_emailaddress WHERE email = %(email)s
), pick AS (
    SELECT id FROM customers_customer
    WHERE email = %(email)s AND user_id IS NULL AND NOT email_from_support
      AND NOT EXISTS (SELECT 1 FROM owner)
    ORDER BY is_current DESC, id LIMIT 1
), candidate AS (
    SELECT id, customer_ref, first_name, last_name FROM customers_customer
    WHERE id = (SELECT id FROM pick) AND user_id IS NULL
    FOR UPDATE
), new_user AS (
    INSERT INTO customers_user (password, last_login, is_superuser, username, first_name,
                                last_name, email, is_staff, is_active, date_joined)
    SELECT %(password)s, NULL, false, lower(%(prefix)s || customer_ref) || CASE
               WHEN EXISTS (SELECT 1 FROM customers_user
                            WHERE username = lower(%(prefix)s || customer_ref))
               THEN %(suffix)s ELSE '' END,
           first_name, last_name, %(email)s, false, true, %(now)s
    FROM candidate
    RETURNING *
), address AS (
    INSERT INTO account_emailaddress (user_id, email, verified, "primary")
    SELECT id, %(email)s, false, true FROM new_user
), linked AS (
    UPDATE customers_customer SET user_id = new_user.id, updated_at = %(now)s
    FROM new_user, candidate WHERE customers_customer.id = candidate.id
)
SELECT * FROM new_user
UNION ALL (
    SELECT u.* FROM customers_user u
    WHERE u.id = (SELECT min(id) FROM owner) AND u.is_active
      AND (SELECT count(*) FROM owner) = 1
      AND (EXISTS (SELECT 1 FROM customers_customer
                   WHERE user_id = u.id AND email = %(email)s)
           OR NOT EXISTS (SELECT 1 FROM customers_customer
                          WHERE email = %(email)s AND NOT email_from_support
                            AND user_id IS DISTINCT FROM u.id))
)
"""


def _login_ensure_in_one_statement(email: str) -> User | None:
    params = {
        "email": email,
        "password": make_password(None),
        "now": timezone.now(),
        "prefix": USERNAME_PREFIX,
        "suffix": _username_suffix(),
    }
    try:
        # A savepoint only inside a caller's transaction: alone, the statement is atomic.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            found = list(User.objects.raw(_FIND_OR_CREATE_AND_LINK, params))
    except IntegrityError:
        found = []
    if found:
        return found[0]
    # Not ours, or a concurrent request linked it after this statement began, or
    # a login left behind by an erased record (no query when no login has the email).
    owners = _owners(email)
    return _owner_if_unambiguous(email, owners) or _past_a_login_left_behind(email, owners)


def _login_create(email: str) -> User | None:
    candidate = (
        Customer.objects.filter(email=email, user__isnull=True, email_from_support=False)
        .order_by("-is_current", "pk")
        .only("pk", "customer_ref", "first_name", "last_name")
        .first()
    )
    if candidate is None:
        return None
    try:
        with transaction.atomic():
            customer = Customer.objects.select_for_update().get(pk=candidate.pk)
            if customer.user_id is not None:
                return _login_for(email)
            user = User(
                username=login_username_for(customer),
                email=email,
                first_name=customer.first_name,
                last_name=customer.last_name,
            )
            user.set_unusable_password()
            user.save()
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
            customer.user = user
            customer.save(update_fields=["user", "updated_at"])
            return user
    except IntegrityError:
        # A concurrent request linked it first.
        return _login_for(email)


def step_progress_set(*, customer: Customer, step: Step, done: bool) -> None:
    if done:
        StepProgress.objects.get_or_create(
            customer=customer, step=step, defaults={"done_at": timezone.now()}
        )
    else:
        StepProgress.objects.filter(customer=customer, step=step).delete()


def customer_email_proved(*, user_id: int, email: str) -> None:
    """The customer signed in with a code sent to this address (allauth has just
    verified it): the address on their record is now one they proved."""
    Customer.objects.filter(user_id=user_id, email__iexact=email, email_verified=False).update(
        email_verified=True, updated_at=timezone.now()
    )


def on_email_confirmed(sender, request, email_address, **kwargs) -> None:
    customer_email_proved(user_id=email_address.user_id, email=email_address.email)


def customer_language_set(*, customer: Customer, language: str) -> None:
    Customer.objects.filter(pk=customer.pk).update(
        preferred_language=language, updated_at=timezone.now()
    )


def customer_preferences_update(
    *,
    customer: Customer,
    preferred_channel: str | None = None,
    preferred_language: str | None = None,
) -> Customer:
    fields = []
    if preferred_channel is not None:
        customer.preferred_channel = preferred_channel
        fields.append("preferred_channel")
    if preferred_language is not None:
        customer.preferred_language = preferred_language
        fields.append("preferred_language")
    if fields:
        customer.updated_at = timezone.now()
        customer.save(update_fields=[*fields, "updated_at"])
    return customer


def incident_close(*, incident: Incident, by, request=None) -> bool:
    """Close an incident and date it: the retention policy counts from ``closed_at``
    (``RETENTION_MONTHS_AFTER_CLOSE``). Returns False when it was already closed."""
    now = timezone.now()
    with transaction.atomic():
        closed = Incident.objects.filter(pk=incident.pk, closed_at__isnull=True).update(
            status=Incident.Status.CLOSED, closed_at=now, updated_at=now
        )
        if closed:
            audit(AuditAction.INCIDENT_CLOSE, actor=by, target=incident, request=request)
            generations.bump_on_commit()
    incident.refresh_from_db(fields=["status", "closed_at", "updated_at"])
    return bool(closed)


def incident_reopen(
    *, incident: Incident, by, status: str = Incident.Status.ACTIVE, request=None
) -> bool:
    """Reopen a closed incident (its records are kept again until it closes anew)."""
    now = timezone.now()
    with transaction.atomic():
        reopened = Incident.objects.filter(pk=incident.pk, closed_at__isnull=False).update(
            status=status, closed_at=None, updated_at=now
        )
        if reopened:
            audit(AuditAction.INCIDENT_REOPEN, actor=by, target=incident, request=request)
            generations.bump_on_commit()
    incident.refresh_from_db(fields=["status", "closed_at", "updated_at"])
    return bool(reopened)

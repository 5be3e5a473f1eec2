"""Staff in tests: members of the real roles, signed in with MFA as the admin requires."""

from __future__ import annotations

import time

from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)
from django.contrib.auth.models import Group

from tests.factories import StaffFactory


def staff_with_role(role: str, **fields):
    if not Group.objects.filter(name=role).exists():
        # A transactional test before this one emptied the tables the
        # migration had filled: create the roles again.
        from django.apps import apps

        from portal.roles import sync_roles

        sync_roles(apps)
    user = StaffFactory(**fields)
    user.groups.add(Group.objects.get(name=role))
    return user


def login_staff(client, user):
    """Sign in as allauth does after a password and a TOTP code."""
    client.force_login(user)
    session = client.session
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "email": user.email},
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    session.save()
    return client

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


def session_token_for(user, *, signed_in_at: float | None = None) -> str:
    """A headless session token (the session key, as allauth's session strategy
    issues it) for a user who signed in by code (now, or ``signed_in_at``)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cache import SessionStore

    from tests.conftest import record_sign_in

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    record_sign_in(session, user, at=signed_in_at)
    session.create()
    return session.session_key


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def alice_api(alice):
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=session_token_for(alice.user))
    return client


@pytest.fixture
def bob_api(bob):
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=session_token_for(bob.user))
    return client

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


def session_token_for(user) -> str:
    """A headless session token (the session key, as allauth's session strategy
    issues it) for a signed-in user."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cache import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
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

"""API authentication, in a module of its own: DRF imports it while loading."""

from __future__ import annotations

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from allauth.headless.internal import sessionkit
from allauth.headless.tokens.strategies import sessions


class SessionTokenAuthentication(XSessionTokenAuthentication):
    """The app's session token from allauth headless (X-Session-Token). A
    missing or invalid token is a 401 with WWW-Authenticate, never a 403 or a
    redirect."""

    allow_anonymous_users = False
    allow_invalid_session_tokens = False

    def authenticate_header(self, request) -> str:
        return 'X-Session-Token realm="api"'


class SessionTokenStrategy(sessions.SessionTokenStrategy):
    """allauth's session tokens, looked up in one round trip to the session
    store: its strategy asks whether the session exists and then loads it (two,
    on every API request). allauth's own ``sessionkit.lookup_session`` loads it
    once: a missing or expired session comes back without a key."""

    def lookup_session(self, session_token: str):
        return sessionkit.lookup_session(session_token)

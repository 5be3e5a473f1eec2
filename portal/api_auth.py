"""API authentication, in a module of its own: DRF imports it while loading."""

from __future__ import annotations

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication


class SessionTokenAuthentication(XSessionTokenAuthentication):
    """The app's session token from allauth headless (X-Session-Token). A
    missing or invalid token is a 401 with WWW-Authenticate, never a 403 or a
    redirect."""

    allow_anonymous_users = False
    allow_invalid_session_tokens = False

    def authenticate_header(self, request) -> str:
        return 'X-Session-Token realm="api"'

"""Documented responses every endpoint shares."""

from __future__ import annotations

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: invalid, not_authenticated, …")
    message = serializers.CharField(help_text="For people, in the request's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per field, what is wrong (validation errors only).",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


ERRORS = {
    400: _error("The request is not valid; `fields` says what to change."),
    401: _error("No valid X-Session-Token: sign in again."),
    404: _error("Nothing of yours here."),
    429: _error("Too many requests: wait and try again."),
}
# A change that asks for a recent authentication (portal.reauthentication).
REAUTH_ERRORS = {
    **ERRORS,
    403: _error(
        "`reauthentication_required`: re-authenticate through allauth's headless API, "
        "then send the request again."
    ),
}
PUBLIC_ERRORS = {k: v for k, v in ERRORS.items() if k != 401}
# Open to all, and to a signed-in app: a token sent that no longer works is a 401.
OPTIONAL_AUTH_ERRORS = {
    **ERRORS,
    401: _error("An X-Session-Token that is no longer valid: sign in again, or send none."),
}


class SessionTokenScheme(OpenApiAuthenticationExtension):
    """The session token allauth headless hands the app at sign-in."""

    target_class = "portal.api_auth.SessionTokenAuthentication"
    name = "SessionToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Session-Token"}


class NoUnknownFieldsScheme(OpenApiSerializerExtension):
    """Bodies that refuse keys they do not take say so (portal.api.NoUnknownFields)."""

    target_class = "portal.api.NoUnknownFields"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}

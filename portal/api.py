"""What every API endpoint shares: one error body, cursor pages, ETags
(authentication is in portal.api_auth)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import urlencode

from django.core.validators import slug_re
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler

from portal.reauthentication import recently_authenticated

_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "forbidden",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_409_CONFLICT: "conflict",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


class ReauthenticationRequired(exceptions.APIException):
    """The change asks for a recent authentication (portal.reauthentication): the
    app re-authenticates through allauth's headless API (a password, or a code to
    the login's address) and sends the request again."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "reauthentication_required"
    default_detail = gettext_lazy(
        "Confirm it is you first: enter your password or a code we send to your email."
    )


def require_recent_authentication(request) -> None:
    """``request.auth`` is the session the app's token names (portal.api_auth)."""
    if not recently_authenticated(user=request.user, session=request.auth):
        raise ReauthenticationRequired


def api_exception_handler(exc, context):
    """Every error has the same body: ``{"error": {"code", "message", "fields"?}}``."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    fields = None
    if isinstance(detail, dict) and "detail" not in detail:
        fields = {
            key: [str(m) for m in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
        message = _("Some fields are not valid.")
    elif isinstance(detail, dict):
        message = str(detail["detail"])
    elif isinstance(detail, list):
        message = " ".join(str(item) for item in detail)
    else:
        message = str(detail)
    body = {
        "code": getattr(exc, "default_code", None) or _CODES.get(response.status_code, "error"),
        "message": message,
    }
    if fields:
        body["fields"] = fields
    response.data = {"error": body}
    return response


# A positive id that fits a bigint: longer would overflow the database's integer.
_ID = re.compile(r"[0-9]{1,18}")
_PAGE_SIZE = re.compile(r"[0-9]{1,3}")


def _encoded(cursor: Cursor) -> str:
    """The cursor as CursorPagination.encode_cursor writes it, without the URL."""
    tokens = {}
    if cursor.offset != 0:
        tokens["o"] = str(cursor.offset)
    if cursor.reverse:
        tokens["r"] = "1"
    if cursor.position is not None:
        tokens["p"] = cursor.position
    return base64.b64encode(urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")


class NewestFirstCursor(CursorPagination):
    page_size = 20
    max_page_size = 100
    page_size_query_param = "page_size"
    ordering = "-id"

    def get_page_size(self, request):
        """A page size that is not a whole number from 1 to 100 is an error, not ignored."""
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        if (
            len(values) > 1
            # Not isdigit(): it takes "²", which int() refuses (a 500).
            or not _PAGE_SIZE.fullmatch(values[0])
            or not 1 <= int(values[0]) <= self.max_page_size
        ):
            message = _("A whole number from 1 to %(maximum)d.") % {"maximum": self.max_page_size}
            raise exceptions.ValidationError({self.page_size_query_param: [message]})
        return int(values[0])

    def decode_cursor(self, request):
        """Only a cursor this paginator wrote; anything else is a bad cursor (a 404,
        as DRF answers), neither the first page nor a 500 later.

        DRF's decoding forgives junk: base64 drops what is not in its alphabet and
        a query string without a position reads as the first page, so "!!!" was
        the first page. A cursor must read back as it would be written. DRF passes
        the position through as text; ours is an id, a whole number."""
        values = request.query_params.getlist(self.cursor_query_param)
        if not values or values == [""]:  # an empty one is no cursor
            return None
        cursor = super().decode_cursor(request) if len(values) == 1 else None
        if cursor is None or _encoded(cursor) != values[0]:
            raise exceptions.NotFound(self.invalid_cursor_message)
        if cursor.position is not None and not _ID.fullmatch(cursor.position):
            raise exceptions.NotFound(self.invalid_cursor_message)
        return cursor

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        return parameters


def query_choice(request, name: str, choices) -> str | None:
    """An optional query parameter that must be one of ``choices``."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1 or values[0] not in choices:
        raise exceptions.ValidationError(
            {name: [_("One of: %(choices)s.") % {"choices": ", ".join(choices)}]}
        )
    return values[0]


# Empty: no filter, as before.
SLUG_PATTERN = "^[-a-zA-Z0-9_]*$"


def query_slug(request, name: str) -> str | None:
    """An optional query parameter that names a record by its slug. Anything else
    matches nothing, and a NUL character would be a 500 on PostgreSQL: an error."""
    values = [v for v in request.query_params.getlist(name) if v]
    if not values:
        return None
    if len(values) > 1 or not slug_re.match(values[0]):
        raise exceptions.ValidationError(
            {name: [_("A slug: letters, digits, hyphens and underscores.")]}
        )
    return values[0]


def etag_response(request, data, status_code: int = 200) -> Response:
    """200 with an ETag of the body, or 304 when the client already has it."""
    encoded = json.dumps(data, sort_keys=True, default=str).encode()
    etag = '"' + hashlib.sha256(encoded).hexdigest()[:32] + '"'
    matches = [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]
    if etag in matches or "*" in matches:
        response = Response(status=status.HTTP_304_NOT_MODIFIED)
    else:
        response = Response(data, status=status_code)
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


# A key the serializer does not take is an error, not dropped in silence: an app
# that sends {"email": …} to a preferences change must not get a 200. A read-only
# field is not taken either ({"active": false} to a device). Every request body of
# the API uses it. (A comment, not a docstring: the schema would show it as the
# request body's description.)
class NoUnknownFields:
    def to_internal_value(self, data):
        if isinstance(data, dict):
            taken = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - taken)
            if unknown:
                message = _("Not something this request can change.")
                raise exceptions.ValidationError({key: [message] for key in unknown})
        return super().to_internal_value(data)


class NoBody(NoUnknownFields, serializers.Serializer):
    """For a request that takes no body (PUT a step done, DELETE a device): any
    key in one is refused like an unknown key anywhere else."""


def refuse_body(request) -> None:
    NoBody(data=request.data if isinstance(request.data, dict) else {}).is_valid(
        raise_exception=True
    )


class StrictCharField(serializers.CharField):
    """A string and nothing else: DRF would turn 123 into "123"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID in its text form: DRF would also take an integer."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)

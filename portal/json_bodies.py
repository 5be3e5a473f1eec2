"""JSON request bodies nested so deeply that parsing them recurses past Python's
limit, or with a number longer than Python converts (4,300 digits): a 400, not a
RecursionError or a ValueError and a 500 (a 10 KB body is enough). And allauth's
empty 400 for a body that is not a JSON object gets a message."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from itertools import accumulate

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from portal.observability.logs import HEADLESS_PREFIX

TOO_DEEP = _("The JSON in the request is nested too deeply.")
TOO_LONG_NUMBER = _("A number in the request's JSON has too many digits.")
NOT_AN_OBJECT = _("The request's body must be a JSON object, in UTF-8.")
NOT_UTF8 = _("The request's body is not valid UTF-8.")
NOT_JSON = _("The request's body is not valid JSON (line %(line)d, column %(column)d).")
# NaN and Infinity, which JSON does not have.
NOT_JSON_VALUE = _("The request's JSON has a value JSON does not allow.")

# Far deeper than any body the app sends (a passkey's is 4 levels), far shallower
# than the recursion limit wherever allauth happens to parse it.
MAX_DEPTH = 64

# A string, or an unterminated one up to the end (a lone backslash last
# included), in one pass: possessive, and it always matches once started, so
# a quote with no closing one is not tried again from every quote after it (a
# body of 20,000 escaped quotes took 13 s, before any view or rate limit).
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# json.loads() turns a run of digits into an int, and Python refuses (ValueError,
# not the JSONDecodeError allauth catches) past sys.get_int_max_str_digits().
_MAX_DIGITS = sys.get_int_max_str_digits() or 4300
_LONG_DIGITS = re.compile(rf"\d{{{_MAX_DIGITS + 1},}}")


def outside_strings(text: str) -> str:
    return _STRING.sub("", text)


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest, counted without parsing (which recurses).
    Brackets inside strings do not count; for text that is not JSON the count
    means nothing, but the parser refuses that text anyway."""
    return _depth(outside_strings(text))


def has_too_long_number(text: str) -> bool:
    """A run of digits, outside strings, longer than json.loads() converts."""
    return _has_long_digits(outside_strings(text))


def _depth(unquoted: str) -> int:
    brackets = _BRACKET.findall(unquoted)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _has_long_digits(unquoted: str) -> bool:
    return bool(_LONG_DIGITS.search(unquoted))


class JSONParser(parsers.JSONParser):
    """DRF's parser catches ValueError only; a RecursionError would be a 500. Its
    message is Python's, in English whatever the reader's language: ours say
    what is wrong, translated."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        except ParseError as exc:
            raise ParseError(_parse_error_message(exc.__context__)) from None


def _parse_error_message(cause) -> str:
    # DRF raises its ParseError while handling the ValueError that says why.
    if isinstance(cause, UnicodeDecodeError):
        return NOT_UTF8
    if isinstance(cause, json.JSONDecodeError):
        return NOT_JSON % {"line": cause.lineno, "column": cause.colno}
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return TOO_LONG_NUMBER
    return NOT_JSON_VALUE


def _headless_bad_request(message) -> JsonResponse:
    # allauth's error shape: {"status", "errors": [{"message", "code"}]}
    response = JsonResponse(
        {"status": 400, "errors": [{"message": str(message), "code": "invalid"}]}, status=400
    )
    add_never_cache_headers(response)
    return response


def headless_json_depth(get_response: Callable[[HttpRequest], HttpResponse]):
    """allauth's headless views json.loads() every body that is not a GET's and
    catch only decoding errors. Counting the depth before they run is exact where
    catching a RecursionError here would not be: the view parses deeper in the stack.
    A number too long for int() is a ValueError they do not catch either."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path.startswith(HEADLESS_PREFIX) and request.method != "GET":
            try:
                text = request.body.decode()
            except UnicodeDecodeError:
                text = ""  # allauth answers 400 itself
            unquoted = outside_strings(text)  # once, for both checks
            if _depth(unquoted) > MAX_DEPTH:
                return _headless_bad_request(TOO_DEEP)
            if _has_long_digits(unquoted):
                return _headless_bad_request(TOO_LONG_NUMBER)
            response = get_response(request)
            if response.status_code == 400 and not response.content:
                # allauth's answer to a body that is not UTF-8, not JSON or not an
                # object: a bare 400 that tells the app nothing.
                return _headless_bad_request(NOT_AN_OBJECT)
            return response
        return get_response(request)

    return middleware

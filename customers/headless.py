"""allauth's headless API for the app, with the customer records as the only
source of logins (as on the web: see customers.forms), a password-reset key
checked for its user part before allauth reads it, and no phone management."""

from __future__ import annotations

import re

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.headless.account.inputs import (
    RequestLoginCodeInput,
    RequestPasswordResetInput,
    ResetPasswordInput,
    ResetPasswordKeyInput,
)
from allauth.headless.account.views import (
    RequestLoginCodeView,
    RequestPasswordResetView,
    ResetPasswordView,
)
from allauth.headless.internal.restkit.response import ErrorResponse
from django.http import Http404, HttpRequest

from customers.forms import ResetForTheLoginOnRecord
from customers.services import customer_login_ensure


class CustomerRequestLoginCodeInput(RequestLoginCodeInput):
    """As on the web (customers.forms): the login our records say the email signs in."""

    def clean_email(self) -> str:
        email = super().clean_email()
        if email:
            self._user = customer_login_ensure(email=email)
        return email


class CustomerRequestLoginCodeView(RequestLoginCodeView):
    input_class = CustomerRequestLoginCodeInput


class CustomerRequestPasswordResetInput(ResetForTheLoginOnRecord, RequestPasswordResetInput):
    pass


class CustomerRequestPasswordResetView(RequestPasswordResetView):
    """As on the web (customers.forms): a reset for the login the email signs in to."""

    input_class = CustomerRequestPasswordResetInput


# A reset link's key is "<user id in base 36>-<token>", as the web page's URL
# pattern has it (allauth.account.urls).
_USER_PART = re.compile(r"[0-9A-Za-z]+")


class _KeyNamesAUser:
    """allauth hands the part before the dash to a form and reads the form's
    cleaned value even when the form refused it: a key without that part ("-x")
    or with a NUL in it was a TypeError and a 500. Refuse it as a wrong key."""

    def _clean_key_link(self):
        user_part = self.cleaned_data["key"].partition("-")[0]
        if not _USER_PART.fullmatch(user_part):
            raise get_account_adapter().validation_error("invalid_password_reset")
        return super()._clean_key_link()


class CheckedResetPasswordKeyInput(_KeyNamesAUser, ResetPasswordKeyInput):
    pass


class CheckedResetPasswordInput(_KeyNamesAUser, ResetPasswordInput):
    pass


class CheckedResetPasswordView(ResetPasswordView):
    input_class = CheckedResetPasswordInput

    def get(self, request, *args, **kwargs):
        if not self.process:  # a key from a link, not a code
            key = CheckedResetPasswordKeyInput(
                {"key": request.headers.get("X-Password-Reset-Key", "")}
            )
            if not key.is_valid():
                return ErrorResponse(request, input=key)
        return super().get(request, *args, **kwargs)


def phone_not_managed(request: HttpRequest, *args, **kwargs):
    """allauth mounts account/phone whatever the login methods. Here a phone is a
    contact detail the app changes through /api/v1/me/contact, and allauth's view,
    with no phone in the account adapter, was a 500: NotImplementedError signed in,
    AttributeError signed out (PUT, PATCH, DELETE). Not found, like any other path."""
    raise Http404

from __future__ import annotations

from allauth.account.forms import RequestLoginCodeForm, ResetPasswordForm
from django import forms
from django.utils.translation import gettext_lazy as _

from customers.normalise import normalise_email
from customers.services import customer_login_ensure, login_for_email


class CustomerRequestLoginCodeForm(RequestLoginCodeForm):
    """allauth's code request, for the login our records say the email signs in
    (customer_login_ensure: made the first time, none when it is ambiguous).
    allauth would pick any login with the address, a staff one included."""

    def clean_email(self) -> str:
        email = super().clean_email()
        if email:
            self._user = customer_login_ensure(email=email)
        return email


class ResetForTheLoginOnRecord:
    """A password reset reaches only the login the email signs in to by code
    (login_for_email): a reset link sets a password and signs in, so allauth's
    choice (every login with the address) would let the reader of an inbox now
    on another record, or shared, into a login that is not theirs."""

    def clean_email(self) -> str:
        email = super().clean_email()
        login = login_for_email(email=email)
        self.users = [login] if login is not None else []
        return email


class CustomerResetPasswordForm(ResetForTheLoginOnRecord, ResetPasswordForm):
    pass


class ClaimForm(forms.Form):
    """Step 1 of claiming a record: what the letter or text gave, and a new email."""

    customer_ref = forms.CharField(
        label=_("Customer reference"),
        max_length=32,
        help_text=_("On your letter or bill, for example AB123456."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        # The browser's date field shows its own order (month first in some):
        # an example that names the month reads right beside any of them.
        help_text=_("Day, month and year, for example 14 March 1987."),
    )
    claim_code = forms.CharField(
        label=_("Claim code"),
        max_length=20,
        help_text=_("12 letters and numbers, for example ABCD-EFGH-JKLM."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        help_text=_("You will sign in with it. We will send a code there to check it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_email(self) -> str:
        return normalise_email(self.cleaned_data["email"])


class SixDigitCodeField(forms.CharField):
    """A code we sent by email or text: phones offer to fill it in from the message."""

    def __init__(self, **kwargs):
        attrs = {"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]{6}"}
        kwargs.setdefault("widget", forms.TextInput(attrs=attrs))
        super().__init__(min_length=6, max_length=6, **kwargs)


class ClaimConfirmForm(forms.Form):
    code = SixDigitCodeField(label=_("Code from the email"))

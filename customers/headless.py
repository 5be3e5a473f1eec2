"""allauth's headless API for the app, with the customer records as the only
source of logins (as on the web: see customers.forms)."""

from __future__ import annotations

from allauth.headless.account.inputs import RequestLoginCodeInput
from allauth.headless.account.views import RequestLoginCodeView

from customers.services import customer_login_ensure


class CustomerRequestLoginCodeInput(RequestLoginCodeInput):
    def clean_email(self) -> str:
        email = self.cleaned_data.get("email")
        if email:
            customer_login_ensure(email=email)
        return super().clean_email()


class CustomerRequestLoginCodeView(RequestLoginCodeView):
    input_class = CustomerRequestLoginCodeInput

from __future__ import annotations

from allauth.account.forms import RequestLoginCodeForm

from customers.services import customer_login_ensure


class CustomerRequestLoginCodeForm(RequestLoginCodeForm):
    """allauth's code request, after making sure a customer on record has a login."""

    def clean_email(self) -> str:
        email = self.cleaned_data.get("email")
        if email:
            customer_login_ensure(email=email)
        return super().clean_email()

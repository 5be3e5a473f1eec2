from __future__ import annotations

import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from customers.claims import EMAIL_CODE_SECONDS
from customers.models import Language
from customers.selectors import customer_for_user
from customers.services import customer_language_set
from customers.tasks import send_transactional_email
from portal.i18n import LANGUAGE_CHOSEN_COOKIE, set_language_cookie
from portal.observability.metrics import on_allauth_error
from portal.reauthentication import recently_authenticated
from portal.transactional import message_reference_new, printed_reference, verify_url

# The header the outbox and the email channel read a message's reference from.
REFERENCE_HEADER = "X-Firsthand-Reference"


# How long the code each of these emails carries works: sent any later, the
# email would arrive useless (see send_transactional_email).
CODE_LIFETIME = {
    "account/email/login_code": settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT,
    "account/email/claim_code": EMAIL_CODE_SECONDS,
}

CODE_SPENT = _(
    "That code no longer works: it was entered wrongly too many times. Ask for a new code below."
)


def _on_the_code_page(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name == "account_confirm_login_code"


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Logins come only from our customer records (see customer_login_ensure).
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        # allauth asks only when this says so, and then counts only an explicit
        # re-authentication: a code-only login setting its first password (one a
        # stolen session would keep) would go unasked with the default (off), and
        # a customer who signed in a minute ago would be asked again with it on.
        # The rule the contact change uses: a sign-in or re-authentication in
        # the window. Staff's authenticators keep allauth.mfa's own rule.
        if app != "allauth.account":
            return super().is_reauthentication_required(app=app, **kwargs)
        request = self.request or allauth_context.request
        return not recently_authenticated(user=request.user, session=request.session)

    def add_message(
        self,
        request,
        level,
        message_template=None,
        message_context=None,
        extra_tags="",
        message=None,
    ) -> None:
        if message == self.error_messages["too_many_login_attempts"] and _on_the_code_page(request):
            # allauth says "too many failed login attempts, try again later": here
            # only this code is spent, and a new one can be asked for at once.
            message = CODE_SPENT
        super().add_message(request, level, message_template, message_context, extra_tags, message)

    def validation_error(self, code, *args):
        # Wrong passwords and codes, and allauth's own sign-in limits, counted
        # for /metrics (the limits that answer 429 are counted by the middleware).
        on_allauth_error(code)
        return super().validation_error(code, *args)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Render in the request, send from a worker: no provider call in a web request.

        Every email carries a reference that /verify vouches for once it is sent.
        """
        request = context.get("request") or allauth_context.request
        reference = message_reference_new()
        ctx = {
            "request": request,
            "email": email,
            "current_site": get_current_site(request),
            "reference": printed_reference(reference),
            "verify_url": verify_url(),
        }
        ctx.update(context)
        message = self.render_mail(template_prefix, email, ctx)
        payload = {
            "subject": message.subject,
            "body": message.body,
            "from_email": message.from_email,
            "to": list(message.to),
            "headers": {**message.extra_headers, REFERENCE_HEADER: reference},
            "alternatives": [list(a) for a in getattr(message, "alternatives", [])],
            "reference": reference,
        }
        if lifetime := CODE_LIFETIME.get(template_prefix):
            payload["useful_until"] = time.time() + lifetime
        transaction.on_commit(lambda: send_transactional_email.delay(payload))

    def post_login(self, request: HttpRequest, user, **kwargs):
        response = super().post_login(request, user, **kwargs)
        customer = customer_for_user(user)
        if customer is None or not hasattr(response, "set_cookie"):
            return response
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if request.COOKIES.get(LANGUAGE_CHOSEN_COOKIE) and chosen in Language.values:
            # Picked on this device before signing in: kept, and remembered on
            # the record (their messages too), as the switch does signed in.
            if chosen != customer.preferred_language:
                customer_language_set(customer=customer, language=chosen)
            language = chosen
        else:
            # The customer's language follows them to any device.
            language = customer.preferred_language
        set_language_cookie(response, language)
        response.delete_cookie(LANGUAGE_CHOSEN_COOKIE, samesite="Lax")
        return response


def user_display(user) -> str:
    return user.email or user.get_username()

"""Staff reach the admin only through allauth, with MFA, on a short session."""

from __future__ import annotations

import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.urls import reverse

from portal.models import AuditEntry
from portal.roles import SUPPORT_AGENT
from tests.factories import StaffFactory
from tests.staff import login_staff, staff_with_role

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
PASSWORD = "correct-horse-battery"


def totp_now(secret: str = SECRET) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def sign_in(client, user, next_url="/admin/"):
    url = f"{reverse('account_login')}?next={next_url}"
    return client.post(url, {"login": user.email, "password": PASSWORD, "next": next_url})


def test_anonymous_visitors_are_sent_to_allauths_sign_in(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == f"{reverse('account_login')}?next=%2Fadmin%2F"


def test_a_customer_login_is_refused(alice_client):
    assert alice_client.get(reverse("admin:login")).status_code == 403
    assert alice_client.get("/admin/").status_code == 302


@pytest.mark.django_db(transaction=True)  # activation signals after its commit, as live
def test_staff_without_an_authenticator_must_set_one_up_first(client):
    staff = staff_with_role(SUPPORT_AGENT)
    response = sign_in(client, staff)
    assert response.status_code == 302
    # Signed in with a password only: the admin sends them to set up TOTP
    # (allauth asks for the password again before any MFA change).
    response = client.get("/admin/", follow=True)
    chain = [url for url, _status in response.redirect_chain]
    assert chain[1].startswith(reverse("mfa_activate_totp"))
    assert chain[-1].startswith(reverse("account_reauthenticate"))
    client.post(chain[-1], {"password": PASSWORD})
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200

    secret = client.session["mfa.totp.secret"]
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_now(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=staff, type="totp").exists()
    # Activating proved the code works: this session may now enter.
    assert client.get("/admin/").status_code == 200


def test_staff_with_totp_pass_the_second_factor_at_sign_in(client):
    staff = staff_with_role(SUPPORT_AGENT)
    TOTP.activate(staff, SECRET)
    response = sign_in(client, staff)
    assert response["Location"].startswith(reverse("mfa_authenticate"))
    assert client.get("/admin/").status_code == 302  # not signed in yet

    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert response.status_code == 400 and client.get("/admin/").status_code == 302
    response = client.post(reverse("mfa_authenticate"), {"code": totp_now()})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # Sign-in is on the audit log, and the staff session is short.
    assert AuditEntry.objects.filter(action="staff.sign_in", actor=staff).count() == 1
    assert client.session.get_expiry_age() == 8 * 3600


def test_a_session_that_skipped_mfa_must_reauthenticate(client):
    staff = StaffFactory(is_superuser=True)
    TOTP.activate(staff, SECRET)
    client.force_login(staff)  # e.g. a session from before MFA was set up
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("mfa_reauthenticate"))
    client.post(reverse("mfa_reauthenticate"), {"code": totp_now()})
    assert client.get("/admin/").status_code == 200


def test_mfa_must_be_recent(client, settings):
    staff = StaffFactory(is_superuser=True)
    TOTP.activate(staff, SECRET)
    login_staff(client, staff)
    assert client.get("/admin/").status_code == 200
    settings.STAFF_SESSION_SECONDS = 0
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("mfa_reauthenticate"))


def test_an_unsafe_next_url_is_ignored(client):
    staff = StaffFactory()
    TOTP.activate(staff, SECRET)
    login_staff(client, staff)
    response = client.get(reverse("admin:login"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("admin:index")


def test_staff_cannot_remove_their_last_authenticator_customers_can(alice):
    staff = StaffFactory()
    totp = TOTP.activate(staff, SECRET).instance
    adapter = get_mfa_adapter()
    assert not adapter.can_delete_authenticator(totp)
    Authenticator.objects.create(user=staff, type="webauthn", data={})
    assert adapter.can_delete_authenticator(totp)
    customer_totp = TOTP.activate(alice.user, SECRET).instance
    assert adapter.can_delete_authenticator(customer_totp)


def test_totp_secrets_are_encrypted_at_rest():
    staff = StaffFactory()
    instance = TOTP.activate(staff, SECRET).instance
    stored = Authenticator.objects.get(pk=instance.pk).data["secret"]
    assert stored.startswith("fernet:") and SECRET not in stored
    assert TOTP(Authenticator.objects.get(pk=instance.pk)).validate_code(totp_now())


def test_the_demo_outbox_needs_mfa_and_the_permission(client):
    staff = StaffFactory()
    client.force_login(staff)
    assert client.get(reverse("notices:outbox")).status_code == 302
    login_staff(client, staff)
    assert client.get(reverse("notices:outbox")).status_code == 403
    login_staff(client, StaffFactory(is_superuser=True))
    assert client.get(reverse("notices:outbox")).status_code == 200


def test_a_staff_members_app_token_leaves_no_cookie_session_behind():
    """The API's user comes from the app's token, with no cookie session: giving
    that empty session the staff expiry stored a new session, and sent its
    cookie, on every request."""
    from rest_framework.test import APIClient

    from tests.api.conftest import session_token_for

    app = APIClient()
    app.credentials(HTTP_X_SESSION_TOKEN=session_token_for(StaffFactory()))
    for _ in range(2):
        response = app.get("/api/v1/me")
        assert response.status_code == 404  # a staff login has no customer record
        assert "sessionid" not in response.cookies

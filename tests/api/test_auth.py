"""Signing in from the app through allauth headless, and the token the API takes."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from rest_framework.test import APIClient

from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
BASE = "/_allauth/app/v1"


def code_from_mail() -> str:
    return re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.M).group(1)


def test_sign_in_by_code_from_the_app(api, incident, django_capture_on_commit_callbacks):
    CustomerFactory(email="jane@example.com", first_name="Jane")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{BASE}/auth/code/request", {"email": "jane@example.com"}, format="json"
        )
    assert response.status_code == 401  # a login flow is pending: the code
    token = response.json()["meta"]["session_token"]
    api.credentials(HTTP_X_SESSION_TOKEN=token)
    response = api.post(f"{BASE}/auth/code/confirm", {"code": code_from_mail()}, format="json")
    assert response.status_code == 200, (response.json(), mail.outbox[-1].body)
    api.credentials(HTTP_X_SESSION_TOKEN=response.json()["meta"]["session_token"])
    me = api.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["first_name"] == "Jane"


def test_unknown_email_gets_the_same_answer(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        unknown = api.post(
            f"{BASE}/auth/code/request", {"email": "ghost@example.com"}, format="json"
        )
    assert unknown.status_code == 401 and mail.outbox == []


def test_an_email_on_a_record_does_not_sign_the_app_in_to_a_staff_login_with_it(
    api, django_capture_on_commit_callbacks
):
    from tests.factories import StaffFactory

    StaffFactory(email="sam@example.com")
    CustomerFactory(email="sam@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{BASE}/auth/code/request", {"email": "sam@example.com"}, format="json"
        )
    assert response.status_code == 401 and mail.outbox == []


def test_a_re_imported_record_signs_the_app_in_by_code_past_a_login_left_behind(
    api, incident, django_capture_on_commit_callbacks
):
    from customers.services import customer_login_ensure

    earlier = CustomerFactory(email="jane@example.com")
    old = customer_login_ensure(email="jane@example.com")
    earlier.delete()  # erased; re-imported below
    record = CustomerFactory(email="jane@example.com", first_name="Jo")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{BASE}/auth/code/request", {"email": "jane@example.com"}, format="json"
        )
    api.credentials(HTTP_X_SESSION_TOKEN=response.json()["meta"]["session_token"])
    response = api.post(f"{BASE}/auth/code/confirm", {"code": code_from_mail()}, format="json")
    assert response.status_code == 200, response.json()
    api.credentials(HTTP_X_SESSION_TOKEN=response.json()["meta"]["session_token"])
    me = api.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["customer_ref"] == record.customer_ref
    record.refresh_from_db()
    assert record.user_id != old.pk


@pytest.mark.parametrize("path", ["/auth/code/request", "/auth/login", "/auth/code/confirm"])
def test_json_nested_too_deeply_is_a_400_in_allauths_shape(api, path):
    deep = "[" * 5000 + "]" * 5000
    for body in (deep, '{"email": ' + deep + "}"):
        response = api.post(f"{BASE}{path}", body, content_type="application/json")
        assert response.status_code == 400, response.content
        assert response.json() == {
            "status": 400,
            "errors": [
                {"message": "The JSON in the request is nested too deeply.", "code": "invalid"}
            ],
        }


@pytest.mark.parametrize("body", [b'{"email": "\xff@example.com"}', b"email=a@b.c", b"[]", b"1"])
def test_a_body_that_is_not_a_json_object_is_a_400_that_says_so(api, body):
    response = api.post(
        f"{BASE}/auth/code/request",
        body,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "errors": [
            {
                "message": "Le corps de la requête doit être un objet JSON, en UTF-8.",
                "code": "invalid",
            }
        ],
    }


def test_sign_in_by_password_then_out(api, alice):
    response = api.post(
        f"{BASE}/auth/login",
        {"email": "alice@example.com", "password": "correct-horse-battery"},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["meta"]["session_token"]
    assert api.get("/api/v1/me", HTTP_X_SESSION_TOKEN=token).status_code == 200
    assert api.delete(f"{BASE}/auth/session", HTTP_X_SESSION_TOKEN=token).status_code == 401
    assert api.get("/api/v1/me", HTTP_X_SESSION_TOKEN=token).status_code == 401


def test_mfa_challenge_when_enabled(api, alice):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value

    secret = generate_totp_secret()
    TOTP.activate(alice.user, secret)
    response = api.post(
        f"{BASE}/auth/login",
        {"email": "alice@example.com", "password": "correct-horse-battery"},
        format="json",
    )
    assert response.status_code == 401
    flows = {flow["id"]: flow for flow in response.json()["data"]["flows"]}
    assert flows["mfa_authenticate"]["is_pending"]
    token = response.json()["meta"]["session_token"]
    import time

    code = f"{hotp_value(secret, int(time.time()) // 30):06d}"
    response = api.post(
        f"{BASE}/auth/2fa/authenticate", {"code": code}, format="json", HTTP_X_SESSION_TOKEN=token
    )
    assert response.status_code == 200, response.json()
    assert Authenticator.objects.filter(user=alice.user).exists()


@pytest.mark.parametrize("headers", [{}, {"HTTP_X_SESSION_TOKEN": "not-a-token"}])
def test_missing_or_invalid_token_is_401_with_www_authenticate(api, headers):
    response = api.get("/api/v1/me", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("X-Session-Token")
    assert response.json()["error"]["code"] in {"not_authenticated", "authentication_failed"}


def test_a_login_without_a_customer_record_sees_nothing(api):
    from tests.api.conftest import session_token_for
    from tests.factories import StaffFactory

    api.credentials(HTTP_X_SESSION_TOKEN=session_token_for(StaffFactory()))
    assert api.get("/api/v1/me").status_code == 404


def test_a_token_is_looked_up_with_one_read_of_the_session_store(alice_api):
    """allauth's strategy asked whether the session exists, then loaded it."""
    from unittest import mock

    from django.conf import settings
    from django.core.cache import caches

    store = caches[settings.SESSION_CACHE_ALIAS]
    with (
        mock.patch.object(store, "get", wraps=store.get) as get,
        mock.patch.object(store, "has_key", wraps=store.has_key) as has_key,
    ):
        assert alice_api.get("/api/v1/me").status_code == 200
    session_reads = [c for c in get.call_args_list if "session" in str(c.args[0])]
    assert len(session_reads) == 1
    assert has_key.call_count == 0


def test_a_token_whose_session_has_gone_is_401(api, alice):
    from django.contrib.sessions.backends.cache import SessionStore

    from tests.api.conftest import session_token_for

    token = session_token_for(alice.user)
    api.credentials(HTTP_X_SESSION_TOKEN=token)
    assert api.get("/api/v1/me").status_code == 200
    SessionStore(session_key=token).delete()  # expired, or signed out elsewhere
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    # Nothing was written for the stale token on the way out.
    assert not SessionStore().exists(token)


@pytest.mark.parametrize("key", ["-x", "-abc", "-", "\x00-abc", "é-abc"])
def test_a_reset_key_without_a_user_part_is_a_400(api, alice, key):
    # allauth read its form's refused user part as None: a TypeError and a 500.
    response = api.post(
        "/_allauth/app/v1/auth/password/reset",
        {"key": key, "password": "a-new-long-passphrase"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["param"] == "key"
    response = api.get("/_allauth/app/v1/auth/password/reset", HTTP_X_PASSWORD_RESET_KEY=key)
    assert response.status_code == 400


def test_a_reset_key_from_a_link_still_resets(api, alice):
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    key = f"{user_pk_to_url_str(alice.user)}-{default_token_generator.make_token(alice.user)}"
    response = api.get("/_allauth/app/v1/auth/password/reset", HTTP_X_PASSWORD_RESET_KEY=key)
    assert response.status_code == 200
    response = api.post(
        "/_allauth/app/v1/auth/password/reset",
        {"key": key, "password": "a-new-long-passphrase"},
        format="json",
    )
    assert response.status_code in (200, 401)  # reset; signed in or not, as configured
    alice.user.refresh_from_db()
    assert alice.user.check_password("a-new-long-passphrase")


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_phone_management_is_not_mounted(api, alice_api, method):
    # allauth's view, without a phone in the account adapter, was a 500 both ways.
    for client in (api, alice_api):
        response = getattr(client, method)(f"{BASE}/account/phone", {}, format="json")
        assert response.status_code == 404


def test_a_second_address_cannot_be_added_to_a_login(
    alice_api, alice, incident, django_capture_on_commit_callbacks
):
    # Added (unverified) to Alice's login, another customer's address would make
    # a sign-in code asked for by its owner sign them in as Alice.
    owner = CustomerFactory(email="owner@example.com", first_name="Owen")
    added = alice_api.post(f"{BASE}/account/email", {"email": owner.email}, format="json")
    assert added.status_code == 400
    assert [e["email"] for e in alice_api.get(f"{BASE}/account/email").json()["data"]] == [
        alice.email
    ]
    api = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        pending = api.post(f"{BASE}/auth/code/request", {"email": owner.email}, format="json")
    api.credentials(HTTP_X_SESSION_TOKEN=pending.json()["meta"]["session_token"])
    response = api.post(f"{BASE}/auth/code/confirm", {"code": code_from_mail()}, format="json")
    assert response.status_code == 200
    api.credentials(HTTP_X_SESSION_TOKEN=response.json()["meta"]["session_token"])
    assert api.get("/api/v1/me").json()["first_name"] == "Owen"


def test_a_password_change_ends_the_apps_other_sessions(alice, alice_api, client):
    """A token taken from the app stops working once the customer changes their
    password elsewhere; the session that changed it stays signed in."""
    assert alice_api.get("/api/v1/me").status_code == 200
    client.force_login(alice.user, backend="allauth.account.auth_backends.AuthenticationBackend")
    new = "a-Very-long-pass-9183"
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "correct-horse-battery", "password1": new, "password2": new},
    )
    assert response.status_code == 302
    assert alice_api.get("/api/v1/me").status_code == 401
    assert client.get("/dashboard/").status_code == 200

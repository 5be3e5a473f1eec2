"""The authentication backend: customers' sessions use it, and its per-request
user lookup (one fixed statement on PostgreSQL) reads exactly what the ORM reads."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db.models.query import QuerySet
from django.urls import reverse
from django.utils import timezone

from customers.models import User
from portal.auth_backend import AuthenticationBackend
from tests.customers.test_signin import CONFIRM, code_from_outbox, request_code
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

BACKEND = "portal.auth_backend.AuthenticationBackend"


def test_a_code_sign_in_records_this_backend(client, django_capture_on_commit_callbacks):
    CustomerFactory(email="jane@example.com")
    request_code(client, "jane@example.com", django_capture_on_commit_callbacks)
    client.post(CONFIRM, {"code": code_from_outbox()})
    assert client.session[BACKEND_SESSION_KEY] == BACKEND
    assert client.get("/dashboard/").status_code == 200


def test_get_user_finds_active_users_only():
    backend = AuthenticationBackend()
    user = User.objects.create(username="jane", email="jane@example.com")
    assert backend.get_user(user.pk) == user
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert backend.get_user(user.pk) is None
    assert backend.get_user(user.pk + 1000) is None


@pytest.mark.postgres
def test_on_postgresql_the_row_is_read_without_the_orm_and_is_the_same(monkeypatch):
    user = User.objects.create(
        username="jane",
        email="jane@example.com",
        first_name="Jane",
        last_name="O'Neil",
        is_staff=True,
        last_login=timezone.now(),
    )
    user.set_password("correct horse battery staple")
    user.save()
    expected = User.objects.get(pk=user.pk)

    def no_orm(*args, **kwargs):
        raise AssertionError("the ORM was used")

    monkeypatch.setattr(QuerySet, "get", no_orm)
    found = AuthenticationBackend().get_user(user.pk)
    for field in User._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
        assert type(getattr(found, field.attname)) is type(getattr(expected, field.attname))
    assert found._state.adding is False and found._state.db == "default"
    assert found.get_session_auth_hash() == expected.get_session_auth_hash()


def test_a_password_is_checked_once_by_allauths_own_backend(client, monkeypatch):
    """This backend checks no password: a wrong one costs one hash, not two, and a
    password sign-in records allauth's own backend."""
    from django.contrib.auth import base_user

    checks = []
    real_check = base_user.check_password
    monkeypatch.setattr(
        base_user, "check_password", lambda *a, **k: checks.append(1) or real_check(*a, **k)
    )
    user = UserFactory(email="pat@example.com")
    response = client.post(reverse("account_login"), {"login": user.email, "password": "wrong"})
    assert response.status_code == 400 and len(checks) == 1
    checks.clear()
    client.post(
        reverse("account_login"), {"login": user.email, "password": "correct-horse-battery"}
    )
    assert len(checks) == 1
    assert (
        client.session[BACKEND_SESSION_KEY] == "allauth.account.auth_backends.AuthenticationBackend"
    )


@pytest.mark.postgres
def test_a_user_model_with_converting_fields_is_read_by_the_orm(monkeypatch):
    from portal import auth_backend

    user = User.objects.create(username="jane", email="jane@example.com")
    monkeypatch.setattr(auth_backend, "_needs_converters", lambda: True)
    reads = []
    real_get = QuerySet.get
    monkeypatch.setattr(
        QuerySet, "get", lambda self, *a, **k: reads.append(1) or real_get(self, *a, **k)
    )
    assert AuthenticationBackend().get_user(user.pk) == user and reads == [1]

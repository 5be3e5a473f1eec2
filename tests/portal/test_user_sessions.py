"""A sign-in records its session for the list of signed-in devices, as allauth's
own receiver did, in one upsert instead of a transaction with a savepoint."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.customers.test_signin import CONFIRM, code_from_outbox, request_code
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _sign_in(client, capture, email="jane@example.com"):
    request_code(client, email, capture)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(CONFIRM, {"code": code_from_outbox()}, HTTP_USER_AGENT="Phone/1.0")
    assert response.status_code == 302
    return queries


def test_a_sign_in_records_its_session_once(client, django_capture_on_commit_callbacks):
    customer = CustomerFactory(email="jane@example.com")
    queries = _sign_in(client, django_capture_on_commit_callbacks)

    recorded = UserSession.objects.get()
    customer.refresh_from_db()
    assert recorded.session_key == client.session.session_key
    assert recorded.user == customer.user
    assert (recorded.ip, recorded.user_agent) == ("127.0.0.1", "Phone/1.0")
    # The list of earlier sessions, then one upsert: no get_or_create, no savepoint.
    statements = [
        q["sql"] for q in queries.captured_queries if "usersessions_usersession" in q["sql"]
    ]
    assert len(statements) == 2, statements
    assert not any("SAVEPOINT" in q["sql"] for q in queries.captured_queries[-4:])


def test_ended_sessions_are_dropped_at_the_next_sign_in(client, django_capture_on_commit_callbacks):
    CustomerFactory(email="jane@example.com")
    _sign_in(client, django_capture_on_commit_callbacks)
    first = client.session.session_key
    client.logout()
    _sign_in(client, django_capture_on_commit_callbacks)

    keys = set(UserSession.objects.values_list("session_key", flat=True))
    assert keys == {client.session.session_key} and first not in keys


def test_allauths_own_receiver_no_longer_runs():
    from allauth.account.signals import user_logged_in
    from allauth.usersessions import signals

    receivers = [r() for _key, r, *_ in user_logged_in.receivers]
    assert signals.on_user_logged_in not in receivers

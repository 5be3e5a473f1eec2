"""The PostgreSQL backend checks a connection's health only when it has been idle:
a busy connection skips the SELECT 1, and a dropped idle one is still replaced."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import close_old_connections, connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def health_checks(monkeypatch):
    """Health checks on (as in production) and every check counted."""
    connection = connections["default"]  # this thread's wrapper, not the proxy
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    was_enabled, connection.health_check_enabled = connection.health_check_enabled, True
    checks = []
    real = type(connection).is_usable
    monkeypatch.setattr(type(connection), "is_usable", lambda self: checks.append(1) or real(self))
    yield checks
    connection.health_check_enabled = was_enabled


def _new_request():
    """What Django does when a request starts."""
    close_old_connections()


def _query() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_connection_used_a_moment_ago_is_not_checked(health_checks):
    _query()
    _new_request()
    _query()
    assert health_checks == []


def test_an_idle_connection_is_checked_and_a_dropped_one_replaced(health_checks):
    pid = _query()
    connections["default"].last_used -= 5  # idle for a while
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        # The backend ends a moment after the signal: wait until it is gone.
        for _ in range(200):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                break
            time.sleep(0.02)
    _new_request()
    assert _query() != pid  # checked, found dead, reconnected: the request succeeds
    assert health_checks == [1]


def _admin_dsn() -> str:
    s = connections["default"].settings_dict
    return f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} user={s['USER']} dbname={s['NAME']}"

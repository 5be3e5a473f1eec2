"""Shared fixtures: customer A (alice) and customer B (bob), each with a login
and an exposure in the same incident; markers for tests that need real services."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from django.core.cache import cache
from django.db.backends.signals import connection_created

from customers.masking import mask_value
from tests.factories import CustomerFactory, ExposureFactory, IncidentFactory, UserFactory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    for item in items:
        if "postgres" in item.keywords and "postgresql" not in engine:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL"))
        if "browser" in item.keywords and not CHROMIUM:
            item.add_marker(pytest.mark.skip(reason="needs Chromium: apt-get install chromium"))


def pytest_sessionfinish(session, exitstatus):
    """In CI nothing may skip: a skipped test there is a test that never ran."""
    if os.environ.get("FIRSTHAND_FAIL_ON_SKIP") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        reporter.write_line(f"FIRSTHAND_FAIL_ON_SKIP: {skipped} test(s) skipped", red=True)
        session.exitstatus = 1


# --- rows that migrations seed, kept across transactional tests ---------------------
#
# Live-server and other transactional tests end with a flush that empties every
# table, the data classes, steps, roles and permissions the migrations seeded
# included. Django's serialized rollback does not help with Playwright (the test
# sees another connection object), so the rows are saved once and put back
# after each such test, outside any test transaction.
_seeded: dict[str, str] = {}


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    return bool(
        (marker and marker.kwargs.get("transaction"))
        or "transactional_db" in fixtures
        or "live_server" in fixtures
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    # After the last test the session's fixtures are gone, the test database with them.
    if nextitem is not None and _is_transactional(item) and "rows" in _seeded:
        from django.core.management import call_command
        from django.db import connection
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
            connection.creation.deserialize_db_from_string(_seeded["rows"])


@pytest.fixture(autouse=True)
def _clear_locmem_outbox():
    # The locmem channels keep what they "sent" per process; each test starts empty.
    from notices.channels import locmem

    locmem.outbox.clear()
    locmem.invalid_numbers.clear()
    yield
    locmem.outbox.clear()
    locmem.invalid_numbers.clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate-limit counters live in the cache; every test starts from zero.
    from customers.dashboard_page import clear_pages
    from portal import generations, prerender

    cache.clear()
    clear_pages()
    prerender.clear()
    generations.forget()
    yield


def _inside_an_event_loop() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture(autouse=True)
def _close_connections_after_a_transactional_test(request):
    """Set up first, so torn down last: after pytest-django's flush. Once the
    browser tests have started Playwright's sync API, its event loop runs in
    this thread until the session ends, and Django keeps connections per
    asyncio context there: every test's own (and such a flush's) is one that
    nothing else closes, and PostgreSQL would refuse to drop the test database
    at the end ("being accessed by other users")."""
    yield
    marker = request.node.get_closest_marker("django_db")
    in_transaction_mode = marker is not None and marker.kwargs.get("transaction", False)
    if (
        in_transaction_mode
        or {"transactional_db", "live_server"} & set(request.fixturenames)
        or _inside_an_event_loop()
    ):
        from django.db import connections

        connections.close_all()


@pytest.fixture(autouse=True)
def _default_language():
    # A test client's request leaves its language active in this thread: a test
    # that ends on a French page must not make the next one French.
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture
def incident(db):
    return IncidentFactory(slug="customer-data-breach")


def _customer_with_login(username: str, ref: str, incident, fields: dict):
    user = UserFactory(username=username, email=f"{username}@example.com")
    customer = CustomerFactory(
        customer_ref=ref, email=user.email, first_name=username.capitalize(), user=user
    )
    ExposureFactory(incident=incident, customer=customer, fields=fields)
    return customer


@pytest.fixture
def alice(db, incident):
    """Customer A: passport and date of birth exposed."""
    return _customer_with_login(
        "alice",
        "A0000001",
        incident,
        {
            "passport_number": mask_value("passport_number", "PA1234821"),
            "date_of_birth": mask_value("date_of_birth", "1987-03-14"),
        },
    )


@pytest.fixture
def bob(db, incident):
    """Customer B: driver's licence number exposed."""
    return _customer_with_login(
        "bob",
        "B0000002",
        incident,
        {"drivers_licence_number": mask_value("drivers_licence_number", "987654312")},
    )


def cache_keys(cache) -> list[str]:
    """The names a cache holds, whichever backend the run uses: a test's own
    locmem cache, or Redis when CACHE_URL points there (CI)."""
    if hasattr(cache, "_cache"):
        return list(cache._cache)
    return list(cache.keys("*"))


def record_sign_in(session, user, *, at: float | None = None) -> None:
    """What allauth records in a session when someone signs in by code (the
    recent authentication a contact change asks for); ``at`` to backdate it."""
    from allauth.account.internal.flows.login import (
        _AUTHENTICATION_METHODS_USER_SESSION_KEY,
        AUTHENTICATION_METHODS_SESSION_KEY,
    )

    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "code", "at": time.time() if at is None else at, "email": user.email}
    ]


def signed_in_by_code(client, user, *, at: float | None = None):
    """``client.force_login``, and the record allauth keeps of a sign-in by code."""
    client.force_login(user)
    session = client.session
    record_sign_in(session, user, at=at)
    session.save()
    return client


@pytest.fixture
def alice_client(client, alice):
    return signed_in_by_code(client, alice.user)


def _allow_audit_purge_in_tests(sender, connection, **kwargs):
    """Transactional tests empty every table between tests, the audit log too;
    the append-only tests turn this off to see the database refuse."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET firsthand.audit_purge = 'on'")
    else:
        connection.audit_purge = True


connection_created.connect(_allow_audit_purge_in_tests)


@pytest.fixture(scope="session", autouse=True)
def _test_database_ready(django_db_setup, django_db_blocker):
    """Once the test database exists: let flushes empty the audit log, and keep
    the seeded rows to put back after transactional tests."""
    from django.db import connection, connections

    with django_db_blocker.unblock():
        if "portal_auditentry" not in connection.introspection.table_names():
            return  # no test in this run uses the database: none was made
        for open_connection in connections.all():
            open_connection.ensure_connection()
            _allow_audit_purge_in_tests(None, open_connection)
        _seeded["rows"] = connection.creation.serialize_db_to_string()

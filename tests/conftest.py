"""Shared fixtures: customer A (alice) and customer B (bob), each with a login
and an exposure in the same incident; markers for tests that need real services."""

from __future__ import annotations

import os
import shutil

import pytest
from django.core.cache import cache

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


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate-limit counters live in the cache; every test starts from zero.
    from customers.selectors import clear_caches

    cache.clear()
    clear_caches()
    yield


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


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client

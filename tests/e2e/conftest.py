"""Playwright with Debian's Chromium against Django's live server."""

from __future__ import annotations

import os

import pytest

from tests.conftest import CHROMIUM

# Playwright's sync API keeps an event loop on the main thread; the ORM calls
# the tests make between page actions are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.browser)


@pytest.fixture
def alerted(alice, incident):
    """The direct alert has gone out, written by one staff member and approved by
    another; Alice's is a text message (eager tasks send it in this process)."""
    from notices import services
    from notices.models import Delivery, DeliveryStatus
    from portal.roles import COMMUNICATIONS, INCIDENT_LEAD
    from tests.staff import staff_with_role

    author = staff_with_role(COMMUNICATIONS, username="casey", email="casey@example.com")
    lead = staff_with_role(INCIDENT_LEAD, username="lee", email="lee@example.com")
    campaign = services.campaign_create(incident=incident, channels=["sms", "email"], by=author)
    services.campaign_approve(campaign=campaign, by=lead)
    services.campaign_send(campaign=campaign, by=lead)
    return Delivery.objects.get(
        customer=alice, status__in=[DeliveryStatus.SENT, DeliveryStatus.DELIVERED]
    )


@pytest.fixture(scope="session", autouse=True)
def _database_before_the_browser(django_db_setup, django_db_blocker):
    """Create the test database before Playwright starts its event loop.

    Inside that loop Django keeps its connections per asyncio context, not per
    thread: set up from there, the connection that created (and serialized) the
    test database was one nobody closed, and dropping the database at the end
    failed ("being accessed by other users")."""
    from django.db import connections

    with django_db_blocker.unblock():
        connections.close_all()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}

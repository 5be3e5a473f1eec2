"""A staff member composes a campaign in the admin, a second approves and sends
it (with a real Celery worker in the test), and the customer then sees the
message in Messages.

Everything the people do goes through the browser: the staff sign in through
allauth with a password and a TOTP code, the customer with a code emailed to
them. The work goes through a real Celery worker, started in this process on
an in-memory broker, so the web requests only enqueue and the worker plans,
renders and sends (to the locmem SMS channel and Django's locmem mail, which
this process can read).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.core import mail
from django.db import connections
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from notices.channels import locmem
from notices.models import Campaign, Delivery, DeliveryStatus
from portal.celery import app as celery_app
from portal.roles import COMMUNICATIONS, INCIDENT_LEAD
from portal.templatetags.fh import reference as format_reference
from tests.e2e.a11y import (
    DESKTOP,
    NARROW,
    PHONE,
    assert_accessible,
    assert_reflows,
    screenshot,
)
from tests.e2e.totp import totp_code
from tests.staff import staff_with_role

pytestmark = pytest.mark.django_db(transaction=True)

STAFF_PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
SENT = [DeliveryStatus.SENT, DeliveryStatus.DELIVERED]

# Every queue a task can be routed to, so no message waits for a worker that never comes.
QUEUES = sorted(
    {
        settings.CELERY_TASK_DEFAULT_QUEUE,
        *settings.CELERY_QUEUES_ALL,
        *(route["queue"] for route in settings.CELERY_TASK_ROUTES.values()),
    }
)


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


# --- a real Celery worker --------------------------------------------------------


def _reset_broker_connections() -> None:
    """Make the next message take a connection to the broker now configured.

    kombu keeps one pool per broker URL for the whole process; the app only
    caches which one it uses, so forgetting that is enough (closing it would
    break the next test that uses the same URL).
    """
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def celery_worker(live_server, monkeypatch) -> Iterator[object]:
    """A worker on every queue, in a thread of this process, on an in-memory broker.

    Tests run with CELERY_TASK_ALWAYS_EAGER; here tasks really go through a
    broker. ``memory://`` makes that the same with or without Redis (and keeps
    other test runs sharing a Redis out of it), and the worker shares this
    process's locmem channels and mail outbox.

    PostgreSQL: a pool of four threads, each with its own connection, so the
    campaign's dispatchers really run side by side. SQLite: the test database
    lives in memory, where a second connection gets "database table is locked"
    as soon as two write at once; so, as Django does for the live server, the
    worker borrows the test's connection, and runs one task at a time.
    """
    shared = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()
    }

    def use_shared_connection(**kwargs) -> None:
        for alias, conn in shared.items():
            connections[alias] = conn

    def close_connections(**kwargs) -> None:
        # A pool thread's connections would outlive the test (PostgreSQL keeps
        # them for CONN_MAX_AGE) and hold the test database open.
        if not shared:
            connections.close_all()

    overrides = {
        "task_always_eager": False,
        "broker_url": "memory://",
        # Kombu's virtual transports poll every second by default.
        "broker_transport_options": {"polling_interval": 0.05},
        "worker_hijack_root_logger": False,
    }
    saved = {key: celery_app.conf[key] for key in overrides}
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", overrides["broker_url"])
    celery_app.conf.update(overrides)
    _reset_broker_connections()
    for conn in shared.values():
        conn.inc_thread_sharing()
    task_prerun.connect(use_shared_connection, weak=False)
    task_postrun.connect(close_connections, weak=False)
    try:
        with start_worker(
            celery_app,
            pool="solo" if shared else "threads",
            concurrency=1 if shared else 4,
            perform_ping_check=False,
            queues=QUEUES,
            shutdown_timeout=60,
        ) as worker:
            yield worker
            # Countdown tasks (the dispatchers' next look) must not reach a later test.
            with celery_app.connection_for_write() as connection:
                for queue in QUEUES:
                    connection.default_channel.queue_purge(queue)
    finally:
        task_prerun.disconnect(use_shared_connection)
        task_postrun.disconnect(close_connections)
        for conn in shared.values():
            conn.dec_thread_sharing()
        celery_app.conf.update(saved)
        _reset_broker_connections()


# --- people in browsers ------------------------------------------------------------


def _staff_member(role: str, username: str):
    user = staff_with_role(role, username=username, email=f"{username}@example.com")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def _sign_in_staff(context: BrowserContext, user, secret: str) -> Page:
    """Through allauth with a password and a TOTP code, as staff must."""
    page = context.new_page()
    page.goto("/admin/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator("#site-name")).to_be_visible()
    return page


def _emailed_code(to: str) -> str | None:
    for message in reversed(mail.outbox):
        if to in message.to and (
            found := re.search(r"^\s*([A-Z0-9]{3,}-?[A-Z0-9]{3,})\s*$", message.body, re.M)
        ):
            return found.group(1)
    return None


def _sign_in_customer_by_code(page: Page, email: str) -> None:
    page.goto("/accounts/login/code/")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a code").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Enter your sign-in code")
    # The email leaves through the worker's transactional queue.
    code = wait_for(lambda: _emailed_code(email), timeout=30, what=f"a sign-in code for {email}")
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


@pytest.fixture
def new_context(browser: Browser, live_server) -> Iterator[Callable[..., BrowserContext]]:
    contexts: list[BrowserContext] = []

    def make(**options) -> BrowserContext:
        context = browser.new_context(base_url=live_server.url, **options)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


# --- the journey -------------------------------------------------------------------


def test_campaign_written_by_one_approved_and_sent_by_another_reaches_the_customers_messages(
    new_context, alice, incident, celery_worker
):
    locmem.outbox.clear()
    comms, comms_secret = _staff_member(COMMUNICATIONS, "casey")
    lead, lead_secret = _staff_member(INCIDENT_LEAD, "lee")

    # Communications writes the campaign: the messages are the built-in defaults.
    author = _sign_in_staff(new_context(viewport=DESKTOP), comms, comms_secret)
    author.goto("/admin/notices/campaign/add/")
    author.get_by_label("Incident").select_option(label=incident.title)
    author.get_by_label("Name").fill("Passport holders, SMS first")
    author.get_by_label("Channel order").fill("sms, email")
    author.get_by_role("button", name="Save", exact=True).click()
    expect(author).to_have_url(re.compile(r"/admin/notices/campaign/\d+/review/$"))
    review_path = re.search(r"/admin/.*$", author.url).group(0)
    expect(author.locator(".fh-status")).to_contain_text("Draft")
    expect(author.locator(".fh-status")).to_contain_text("sms,email")
    expect(author.get_by_text("1 affected customer in the audience")).to_be_visible()
    expect(author.locator(".fh-preview h3")).to_have_text(
        ["email · en", "email · fr", "sms · en", "sms · fr"]
    )
    # Nobody approves their own campaign.
    expect(author.get_by_text("Another staff member must approve this campaign.")).to_be_visible()
    expect(author.get_by_role("button", name="Approve")).to_have_count(0)
    campaign = Campaign.objects.get(name="Passport holders, SMS first")
    assert campaign.created_by == comms and campaign.status == Campaign.Status.DRAFT

    # The incident lead finds it in the list, approves it and sends it.
    approver = _sign_in_staff(new_context(viewport=DESKTOP), lead, lead_secret)
    approver.goto("/admin/notices/campaign/")
    approver.get_by_role("row", name=re.compile("Passport holders, SMS first")).get_by_role(
        "link", name="Review"
    ).click()
    expect(approver).to_have_url(re.compile(f"{re.escape(review_path)}$"))
    approver.get_by_role("button", name="Approve").click()
    expect(approver.get_by_text("Campaign approved.")).to_be_visible()
    sending_started = time.monotonic()
    approver.get_by_role("button", name="Send now").click()
    expect(approver.get_by_text("Sending has started.")).to_be_visible()

    # The worker plans and sends: SMS is the first channel and Alice has a phone.
    delivery = wait_for(
        lambda: Delivery.objects.filter(campaign=campaign, customer=alice, status__in=SENT).first(),
        timeout=30,
        what="Alice's delivery sent by the worker",
    )
    wait_for(
        lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED,
        timeout=30,
        what="the campaign completed",
    )
    sent_within = time.monotonic() - sending_started
    assert delivery.channel == "sms" and delivery.reference
    [sms] = [m for m in locmem.outbox if m.reference == delivery.reference]
    assert sms.to == alice.phone
    assert format_reference(delivery.reference) in sms.body
    assert sent_within < 30

    approver.reload()
    expect(approver.locator(".fh-status")).to_contain_text("Completed")
    expect(approver.locator(".fh-status")).to_contain_text("Approved by lee")
    expect(approver.locator('#progress [data-field="done"]')).to_have_text("1")
    screenshot(approver, "admin-campaign-review")

    # Alice signs in with a code and finds the message, with its reference, in Messages.
    customer = new_context(viewport=PHONE).new_page()
    _sign_in_customer_by_code(customer, alice.email)
    customer.goto("/messages/")
    message = customer.locator("article").filter(has_text=format_reference(delivery.reference))
    expect(message).to_have_count(1)
    expect(message).to_contain_text("passport number")
    expect(message).to_contain_text("We never ask for passwords, codes or payment.")
    screenshot(customer, "messages-phone")
    customer.set_viewport_size(DESKTOP)
    expect(message).to_be_visible()
    screenshot(customer, "messages-desktop")


# --- the Messages page, checked for accessibility -------------------------------------


@pytest.fixture
def messages_page(new_context, live_server, alice, alerted) -> Callable[[dict], Page]:
    """Alice, signed in, with one SMS sent."""
    client = Client()
    client.force_login(alice.user)
    cookie = {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }

    def open_at(viewport: dict) -> Page:
        context = new_context(viewport=viewport)
        context.add_cookies([cookie])
        page = context.new_page()
        page.goto("/messages/")
        expect(page.locator("article")).to_have_count(1)
        return page

    return open_at


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_messages_page_has_no_serious_accessibility_violations(messages_page, viewport):
    page = messages_page(viewport)
    assert_accessible(page, context="the customer's Messages page")


def test_messages_page_reflows_at_320_css_pixels(messages_page):
    page = messages_page(NARROW)
    assert_reflows(page)


def test_a_lead_publishes_a_notice_from_its_admin_page_in_a_browser(
    new_context, incident, settings
):
    # The publish form sat inside the notice's change form: the browser dropped
    # it, and "Publish now" posted the change form instead (nothing published).
    from notices.models import Notice
    from tests.notices.conftest import BREACH_BODY, BREACH_BODY_FR

    settings.NOTICE_LINK_HOSTS = ["www.oaic.gov.au"]  # the sample text's link
    author, _secret = _staff_member(COMMUNICATIONS, "casey")
    lead, secret = _staff_member(INCIDENT_LEAD, "lee")
    notice = Notice.objects.create(
        incident=incident,
        slug="what-happened",
        kind="breach",
        audience="customers",
        title="What happened",
        title_fr="Ce qui s'est passé",
        summary="In short.",
        summary_fr="En bref.",
        body=BREACH_BODY,
        body_fr=BREACH_BODY_FR,
        created_by=author,
    )
    page = _sign_in_staff(new_context(), lead, secret)
    page.goto(f"/admin/notices/notice/{notice.pk}/change/")
    page.get_by_role("button", name="Publish now").click()
    expect(page.locator(".messagelist")).to_contain_text("Published.")
    notice.refresh_from_db()
    assert (notice.status, notice.published_by) == ("published", lead)

"""Reflow at 320 CSS pixels (WCAG 1.4.10) in states the page-by-page suite
(test_accessibility.py) does not reach: what staff may write in a notice, a
customer affected by several incidents, and long values a customer typed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from customers.masking import mask_value
from notices.models import ContactVerification, Notice
from tests.e2e.a11y import NARROW, assert_reflows
from tests.factories import ExposureFactory, IncidentFactory

pytestmark = pytest.mark.django_db(transaction=True)

LONG_LINE = "Reference numbers we will use in our letters: " + " ".join(["K7QM-3TXP-9HWC"] * 8)
LONG_ADDRESS = "someone.with.a.rather.long.name" + "x" * 40 + "@example.com"


@pytest.fixture
def narrow(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport=NARROW)
    yield context.new_page()
    context.close()


def _sign_in(page: Page, user, base_url: str) -> None:
    client = Client()
    client.force_login(user)
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": client.session.session_key}
    page.context.add_cookies([{**cookie, "url": base_url}])


def test_a_notice_with_an_indented_block_a_table_and_an_image_reflows(narrow, incident):
    # Text pasted with a four-space indent becomes a code block in Markdown.
    body = (
        "## What happened\nSomeone reached our customer database.\n\n"
        f"    {LONG_LINE}\n\n"
        "| What was exposed | What to do |\n|---|---|\n"
        "| Passport number | Decide whether to replace your passport |\n\n"
        # Images come only from this site: one of ours, 1200 pixels wide.
        "![Where to find your reference](/static/portal/share.png)\n"
    )
    notice = Notice.objects.create(
        incident=incident,
        slug="wide-notice",
        audience=Notice.Audience.PUBLIC,
        title="Notice of data breach",
        title_fr="Avis de violation de données",
        summary="What happened.",
        summary_fr="Ce qui s'est passé.",
        body=body,
        body_fr=body,
        status=Notice.Status.PUBLISHED,
        published_at=timezone.now(),
    )
    narrow.goto(notice.get_absolute_url())
    expect(narrow.locator(".notice-body pre")).to_contain_text("K7QM-3TXP-9HWC")
    expect(narrow.locator(".notice-body img")).to_have_js_property("complete", True)
    assert_reflows(narrow)


def test_the_dashboard_of_a_customer_affected_twice_reflows(narrow, live_server, alice):
    second = IncidentFactory(slug="billing-system-intrusion", title="Billing system intrusion")
    ExposureFactory(
        incident=second,
        customer=alice,
        fields={"email": mask_value("email", "alice.with.a.long.address@example.com")},
    )
    _sign_in(narrow, alice.user, live_server.url)
    narrow.goto("/dashboard/")
    expect(narrow.locator("section.incident")).to_have_count(2)
    assert_reflows(narrow)


def test_preferences_waiting_for_a_long_new_address_reflow(narrow, live_server, alice):
    verification = ContactVerification.objects.create(
        customer=alice,
        kind="email",
        value=LONG_ADDRESS,
        code_hash="x",
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    client = Client()
    client.force_login(alice.user)
    session = client.session
    session["notices.contact_pending"] = {"email": str(verification.public_id)}
    session.save()
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session.session_key}
    narrow.context.add_cookies([{**cookie, "url": live_server.url}])
    narrow.goto("/preferences/")
    expect(narrow.locator("#confirm-email")).to_contain_text(LONG_ADDRESS)
    assert_reflows(narrow)

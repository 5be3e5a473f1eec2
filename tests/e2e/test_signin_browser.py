"""A customer signs in by code, in a real browser, and reads the dashboard."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from tests.factories import CustomerFactory, ExposureFactory


@pytest.mark.django_db(transaction=True)
def test_customer_signs_in_by_code_and_reads_the_dashboard(page: Page, live_server, incident):
    customer = CustomerFactory(email="jane@example.com", first_name="Jane")
    ExposureFactory(
        incident=incident,
        customer=customer,
        fields={"passport_number": "•••• 4821", "date_of_birth": "••/••/1987"},
    )

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Check if you were affected").click()
    page.get_by_label("Email").fill("jane@example.com")
    page.get_by_role("button", name="Email me a code").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Enter your sign-in code")
    code = re.search(r"^\s*([A-Z0-9]{3,}-?[A-Z0-9]{3,})\s*$", mail.outbox[-1].body, re.M).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in", exact=True).click()

    banner = page.locator(".banner-alert").first
    expect(banner).to_contain_text("Your passport number and date of birth were exposed.")
    expect(page.get_by_text("•••• 4821")).to_be_visible()

    first_step = page.locator(".checklist li").first
    first_step.get_by_role("button", name=re.compile("Mark as done")).click()
    expect(page.get_by_text(re.compile(r"1 of \d+ recommended steps done"))).to_be_visible()

"""A customer's visit after the breach, in a real browser, from start to end.

Alice got our text message. She signs in with a code we email her, reads on
her dashboard what of hers was exposed, ticks off a recommended step, finds
our message and its reference, tells us to email her first, checks on "Is this
message from us?" that our reference is ours and a scammer's is not, and
switches the site to French.

Every page involved works with plain form posts, so the journey runs twice:
with JavaScript, as most people browse, and without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from customers.models import Customer, StepProgress
from notices.models import Delivery
from portal.templatetags.fh import reference as format_reference
from tests.e2e.a11y import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

NOT_OURS = "ABCD-EFGH-JKLM"  # well formed, never issued
PROGRESS = re.compile(r"(\d+) of (\d+) recommended steps done")


@pytest.fixture(params=[True, False], ids=["with-javascript", "without-javascript"])
def visitor(request, browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, java_script_enabled=request.param
    )
    yield context.new_page()
    context.close()


def _emailed_code(to: str) -> str:
    [code] = [
        found.group(1)
        for message in mail.outbox
        if to in message.to
        and (found := re.search(r"^\s*([A-Z0-9]{3,}-?[A-Z0-9]{3,})\s*$", message.body, re.M))
    ]
    return code


def _progress(page: Page) -> tuple[int, int]:
    text = page.locator(".progress-text").first.inner_text()
    found = PROGRESS.search(text)
    assert found, text
    return int(found.group(1)), int(found.group(2))


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def test_customer_signs_in_reads_acts_checks_a_message_and_switches_to_french(
    visitor: Page, alice: Customer, alerted: Delivery, incident
):
    page = visitor
    reference = format_reference(alerted.reference)
    assert alice.preferred_channel != "email" and alice.preferred_language == "en"

    # Sign in: the way in from the home page asks for an email and sends a code there.
    page.goto("/")
    page.get_by_role("link", name="Check if you were affected").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/code/"))
    page.get_by_label("Email").fill(alice.email)
    page.get_by_role("button", name="Email me a code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your sign-in code")
    page.get_by_label("Code").fill(_emailed_code(alice.email))
    page.get_by_role("button", name="Sign in", exact=True).click()

    # The dashboard: the answer comes first, then the fields, masked, then what to do.
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Alice")
    expect(page.locator("main h2").first).to_have_text(
        re.compile(r"Affected\s+Your passport number and date of birth were exposed\.")
    )
    passport = page.get_by_role("article", name="Passport number")
    expect(passport).to_contain_text("•••• 821")
    done, total = _progress(page)
    assert done == 0 and total >= 1

    # Tick the first step: a form post, back on the dashboard at that step.
    step = passport.locator(".checklist li").first
    anchor = step.get_attribute("id")  # step-<incident>-<step>
    step_code = anchor.removeprefix(f"step-{incident.slug}-")
    step.get_by_role("button", name=re.compile(r"^Mark as done")).click()
    expect(page).to_have_url(re.compile(rf"/dashboard/#{anchor}$"))
    step = page.locator(f"#{anchor}")
    expect(step.get_by_role("button", name=re.compile(r"^Mark as not done"))).to_be_visible()
    expect(step).to_contain_text("Done:")
    assert _progress(page) == (1, total)
    expect(page.locator("progress").first).to_have_attribute("value", "1")
    assert list(
        StepProgress.objects.filter(customer=alice).values_list("step__code", flat=True)
    ) == [step_code]
    page.reload()
    assert _progress(page) == (1, total)

    # Messages: our text, with the reference it carried.
    _nav(page, "Messages")
    message = page.get_by_role("article").filter(has_text="Reference")
    expect(message).to_have_count(1)
    expect(message).to_contain_text("passport number")
    assert message.locator("code").inner_text() == reference

    # Preferences: email first from now on.
    _nav(page, "Preferences")
    page.get_by_role("radio", name="Email", exact=True).check()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status")).to_contain_text("Your preferences are saved.")
    expect(page.get_by_role("radio", name="Email", exact=True)).to_be_checked()
    alice.refresh_from_db()
    assert alice.preferred_channel == "email"

    # Is this message from us? Our reference is; one we never issued is not.
    _nav(page, "Is this message from us?")
    page.get_by_label("The reference in the message").fill(reference)
    page.get_by_role("button", name="Check", exact=True).click()
    expect(
        page.get_by_role("heading", name=re.compile("Yes, we sent this message"))
    ).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        re.compile(rf"We sent it by text message on .+ to a number ending in {alice.phone[-2:]}\.")
    )
    page.get_by_label("The reference in the message").fill(NOT_OURS)
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("We did not send this message.")
    expect(page.get_by_role("heading", name=re.compile("Yes, we sent"))).to_have_count(0)

    # Français: the switch in the header, remembered on her record.
    _nav(page, "My status")
    page.get_by_role("button", name="Français").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Alice")
    expect(page.locator("main h2").first).to_contain_text(
        "Ces données vous concernant ont été exposées"
    )
    expect(page.locator(".progress-text")).to_contain_text(
        re.compile(r"Actions recommandées effectuées\s: 1 sur \d+")
    )
    expect(page.get_by_role("button", name=re.compile(r"^Marquer comme non fait"))).to_have_count(1)
    alice.refresh_from_db()
    assert alice.preferred_language == "fr"

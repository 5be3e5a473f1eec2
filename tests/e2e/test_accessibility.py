"""Every page a customer can reach, checked in a real browser: axe-core finds no
serious or critical violation at phone (375 px) and desktop (1280 px) width, and
the page reflows at 320 px (WCAG 1.4.10) with no horizontal scrolling.

Each case opens one page in one state (empty, with an answer, with errors, in
French…) and first checks that the browser really is on that page in that
state, so a redirect to the sign-in page cannot pass for the page under test.
The main pages are also kept as screenshots for the README.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

import pytest
from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)
from allauth.usersessions.models import UserSession
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.core import mail
from django.test import Client, RequestFactory
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from customers import claims
from customers import services as customer_services
from customers.hashing import birth_date_hash
from customers.models import Customer, Step, User
from notices.models import Notice, NoticeUpdate
from portal.roles import INCIDENT_LEAD
from portal.templatetags.fh import reference as format_reference
from tests.e2e.a11y import DESKTOP, NARROW, PHONE, assert_accessible, assert_reflows, screenshot
from tests.factories import CustomerFactory, UserFactory
from tests.staff import staff_with_role

pytestmark = pytest.mark.django_db(transaction=True)

BORN = date(1987, 3, 14)
NOT_OURS = "ABCD-EFGH-JKLM"  # well formed, never issued
BROWSER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


# --- the people and what we sent them ----------------------------------------------


@dataclass
class World:
    """What a case needs: who signs in, and the rows its page shows."""

    alice: Customer
    base_url: str
    values: dict[str, str] = field(default_factory=dict)


def _publish_notice(incident, author) -> Notice:
    notice = Notice.objects.create(
        incident=incident,
        slug="customer-data-breach-notice",
        kind=Notice.Kind.BREACH,
        audience=Notice.Audience.PUBLIC,
        title="Notice of data breach",
        title_fr="Avis de violation de données",
        summary="Someone reached our customer database. Here is what to do.",
        summary_fr="Quelqu'un a accédé à notre base clients. Voici que faire.",
        body="## What happened\nSomeone reached our customer database.\n"
        "## What you can do\nSign in to see what of yours was exposed.",
        body_fr="## Ce qui s'est passé\nQuelqu'un a accédé à notre base clients.\n"
        "## Ce que vous pouvez faire\nConnectez-vous pour savoir ce qui vous concerne.",
        status=Notice.Status.PUBLISHED,
        published_at=timezone.now(),
        created_by=author,
    )
    NoticeUpdate.objects.create(
        notice=notice,
        body="We have now written to every affected customer.",
        body_fr="Nous avons écrit à chaque client concerné.",
        created_by=author,
    )
    return notice


@pytest.fixture
def world(live_server, alice, incident, alerted) -> World:
    incident.actions_fr = "Nous avons fermé le point d'accès."
    incident.save(update_fields=["actions_fr"])
    reference = format_reference(alerted.reference)
    notice = _publish_notice(incident, staff_with_role(INCIDENT_LEAD, username="lena"))
    # One step done, so the checklist shows both of its states.
    first_step = Step.objects.filter(data_classes__code="passport_number").order_by("pk").first()
    customer_services.step_progress_set(customer=alice, step=first_step, done=True)
    return World(
        alice=alice,
        base_url=live_server.url,
        values={"reference": reference, "notice": notice.get_absolute_url()},
    )


def _alice(world: World) -> User:
    return world.alice.user


def _alice_on_two_devices(world: World) -> User:
    """Also signed in on another device, so the page offers to sign that out."""
    _session_cookie(world.alice.user, world.base_url)
    return world.alice.user


def _customer_not_affected(world: World) -> User:
    user = UserFactory(username="carol", email="carol@example.com")
    CustomerFactory(email=user.email, first_name="Carol", user=user)
    return user


def _alice_after_the_incident_closed(world: World) -> User:
    incident = world.alice.exposures.get().incident
    customer_services.incident_close(
        incident=incident, by=staff_with_role(INCIDENT_LEAD, username="ines")
    )
    return world.alice.user


def _login_without_customer(world: World) -> User:
    return UserFactory(username="dora", email="dora@example.com")


def _customer_with_code_only(world: World) -> User:
    """Signs in by emailed code and has never set a password."""
    user = UserFactory(username="erin", email="erin@example.com")
    user.set_unusable_password()
    user.save()
    CustomerFactory(email=user.email, first_name="Erin", user=user)
    return user


def _session_cookie(user, base_url: str, *, reauthenticated: bool = False) -> dict:
    """A session as after signing in by code, listed among the customer's
    signed-in browsers; ``reauthenticated`` as after confirming access again,
    which allauth asks before two-step verification can be turned on."""
    client = Client(HTTP_USER_AGENT=BROWSER_AGENT)
    client.force_login(user)
    session = client.session
    record = {"method": "code", "at": time.time(), "email": user.email}
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        record,
        *([{**record, "reauthenticated": True}] if reauthenticated else []),
    ]
    session.save()
    request = RequestFactory(HTTP_USER_AGENT=BROWSER_AGENT).get("/")
    request.user, request.session = user, session
    UserSession.objects.create_from_request(request)
    return {"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": base_url}


# --- the states a page is checked in -------------------------------------------------


def _submit(page: Page, button: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()


def _error_summary(page: Page) -> None:
    expect(page.locator(".error-summary")).to_be_visible()
    invalid = page.locator("[aria-invalid=true]").first
    expect(invalid).to_be_visible()
    # Marked by its border too (--alert), beside the message that says what is wrong.
    expect(invalid).to_have_css("border-top-color", "rgb(164, 22, 26)")


def _verify_empty_submit(page: Page, world: World) -> None:
    _submit(page, "Check")
    _error_summary(page)


def _report_empty_submit(page: Page, world: World) -> None:
    _submit(page, "Send the report")
    _error_summary(page)


def _report_sent(page: Page, world: World) -> None:
    page.get_by_label("How it reached you").select_option(label="Text message")
    page.get_by_label("The message", exact=True).fill(
        "Your account is locked, pay $1 at bad.example."
    )
    _submit(page, "Send the report")


def _start_email_change(page: Page, address: str) -> None:
    page.get_by_label("New email address").fill(address)
    page.locator("form").filter(has=page.get_by_label("New email address")).get_by_role(
        "button", name="Send me a code"
    ).click()


def _preferences_bad_email(page: Page, world: World) -> None:
    _start_email_change(page, "not an address")
    _error_summary(page)


def _preferences_confirm(page: Page, world: World) -> None:
    _start_email_change(page, "alice.new@example.com")
    expect(page.get_by_role("heading", name="Confirm your new email address")).to_be_visible()


def _preferences_confirm_wrong_code(page: Page, world: World) -> None:
    _preferences_confirm(page, world)
    page.get_by_label("The 6-digit code we sent").fill("000000")
    _submit(page, "Confirm")
    _error_summary(page)


def _claim_empty_submit(page: Page, world: World) -> None:
    _submit(page, "Continue")
    _error_summary(page)


def _claim_to_confirm(page: Page, world: World) -> None:
    former = CustomerFactory(
        customer_ref="FM000001",
        email="",
        email_verified=False,
        is_current=False,
        birth_date_hash=birth_date_hash(BORN.isoformat()),
    )
    code = claims.claim_code_issue(customer=former, via="support")
    page.get_by_label("Customer reference").fill(former.customer_ref)
    page.get_by_label("Date of birth").fill(BORN.isoformat())
    page.get_by_label("Claim code").fill(code)
    page.get_by_label("Your email address").fill("former@example.com")
    _submit(page, "Continue")


def _request_login_code(page: Page, world: World) -> None:
    page.get_by_label("Email").fill(world.alice.email)
    _submit(page, "Email me a code")


def _login_wrong_password(page: Page, world: World) -> None:
    page.get_by_label("Email").fill(world.alice.email)
    page.get_by_label("Password").fill("not the password")
    _submit(page, "Sign in")
    expect(page.locator(".error-summary")).to_be_visible()


def _password_reset_sent(page: Page, world: World) -> None:
    page.get_by_label("Email").fill(world.alice.email)
    page.get_by_role("button", name=re.compile("reset", re.I)).click()


def _password_reset_from_key(page: Page, world: World) -> None:
    _password_reset_sent(page, world)
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/done/$"))
    [link] = [
        found.group(0)
        for message in mail.outbox
        if (found := re.search(r"https?://\S+/accounts/password/reset/key/\S+", message.body))
    ]
    page.goto(re.sub(r"^https?://[^/]+", world.base_url, link))


def _dashboard_in_french(page: Page, world: World) -> None:
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "fr", "url": world.base_url}]
    )
    page.reload()


@dataclass(frozen=True)
class Case:
    """One page in one state: where to go, as whom, what to do there, and the
    main heading (and, where the heading is not enough, the text) that prove
    the browser got there."""

    path: str
    heading: str
    shows: str = ""
    who: Callable[[World], User] | None = None
    then: Callable[[Page, World], None] | None = None
    reauthenticated: bool = False
    screenshots: str | None = None


ALICE = _alice

CASES = {
    "home": Case("/", "Cyber attack on customer records", screenshots="home"),
    "home-signed-in": Case("/", "Cyber attack on customer records", who=ALICE),
    "dashboard-affected": Case(
        "/dashboard/", "Hello Alice", "were exposed", who=ALICE, screenshots="dashboard"
    ),
    "dashboard-not-affected": Case(
        "/dashboard/", "Hello Carol", "Your data was not affected.", who=_customer_not_affected
    ),
    "dashboard-french": Case(
        "/dashboard/",
        "Bonjour Alice",
        "ont été exposées",
        who=ALICE,
        then=_dashboard_in_french,
        screenshots="dashboard-fr",
    ),
    "dashboard-closed": Case(
        "/dashboard/",
        "Hello Alice",
        "This incident was closed on",
        who=_alice_after_the_incident_closed,
        screenshots="dashboard-closed",
    ),
    "dashboard-no-record": Case(
        "/dashboard/", "could not find a customer record", who=_login_without_customer
    ),
    "messages": Case("/messages/", "Messages we sent you", "{reference}", who=ALICE),
    "notices": Case("/notices/", "Notices", "Notice of data breach"),
    "notices-signed-in": Case("/notices/", "Notices", "Notice of data breach", who=ALICE),
    "notice": Case("{notice}", "Notice of data breach", "We have now written to every"),
    "verify": Case("/verify", "Is this message from us?"),
    "verify-genuine": Case(
        "/verify?reference={reference}",
        "Is this message from us?",
        "Yes, we sent this message.",
        screenshots="verify",
    ),
    "verify-not-ours": Case(
        f"/verify?reference={NOT_OURS}",
        "Is this message from us?",
        "We did not send this message.",
    ),
    "verify-error": Case("/verify", "Is this message from us?", then=_verify_empty_submit),
    "report": Case("/report", "Report a suspicious message"),
    "report-error": Case("/report", "Report a suspicious message", then=_report_empty_submit),
    "report-thanks": Case("/report", "Thank you for your report", then=_report_sent),
    "help": Case("/help/", "Help", screenshots="help"),
    "preferences": Case("/preferences/", "Preferences", who=ALICE, screenshots="preferences"),
    "preferences-error": Case(
        "/preferences/", "Preferences", who=ALICE, then=_preferences_bad_email
    ),
    "preferences-confirm": Case(
        "/preferences/", "Preferences", who=ALICE, then=_preferences_confirm
    ),
    "preferences-confirm-error": Case(
        "/preferences/", "Preferences", who=ALICE, then=_preferences_confirm_wrong_code
    ),
    "account": Case(
        "/account/", "Account", "Sign out of all other browsers", who=_alice_on_two_devices
    ),
    "claim": Case("/claim/", "Claim your record"),
    "claim-error": Case("/claim/", "Claim your record", then=_claim_empty_submit),
    "claim-confirm": Case("/claim/", "Check your email", then=_claim_to_confirm),
    "login": Case("/accounts/login/", "Sign in with your password"),
    "login-error": Case(
        "/accounts/login/", "Sign in with your password", then=_login_wrong_password
    ),
    "login-code": Case("/accounts/login/code/", "Sign in to check your status"),
    "login-code-confirm": Case(
        "/accounts/login/code/", "Enter your sign-in code", then=_request_login_code
    ),
    "signup-closed": Case("/accounts/signup/", "Sign Up Closed"),
    "password-reset": Case("/accounts/password/reset/", "Password Reset"),
    "password-reset-done": Case(
        "/accounts/password/reset/",
        "Password Reset",
        "We have sent you an email.",
        then=_password_reset_sent,
    ),
    "password-reset-from-key": Case(
        "/accounts/password/reset/", "Change Password", then=_password_reset_from_key
    ),
    "password-change": Case("/accounts/password/change/", "Change Password", who=ALICE),
    "password-set": Case("/accounts/password/set/", "Set Password", who=_customer_with_code_only),
    "mfa": Case("/accounts/2fa/", "Two-Factor Authentication", who=ALICE),
    "mfa-confirm-access": Case("/accounts/2fa/totp/activate/", "Confirm Access", who=ALICE),
    "mfa-totp-activate": Case(
        "/accounts/2fa/totp/activate/",
        "Activate Authenticator App",
        who=ALICE,
        reauthenticated=True,
    ),
    "sessions": Case(
        "/accounts/sessions/", "Sessions", "Sign Out Other Sessions", who=_alice_on_two_devices
    ),
}


# --- the checks --------------------------------------------------------------------

_contrast = Axe()


def assert_no_unjudged_contrast(page: Page, context: str) -> None:
    """axe reports text whose contrast it cannot judge as "incomplete", not as a
    violation; text the same colour as its background (1:1) is one such case,
    and it is unreadable. Every such node fails here, except symbols (✓, ✗)
    whose meaning the words beside them carry."""
    results = _contrast.run(
        page, options={"runOnly": ["color-contrast"], "resultTypes": ["incomplete"]}
    ).response
    unjudged = [
        f"    {' '.join(map(str, node['target']))}: {check.get('message')}"
        for rule in results["incomplete"]
        for node in rule["nodes"]
        for check in node["any"]
        if (check.get("data") or {}).get("messageKey") != "nonBmp"
    ]
    width = (page.viewport_size or {}).get("width")
    assert not unjudged, (
        f"text whose contrast axe could not judge on {context} at {width}px:\n"
        + "\n".join(unjudged)
    )


# --- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tab(browser: Browser, live_server) -> Iterator[Page]:
    """One tab for every case: a new one each time would cost more than the checks."""
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    yield context.new_page()
    context.close()


@pytest.fixture
def open_case(tab: Page, world: World) -> Callable[[Case], Page]:
    def open_(case: Case) -> Page:
        tab.context.clear_cookies()
        tab.set_viewport_size(PHONE)
        if case.who is not None:
            cookie = _session_cookie(
                case.who(world), world.base_url, reauthenticated=case.reauthenticated
            )
            tab.context.add_cookies([cookie])
        response = tab.goto(case.path.format(**world.values))
        assert response is not None and response.status < 500
        if case.then is not None:
            case.then(tab, world)
        expect(tab.get_by_role("heading", level=1)).to_contain_text(case.heading)
        expect(tab.locator("main")).to_contain_text(case.shows.format(**world.values))
        return tab

    return open_


@pytest.mark.parametrize("name", CASES)
def test_customer_page_is_accessible_and_reflows(open_case, name):
    case = CASES[name]
    page = open_case(case)
    assert_accessible(page, context=f"{name} (phone)")
    assert_no_unjudged_contrast(page, name)  # colours do not change with the width
    if case.screenshots:
        screenshot(page, f"{case.screenshots}-phone")
    page.set_viewport_size(DESKTOP)
    assert_accessible(page, context=f"{name} (desktop)")
    if case.screenshots:
        screenshot(page, f"{case.screenshots}-desktop")
    page.set_viewport_size(NARROW)
    assert_reflows(page)


def test_printed_dashboard_keeps_the_answer_and_steps_without_navigation_or_forms(open_case):
    page = open_case(CASES["dashboard-affected"])
    page.emulate_media(media="print")
    try:
        expect(page.locator(".banner-alert")).to_contain_text(
            "Your passport number and date of birth were exposed."
        )
        expect(page.get_by_text("•••• 821")).to_be_visible()
        expect(page.locator(".checklist li .step-text").first).to_be_visible()
        expect(page.locator(".site-header .brand")).to_be_visible()
        for hidden in ("nav", ".language-switch", "button", ".site-footer", ".no-print"):
            expect(page.locator(hidden).first).to_be_attached()
            for element in page.locator(hidden).all():
                expect(element).to_be_hidden()
    finally:
        page.emulate_media(media="screen")


def test_the_checks_fail_on_what_they_look_for(tab: Page):
    """A clean page made faulty on purpose: each check must then fail."""
    tab.context.clear_cookies()
    tab.set_viewport_size(PHONE)
    tab.goto("/help/")
    # Styles through the CSSOM: the site's CSP refuses inline style attributes.
    tab.evaluate(
        """() => {
        const main = document.querySelector("main");
        main.append(document.createElement("input"));
        const faint = document.createElement("p");
        faint.textContent = "Faint text";
        faint.style.color = "#c8c8c8";
        main.append(faint);
    }"""
    )
    with pytest.raises(AssertionError) as failed:
        assert_accessible(tab)
    assert "label" in str(failed.value) and "color-contrast" in str(failed.value)

    tab.reload()
    tab.evaluate(
        """() => {
        const link = document.querySelector("main a");
        link.style.color = getComputedStyle(document.body).backgroundColor;
    }"""
    )
    with pytest.raises(AssertionError, match="1:1 contrast ratio"):
        assert_no_unjudged_contrast(tab, "help")

    tab.reload()
    tab.set_viewport_size(NARROW)
    tab.evaluate(
        """() => {
        const wide = document.createElement("div");
        wide.style.width = "400px";
        wide.textContent = "Too wide";
        document.querySelector("main").append(wide);
    }"""
    )
    with pytest.raises(AssertionError, match="scrolls horizontally"):
        assert_reflows(tab)

"""The site's pages, the API docs and the admin work in a real browser under the CSP.

Chromium fires a securitypolicyviolation event for every blocked script,
style, image or connection, and logs it on the console ("Refused to …" in
older versions, "… violates the following Content Security Policy directive"
in newer ones); a page is clean when nothing is reported either way.
"""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import Page, expect

from tests.e2e.totp import totp_code
from tests.factories import StaffFactory

PUBLIC_PAGES = ["/", "/accounts/login/", "/verify", "/notices/", "/admin/login/"]


# Injected by the browser driver, so the policy under test does not apply to it.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => window.reportCspViolation(
  `${e.effectiveDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`));
"""


def _is_csp_message(text: str) -> bool:
    return "Refused to" in text or "Content Security Policy" in text


@pytest.fixture
def csp_violations(page: Page) -> list[str]:
    """Violation events, console messages and page errors that report a blocked resource."""
    reported: list[str] = []
    page.expose_function("reportCspViolation", lambda report: reported.append(report))
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda msg: reported.append(msg.text) if _is_csp_message(msg.text) else None)
    page.on("pageerror", lambda error: reported.append(f"page error: {error}"))
    return reported


def _visit(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, url
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    # One more round trip, so reports from the page's last moments are in.
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 50))")


def test_violations_are_caught(page: Page, csp_violations):
    page.route(
        "http://csp.test/",
        lambda route: route.fulfill(
            headers={"Content-Type": "text/html", "Content-Security-Policy": "script-src 'self'"},
            body="<script>document.title = 'ran'</script>",
        ),
    )
    page.goto("http://csp.test/")
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 50))")
    assert page.title() != "ran"
    assert any("script-src" in report for report in csp_violations)


@pytest.mark.django_db(transaction=True)
def test_public_pages_report_no_csp_violation(page: Page, live_server, csp_violations):
    for path in PUBLIC_PAGES:
        _visit(page, f"{live_server.url}{path}")
    assert csp_violations == []


@pytest.mark.django_db(transaction=True)
def test_api_docs_render_under_the_csp(page: Page, live_server, csp_violations):
    _visit(page, f"{live_server.url}/api/docs/")
    # The Swagger UI only renders once its script ran and the schema was fetched.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Firsthand API")
    operation = page.locator(".opblock").first
    operation.locator(".opblock-summary").click()
    # Expanded: parameters and highlighted example responses are drawn too.
    expect(operation.locator(".responses-wrapper")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert csp_violations == []


def _sign_in_to_the_admin(page: Page, base_url: str) -> None:
    """Through allauth with a password and a TOTP code, as staff must."""
    staff = StaffFactory(username="root", email="root@example.com", is_superuser=True)
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)

    _visit(page, f"{base_url}/admin/")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator("#site-name")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_admin_works_under_the_csp(page: Page, live_server, incident, csp_violations):
    _sign_in_to_the_admin(page, live_server.url)

    _visit(page, f"{live_server.url}/admin/customers/incident/")
    expect(page.locator("#result_list")).to_contain_text(incident.slug)
    # The actions bar is driven by admin/js/actions.js: selecting a row shows the counter.
    page.locator("#result_list input.action-select").first.check()
    expect(page.locator(".action-counter")).to_contain_text("1 of")

    _visit(page, f"{live_server.url}/admin/customers/incident/{incident.pk}/change/")
    # Date and time shortcuts are added by admin/js/admin/DateTimeShortcuts.js.
    expect(page.locator(".datetimeshortcuts").first).to_be_visible()

    # The two-box selector is built by admin/js/SelectFilter2.js.
    _visit(page, f"{live_server.url}/admin/notices/campaign/add/")
    expect(page.locator(".selector-available").first).to_be_visible()
    # A message row added with "Add another" gets its own SMS counter.
    page.locator(".add-row a").first.click()
    added = page.locator("textarea[data-sms-counter]:visible").first
    added.fill("Bonjour")
    expect(page.locator(".sms-counter:visible").first).to_contain_text("1 SMS segment")

    # The SMS counter is our own script (notices/sms_counter.js).
    _visit(page, f"{live_server.url}/admin/notices/incidenttemplate/add/")
    page.locator("textarea[data-sms-counter]:visible").first.fill("Hello")
    expect(page.locator(".sms-counter:visible").first).to_contain_text("1 SMS segment")
    assert csp_violations == []

"""Security headers on every page, production settings that pass check --deploy,
and templates with no inline code for the Content-Security-Policy to block."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from tests.factories import UserFactory
from tests.portal.test_settings import ROOT, run_manage

HTML_PAGES = ["/", "/accounts/login/", "/verify", "/notices/", "/api/docs/", "/admin/login/"]

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "HASH_KEY": secrets.token_urlsafe(50),
    "PORTAL_BASE_URL": "https://portal.example.com",
    # Behind one load balancer (portal.W003).
    "TRUSTED_PROXY_COUNT": "1",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "SMS_BACKEND": "notices.channels.twilio.TwilioBackend",
    "PUSH_BACKEND": "notices.channels.push.FcmBackend",
    # Whatever the shell running the tests has, nothing may be silenced here.
    "SILENCED_SYSTEM_CHECKS": "",
}


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


# --- Headers ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_send_a_csp_without_inline_scripts(client, path):
    response = client.get(path, follow=True)
    assert response.status_code == 200
    policy = csp_directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_send_the_browser_hardening_headers(client, path):
    response = client.get(path, follow=True)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]


def test_the_swagger_start_up_script_is_served_as_a_file(client):
    page = client.get("/api/docs/")
    script_url = re.search(rb'<script src="([^"]*script=[^"]*)"', page.content).group(1)
    script = client.get(script_url.decode().replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content


@pytest.mark.django_db
def test_csrf_cookie_is_http_only(client):
    response = client.get("/accounts/login/")
    assert response.cookies["csrftoken"]["httponly"]
    assert response.cookies["csrftoken"]["samesite"] == "Lax"


@pytest.mark.django_db
def test_session_cookie_is_http_only(client):
    user = UserFactory()
    response = client.post(
        "/accounts/login/", {"login": user.email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302 and response.wsgi_request.user == user
    assert response.cookies["sessionid"]["httponly"]
    assert response.cookies["sessionid"]["samesite"] == "Lax"


SIGNED_IN_PAGES = [
    "/",
    "/dashboard/",
    "/account/",
    "/messages/",
    "/preferences/",
    "/notices/",
    "/help/",
    "/accounts/sessions/",
    "/no-such-page/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_pages_are_not_stored_by_any_cache(alice_client, path):
    # Shared caches must not keep them, nor the browser for Back after signing out.
    response = alice_client.get(path)
    cache_control = response["Cache-Control"]
    assert "private" in cache_control and "no-store" in cache_control


@pytest.mark.django_db
def test_public_pages_for_visitors_stay_cacheable(client):
    response = client.get("/")
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_the_claim_pages_are_not_stored(client):
    # Not signed in yet, but they show back a reference, a date of birth, an email.
    response = client.post("/claim/", {"customer_ref": "A0000001", "birth_date": "junk"})
    assert "no-store" in response["Cache-Control"]
    session = client.session
    session["customers.claim"] = {
        "claim_id": 1,
        "email": "new@example.com",
        "code_hash": "x",
        "expires": 0,
        "tries": 0,
    }
    session.save()
    response = client.get("/claim/confirm/")
    assert b"new@example.com" in response.content
    assert "no-store" in response["Cache-Control"]


# --- Production settings ------------------------------------------------------


def test_production_settings_pass_check_deploy_without_any_warning():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNINGS" not in output


def test_production_uses_hsts_https_and_secure_cookies():
    names = [
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        # The language switch set it without Secure.
        "LANGUAGE_COOKIE_SECURE",
        "LANGUAGE_COOKIE_HTTPONLY",
    ]
    code = "from django.conf import settings; " + "; ".join(
        f"print(repr(settings.{name}))" for name in names
    )
    result = run_manage("shell", "-c", code, env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    values = dict(zip(names, result.stdout.split()[-len(names) :], strict=True))
    assert int(values.pop("SECURE_HSTS_SECONDS")) >= 31536000
    assert values == dict.fromkeys(values, "True")


# --- No inline code in templates ----------------------------------------------

TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]
TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)\b([^>]*)>", re.S)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
JSON_TYPE = re.compile(r"""\btype\s*=\s*["']application/(ld\+)?json["']""", re.I)
TEMPLATE_COMMENT = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.S)


def inline_code(html: str) -> list[str]:
    """The markup a CSP without 'unsafe-inline' would block."""
    problems = []
    html = TEMPLATE_COMMENT.sub("", html)
    for match in TAG.finditer(html):
        name, attributes = match.group(1).lower(), match.group(2)
        if name == "script" and "src=" not in attributes and not JSON_TYPE.search(attributes):
            problems.append(f"inline <script>: {match.group(0)}")
        if name == "style":
            problems.append("inline <style> element")
        if EVENT_HANDLER.search(attributes):
            problems.append(f"event handler attribute: {match.group(0)}")
        if re.search(r"\sstyle\s*=", attributes, re.I):
            problems.append(f"style attribute: {match.group(0)}")
    if re.search(r"javascript:", html, re.I):
        problems.append("javascript: URL")
    return problems


def page_templates() -> list[Path]:
    # Email bodies are not pages: mail clients, not the CSP, govern them.
    return sorted(
        path
        for folder in TEMPLATE_DIRS
        if ".venv" not in folder.parts
        for path in folder.rglob("*.html")
        if "email" not in path.relative_to(folder).parts
    )


def test_inline_code_is_recognised():
    assert inline_code('<script>alert(1)</script><script src="/a.js"></script>') == [
        "inline <script>: <script>"
    ]
    assert inline_code('<script type="application/json">{}</script>') == []
    assert len(inline_code('<button onclick="go()">Go</button>')) == 1
    assert len(inline_code('<a href="javascript:go()">Go</a>')) == 1
    assert len(inline_code('<p style="color: red">Hi</p><style>p {}</style>')) == 2
    assert inline_code("<p>{% blocktranslate with phone=PHONE %}x{% endblocktranslate %}</p>") == []
    assert inline_code("{# the <style> that used to be here #}") == []


def test_there_are_templates_to_check():
    assert len(page_templates()) > 10


@pytest.mark.parametrize("template", page_templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_scripts_styles_or_handlers(template):
    assert inline_code(template.read_text()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", HTML_PAGES)
def test_rendered_pages_have_no_inline_code(client, path):
    # Catches what templates of installed apps (admin, allauth, Swagger) add.
    assert inline_code(client.get(path, follow=True).content.decode()) == []

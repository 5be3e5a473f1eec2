"""Our own 404, 403, CSRF-failure and 500 pages: accessible, in the reader's
language; the API keeps its JSON error shape."""

from __future__ import annotations

import json
from html import unescape

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from portal import errors

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.portal.urls_raising")]

HEADINGS = {
    404: {"en": "We cannot find that page", "fr": "Nous ne trouvons pas cette page"},
    403: {"en": "You cannot open this page", "fr": "Vous ne pouvez pas ouvrir cette page"},
    500: {
        "en": "Something went wrong on our side.",
        "fr": "Un problème est survenu de notre côté.",
    },
    "csrf": {
        "en": "We could not accept that form",
        "fr": "Nous n'avons pas pu accepter ce formulaire",
    },
}


def client_in(language: str, **kwargs) -> Client:
    client = Client(raise_request_exception=False, **kwargs)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def assert_heading(html: str, status, language: str) -> None:
    assert f"<h1>{HEADINGS[status][language]}</h1>" in unescape(html)


def assert_accessible_page(html: str, language: str) -> None:
    assert f'<html lang="{language}">' in html
    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html
    assert 'role="banner"' in html and 'role="contentinfo"' in html
    assert "portal/site.css" in html


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize(("path", "status"), [("/no-such-page/", 404), ("/forbidden/", 403)])
def test_error_pages_in_the_site_design_and_language(language, path, status):
    response = client_in(language).get(path)
    html = response.content.decode()
    assert response.status_code == status
    assert_accessible_page(html, language)
    assert_heading(html, status, language)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_server_error_has_our_page(language):
    response = client_in(language).get("/broken/")
    html = response.content.decode()
    assert response.status_code == 500
    assert_accessible_page(html, language)
    assert_heading(html, 500, language)
    assert settings.SUPPORT_PHONE in html and settings.SITE_NAME in html


@pytest.mark.django_db(databases=[])
def test_the_server_error_page_needs_no_database_and_no_context():
    # No database allowed: a query would fail this test.
    with translation.override("fr"):
        response = errors.server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500 and '<html lang="fr">' in html


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_refused_form_has_our_csrf_page(language, incident):
    client = client_in(language, enforce_csrf_checks=True)
    response = client.post(reverse("notices:report"), {"message": "Pay now"})
    html = response.content.decode()
    assert response.status_code == 403
    assert_accessible_page(html, language)
    assert_heading(html, "csrf", language)


def test_api_paths_keep_the_json_error_shape():
    client = client_in("fr")
    missing = client.get("/api/v1/no-such-endpoint")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json"
    assert missing.json() == {"error": {"code": "not_found", "message": "Introuvable."}}
    broken = client.get("/api/v1/broken")
    assert broken.status_code == 500 and broken.json()["error"]["code"] == "server_error"
    assert broken.json()["error"]["message"] == "Un problème est survenu de notre côté."


def test_headless_paths_answer_in_allauths_json_shape():
    client = client_in("fr")
    for path in ("/_allauth/app/v1/no-such-endpoint", "/_allauth/app/v1/account/phone"):
        missing = client.get(path)
        assert missing.status_code == 404 and missing["Content-Type"] == "application/json"
        assert missing.json() == {
            "status": 404,
            "errors": [{"message": "Introuvable.", "code": "not_found"}],
        }
    broken = client.get("/_allauth/app/v1/broken")
    assert broken.status_code == 500 and broken.json()["errors"][0]["code"] == "server_error"


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/verify", {"error": {"code": "invalid", "message": "TOO_BIG"}}),
        (
            "/_allauth/app/v1/auth/login",
            {"status": 400, "errors": [{"message": "TOO_BIG", "code": "invalid"}]},
        ),
    ],
)
def test_a_body_over_the_upload_limit_is_a_json_400(settings, path, body):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client_in("fr").post(
        path, '{"pad": "' + "x" * 2000 + '"}', content_type="application/json"
    )
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    message = "La requête a été refusée : elle est trop volumineuse ou mal formée."
    assert response.json() == json.loads(json.dumps(body).replace("TOO_BIG", message))

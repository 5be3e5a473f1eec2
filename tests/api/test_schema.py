"""The contract: the committed OpenAPI schema is the code's, and the API keeps it.

Schemathesis generates requests from the schema (a bounded number per
operation) and checks every answer: no server error, status codes, content
types and bodies as documented.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from tests.api.conftest import session_token_for

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_committed_schema_matches_the_code(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated), "--lang", "en", "--validate")
    assert generated.read_text() == SCHEMA_FILE.read_text(), "run `make schema` and commit"


def test_docs_page_and_schema_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    page = client.get("/api/docs/")
    assert page.status_code == 200 and b"swagger" in page.content.lower()
    assert b"cdn.jsdelivr" not in page.content


@pytest.mark.parametrize("method", ["options", "post", "put", "delete"])
def test_docs_page_answers_other_methods_with_a_405(client, method):
    # OPTIONS rendered DRF's metadata with the page's template renderer and no
    # template: TemplateDoesNotExist and a 500.
    assert getattr(client, method)("/api/docs/").status_code == 405


schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def token(alice, bob, incident):
    return session_token_for(alice.user)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Requests go straight to the WSGI handler, which would close the test's
    database connection after each one (Django's own test client prevents it)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case, token):
    case.call_and_validate(headers={"X-Session-Token": token})


def _documented(path: str, method: str) -> set[int]:
    import yaml

    operation = yaml.safe_load(SCHEMA_FILE.read_text())["paths"][path][method]
    return {int(code) for code in operation["responses"]}


@pytest.mark.django_db
def test_answers_the_generated_cases_do_not_reach_are_documented(client, monkeypatch):
    # Schemathesis always sends a valid token and never hits a rate limit.
    for url, path in [
        ("/api/v1/notices", "/api/v1/notices"),
        ("/api/v1/notices/some-notice", "/api/v1/notices/{slug}"),
    ]:
        expired = client.get(url, HTTP_X_SESSION_TOKEN="expired")
        assert expired.status_code in _documented(path, "get")
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "anon": "1/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    answers = {client.get("/api/v1/health").status_code for _ in range(2)}
    assert answers == {200, 429} and answers <= _documented("/api/v1/health", "get")

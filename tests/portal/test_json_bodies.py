from __future__ import annotations

import pytest

from portal.json_bodies import has_too_long_number, json_depth


@pytest.mark.parametrize(
    "text, depth",
    [
        ("", 0),
        ('"just text"', 0),
        ('{"a": [1, {"b": []}]}', 4),
        ('{"a": "[[[[{{{{"}', 1),
        ('{"a": "quote \\" then [[[["}', 1),
        ("[[], [], [[]]]", 3),
        ("[" * 5000 + "]" * 5000, 5000),
        # An unterminated string runs to the end: taken in one pass, not tried
        # again from each quote in it (quadratic: 20,000 escaped quotes took 13 s).
        ('[["unterminated [[[', 2),
        ('{"x": "' + '\\"' * 20000 + "[[[", 1),
        ('{"x": "' + '\\"' * 20000 + "[[[\\", 1),  # and a lone backslash last
    ],
)
def test_json_depth_counts_nesting_outside_strings(text, depth):
    assert json_depth(text) == depth


@pytest.mark.django_db
def test_headless_answers_too_deep_in_the_readers_language(client):
    response = client.post(
        "/_allauth/app/v1/auth/login",
        "[" * 100 + "]" * 100,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400
    assert "imbriqué" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "text, too_long",
    [
        ("1" * 4300, False),
        ("1" * 4301, True),
        ('{"code": -' + "9" * 5000 + "}", True),
        ('{"code": "' + "9" * 5000 + '"}', False),
    ],
)
def test_has_too_long_number_looks_outside_strings(text, too_long):
    assert has_too_long_number(text) is too_long


@pytest.mark.django_db
def test_headless_answers_a_number_too_long_for_python_with_a_400(client):
    # json.loads() raises a plain ValueError (not the JSONDecodeError allauth
    # catches) for an integer past 4,300 digits: a 500 without the check.
    response = client.post(
        "/_allauth/app/v1/auth/login",
        '{"email": "a@example.com", "password": ' + "1" * 5000 + "}",
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400
    assert "trop de chiffres" in response.json()["errors"][0]["message"]

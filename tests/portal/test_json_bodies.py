from __future__ import annotations

import pytest

from portal.json_bodies import json_depth


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

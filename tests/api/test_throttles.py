"""The API's rate limits: counted per user (or address, or scope) in the shared
cache with one increment per request, refused with 429 and Retry-After."""

from __future__ import annotations

import pytest
from rest_framework.throttling import SimpleRateThrottle

from portal.api_throttles import CountingThrottle
from tests.conftest import cache_keys

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_a_minute(monkeypatch):
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "user": "3/min", "anon": "3/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    # A fixed clock, 20 s into a minute: no test straddles a window's edge.
    monkeypatch.setattr(CountingThrottle, "timer", lambda self: 60 * 16_667 + 20.0)


def test_the_fourth_read_in_a_minute_is_refused_with_retry_after(alice_api, three_a_minute):
    answers = [alice_api.get("/api/v1/exposures") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1]["Retry-After"] == "40"


def test_each_user_has_their_own_count(alice_api, bob_api, three_a_minute):
    for _ in range(3):
        alice_api.get("/api/v1/exposures")
    assert alice_api.get("/api/v1/exposures").status_code == 429
    assert bob_api.get("/api/v1/exposures").status_code == 200


def test_a_new_window_counts_from_zero(alice_api, three_a_minute, monkeypatch):
    now = [60 * 16_667 + 20.0]
    monkeypatch.setattr(CountingThrottle, "timer", lambda self: now[0])
    for _ in range(3):
        assert alice_api.get("/api/v1/exposures").status_code == 200
    refused = alice_api.get("/api/v1/exposures")
    assert refused.status_code == 429 and refused["Retry-After"] == "40"
    now[0] += 40
    assert alice_api.get("/api/v1/exposures").status_code == 200


def test_a_forwarded_for_header_does_not_reset_the_anonymous_count(api, three_a_minute):
    # No trusted proxy by default: anyone can send X-Forwarded-For, so it must not
    # become the client's identity (a fresh count per made-up address).
    answers = [
        api.get("/api/v1/health", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(4)
    ]
    assert answers == [200, 200, 200, 429]


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(api, three_a_minute, monkeypatch):
    from rest_framework.settings import api_settings

    monkeypatch.setattr(api_settings, "NUM_PROXIES", 1)
    answers = [
        api.get("/api/v1/health", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(4)
    ]
    assert answers == [200, 200, 200, 200]


def test_the_contact_and_verify_limits_keep_sliding_windows():
    from rest_framework import throttling

    from notices import api
    from portal.api_throttles import ScopedRateThrottle

    assert issubclass(api.VerifyThrottle, throttling.AnonRateThrottle)
    assert not issubclass(api.VerifyThrottle, CountingThrottle)
    for view in (api.ContactStartView, api.ContactConfirmView):
        assert view.throttle_classes == [ScopedRateThrottle]
        assert issubclass(ScopedRateThrottle, throttling.ScopedRateThrottle)
        assert not issubclass(ScopedRateThrottle, CountingThrottle)


def test_the_cache_never_names_a_count_by_the_clients_address(api, three_a_minute):
    from django.core.cache import cache

    api.get("/api/v1/health", REMOTE_ADDR="10.9.8.7")
    api.post("/api/v1/verify", {"reference": "ZZZZ-ZZZZ-ZZZZ"}, REMOTE_ADDR="10.9.8.7")
    keys = " ".join(cache_keys(cache))
    assert "throttle_anon_" in keys and "throttle_verify_" in keys
    assert "10.9.8.7" not in keys

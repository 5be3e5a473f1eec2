from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_float, env_french, env_int, env_list, env_rate, env_str


def test_env_bool_accepts_the_usual_spellings(monkeypatch):
    for raw, expected in [("1", True), ("yes", True), ("On", True), ("0", False), ("false", False)]:
        monkeypatch.setenv("FH_FLAG", raw)
        assert env_bool("FH_FLAG", not expected) is expected


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("FH_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FH_FLAG"):
        env_bool("FH_FLAG", False)


def test_env_int_refuses_garbage_and_out_of_range(monkeypatch):
    monkeypatch.setenv("FH_NUM", "12x")
    with pytest.raises(ImproperlyConfigured):
        env_int("FH_NUM", 1)
    monkeypatch.setenv("FH_NUM", "-1")
    with pytest.raises(ImproperlyConfigured):
        env_int("FH_NUM", 1, minimum=0)
    monkeypatch.setenv("FH_NUM", "101")
    with pytest.raises(ImproperlyConfigured, match="at most 100"):
        env_int("FH_NUM", 1, maximum=100)
    assert env_int("FH_NUM", 1, maximum=101) == 101


def test_env_str_required_without_default(monkeypatch):
    monkeypatch.delenv("FH_MISSING", raising=False)
    with pytest.raises(ImproperlyConfigured, match="FH_MISSING"):
        env_str("FH_MISSING")
    assert env_str("FH_MISSING", "fallback") == "fallback"


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("FH_LIST", " a.example, b.example ,,")
    assert env_list("FH_LIST") == ["a.example", "b.example"]


def test_a_french_twin_defaults_only_while_the_english_text_does(monkeypatch):
    monkeypatch.delenv("FH_HOURS", raising=False)
    monkeypatch.delenv("FH_HOURS_FR", raising=False)
    assert env_french("FH_HOURS", "De 8 h à 20 h") == "De 8 h à 20 h"
    monkeypatch.setenv("FH_HOURS", "9am to 5pm")
    assert env_french("FH_HOURS", "De 8 h à 20 h") == ""  # French pages show the English
    monkeypatch.setenv("FH_HOURS_FR", "De 9 h à 17 h")
    assert env_french("FH_HOURS", "De 8 h à 20 h") == "De 9 h à 17 h"


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "1e999"])
def test_env_float_refuses_what_is_not_a_finite_number(monkeypatch, raw):
    # A rate of "nan" compares false with everything: no limit would hold.
    monkeypatch.setenv("FH_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="FH_RATE"):
        env_float("FH_RATE", 1.0, minimum=0.0)


def test_env_float_has_a_maximum(monkeypatch):
    monkeypatch.setenv("FH_SHARE", "1.5")
    with pytest.raises(ImproperlyConfigured, match=r"at most 1\.0"):
        env_float("FH_SHARE", 0.95, minimum=0.1, maximum=1.0)
    monkeypatch.setenv("FH_SHARE", "1")
    assert env_float("FH_SHARE", 0.95, minimum=0.1, maximum=1.0) == 1.0


@pytest.mark.parametrize(
    "raw, count, seconds",
    [
        ("10/s", 10, 1),
        ("20/m", 20, 60),
        ("600/min", 600, 60),
        ("10/hour", 10, 3600),
        ("3/hours", 3, 3600),
        ("10/d", 10, 86400),
        ("7/seconds", 7, 1),
    ],
)
def test_a_rate_means_the_same_to_django_ratelimit_and_drf(monkeypatch, raw, count, seconds):
    from django_ratelimit.core import _split_rate
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setenv("FH_RATE", raw)
    assert env_rate("FH_RATE", "1/s") == raw
    assert env_rate("FH_RATE", "1/s", spans=False) == raw
    assert _split_rate(raw) == (count, seconds)
    assert SimpleRateThrottle.parse_rate(None, raw) == (count, seconds)


@pytest.mark.parametrize(
    "raw", ["20/week", "20/H", "10/month", "20 per minute", "20/", "/m", "x/m"]
)
def test_a_rate_either_library_would_misread_is_refused(monkeypatch, raw):
    monkeypatch.setenv("FH_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match=r"FH_RATE=.* is not a rate"):
        env_rate("FH_RATE", "1/s")


def test_a_number_of_units_only_where_django_ratelimit_reads_it(monkeypatch):
    from django_ratelimit.core import _split_rate

    monkeypatch.setenv("FH_RATE", "5/15m")
    assert env_rate("FH_RATE", "1/s") == "5/15m"
    assert _split_rate("5/15m") == (5, 900)
    # DRF reads only the unit's first letter: "15m" was a KeyError, a 500 for every request.
    with pytest.raises(ImproperlyConfigured, match="not a rate"):
        env_rate("FH_RATE", "1/s", spans=False)

"""allauth's rate limits counted by one atomic Redis script a limit (portal.allauth_ratelimit).

The same semantics as allauth's own counting: the (N+1)th attempt in the window is
refused, a refused attempt is not counted, the window slides, a rollback forgets
one attempt, clear forgets them all; and no genuine attempt is refused under
concurrency (allauth's cache lock refused those after waiting a second). Without
Redis allauth's implementation is used as it is.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import threading
import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from allauth.core.internal import ratelimit
from django.core.cache import caches
from django.test import RequestFactory, override_settings
from django.urls import reverse

from portal import allauth_ratelimit, ratelimits
from tests.conftest import cache_keys
from tests.factories import CustomerFactory

APP = "allauth.account"
AT = datetime(2025, 6, 1, 12, 0, 5, tzinfo=UTC)


def attempt(*, action="test", rates="3/m/key", key="jane@example.com", ip="10.0.0.1", **kw):
    request = RequestFactory().post("/", REMOTE_ADDR=ip)
    return ratelimit.consume(request, app=APP, action=action, config={action: rates}, key=key, **kw)


@pytest.fixture
def redis_cache():
    prefix = f"fh-test-{uuid.uuid4().hex}"
    caches_setting = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": prefix,
        }
    }
    with override_settings(CACHES=caches_setting):
        cache = caches["default"]
        try:
            yield cache
        finally:
            cache.delete_pattern("*")  # this test's prefix only


def test_allauth_still_has_the_functions_we_replace():
    # An allauth upgrade that renames or reshapes them must fail here, not in production.
    assert ratelimit._consume_single_rate is allauth_ratelimit.consume_single_rate
    assert ratelimit.clear is allauth_ratelimit.clear
    original = inspect.signature(allauth_ratelimit._original_consume_single_rate)
    assert inspect.signature(allauth_ratelimit.consume_single_rate).parameters.keys() == (
        original.parameters.keys()
    )
    assert inspect.signature(allauth_ratelimit.clear).parameters.keys() == (
        inspect.signature(allauth_ratelimit._original_clear).parameters.keys()
    )
    assert {"cache_key", "cache_duration", "timestamp"} <= set(
        inspect.signature(ratelimit.SingleRateLimitUsage).parameters
    )


def _plain_sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _leaks(names: str) -> list[str]:
    """What someone reading the cache could match against a list of emails or addresses."""
    return [
        leak
        for leak in ("jane@example.com", _plain_sha256("jane@example.com"), "10.0.0.1")
        if leak in names
    ]


def test_the_cache_holds_no_plain_hash_of_the_email_nor_the_address():
    assert attempt(rates="3/m/ip,3/m/key")
    assert _leaks(" ".join(cache_keys(caches["default"]))) == []


def test_the_key_is_keyed_by_the_hash_key():
    from customers.hashing import _key

    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1")
    rate = ratelimit.parse_rate("3/m/key")
    key = ratelimit.get_cache_key(request, app=APP, action="t", rate=rate, key="jane@example.com")
    _key.cache_clear()
    try:
        with override_settings(HASH_KEY="another-hash-key-entirely-0123456789"):
            assert key != ratelimit.get_cache_key(
                request, app=APP, action="t", rate=rate, key="jane@example.com"
            )
    finally:
        _key.cache_clear()
    assert key == ratelimit.get_cache_key(
        request, app=APP, action="t", rate=rate, key="jane@example.com"
    )


def test_per_user_limits_keep_allauths_key():
    request = RequestFactory().post("/")
    rate = ratelimit.parse_rate("3/m/user")
    user = type("U", (), {"pk": 42})()
    key = ratelimit.get_cache_key(request, app=APP, action="t", rate=rate, user=user)
    assert key == allauth_ratelimit._original_get_cache_key(
        request, app=APP, action="t", rate=rate, user=user
    )


def test_limits_per_address_still_count_each_address_apart():
    assert [bool(attempt(rates="2/m/ip")) for _ in range(3)] == [True, True, False]
    assert attempt(rates="2/m/ip", ip="10.0.0.2")


def test_portal_limits_hold_no_plain_hash_of_the_address():
    from django_ratelimit.core import ALL, _get_window, _make_cache_key

    with time_machine.travel(AT, tick=False):
        request = RequestFactory().post("/verify", REMOTE_ADDR="10.0.0.1")
        assert [ratelimits.limited(request, "verify", per_ip="2/m") for _ in range(3)] == [
            False,
            False,
            True,
        ]
        other = RequestFactory().post("/verify", REMOTE_ADDR="10.0.0.2")
        assert not ratelimits.limited(other, "verify", per_ip="2/m")
        # The key django-ratelimit would make from the bare address: a sha256 of
        # the group, the rate, the address and the window, all guessable.
        plain = _make_cache_key("verify:ip", _get_window("10.0.0.1", 60), "2/m", "10.0.0.1", ALL)
    assert plain not in " ".join(cache_keys(caches["default"]))


def test_without_redis_allauths_own_counting_refuses_the_fourth_attempt():
    assert [bool(attempt()) for _ in range(4)] == [True, True, True, False]
    assert attempt(key="other@example.com")


@pytest.mark.redis
def test_redis_refuses_the_attempt_over_the_limit_and_does_not_count_it(redis_cache):
    with time_machine.travel(AT, tick=False) as clock:
        assert [bool(attempt()) for _ in range(5)] == [True, True, True, False, False]
        assert attempt(key="other@example.com")
        clock.shift(59)
        assert not attempt()
        clock.shift(2)  # the first three are out of the window; the refusals never counted
        assert [bool(attempt()) for _ in range(4)] == [True, True, True, False]


@pytest.mark.redis
def test_redis_keeps_each_count_next_to_allauths_key_as_a_sorted_set(redis_cache):
    assert attempt()
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1")
    rate = ratelimit.parse_rate("3/m/key")
    key = ratelimit.get_cache_key(
        request, app=APP, action="test", rate=rate, key="jane@example.com"
    )
    client = redis_cache.client.get_client()
    assert client.type(redis_cache.make_key(f"{key}:z")) == b"zset"
    assert 0 < client.pttl(redis_cache.make_key(f"{key}:z")) <= 60_000


@pytest.mark.redis
def test_redis_holds_no_plain_hash_of_the_email_nor_the_address(redis_cache):
    assert attempt(rates="3/m/ip,3/m/key")
    client = redis_cache.client.get_client()
    keys = " ".join(k.decode() for k in client.scan_iter(redis_cache.make_key("*")))
    assert "allauth:rl" in keys
    assert _leaks(keys) == []


@pytest.mark.redis
def test_redis_window_slides(redis_cache):
    with time_machine.travel(AT, tick=False) as clock:
        assert attempt()
        clock.shift(30)
        assert attempt() and attempt()
        clock.shift(31)  # only the first has left the window
        assert attempt()
        assert not attempt()


@pytest.mark.redis
def test_redis_counts_every_rate_of_an_action_per_ip_and_per_key(redis_cache):
    rates = "2/m/ip,5/m/key"
    assert attempt(rates=rates, ip="10.0.0.1") and attempt(rates=rates, ip="10.0.0.1")
    assert not attempt(rates=rates, ip="10.0.0.1")
    assert attempt(rates=rates, ip="10.0.0.2") and attempt(rates=rates, ip="10.0.0.2")
    # 4 counted for the key (a refusal by the IP limit stops before the key's).
    assert attempt(rates=rates, ip="10.0.0.3")
    assert not attempt(rates=rates, ip="10.0.0.4")


@pytest.mark.redis
def test_redis_dry_run_rollback_and_clear(redis_cache):
    assert attempt(dry_run=True) and attempt(dry_run=True)
    assert attempt() and attempt()
    usage = attempt()
    assert usage and not attempt()
    usage.rollback()  # forgets exactly that attempt
    assert attempt()
    assert not attempt()
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1")
    ratelimit.clear(
        request, app=APP, action="test", config={"test": "3/m/key"}, key="jane@example.com"
    )
    assert [bool(attempt()) for _ in range(4)] == [True, True, True, False]


@pytest.mark.redis
def test_redis_raises_when_asked_to(redis_cache):
    for _ in range(3):
        attempt(raise_exception=True)
    with pytest.raises(ratelimit.RateLimited):
        attempt(raise_exception=True)


@pytest.mark.redis
def test_redis_leaves_allauths_own_counts_to_processes_still_using_them(redis_cache):
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1")
    rate = ratelimit.parse_rate("3/m/key")
    key = ratelimit.get_cache_key(
        request, app=APP, action="test", rate=rate, key="jane@example.com"
    )
    # A process not yet upgraded (a rolling deploy) counts in allauth's own format.
    redis_cache.set(key, [1.0, 2.0], 60)
    assert [bool(attempt()) for _ in range(4)] == [True, True, True, False]
    assert redis_cache.get(key) == [1.0, 2.0]  # still readable by that process


@pytest.mark.redis
def test_redis_never_refuses_a_genuine_attempt_under_concurrency(redis_cache):
    # 40 attempts at once against 25 a minute: exactly 25 allowed (no lost
    # updates, no refusals for want of a lock).
    results = []
    start = threading.Barrier(40)

    def one():
        start.wait()
        results.append(bool(attempt(rates="25/m/key")))

    threads = [threading.Thread(target=one) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 25


@pytest.mark.redis
@pytest.mark.django_db
def test_code_requests_are_limited_per_email_with_redis(client, redis_cache):
    CustomerFactory(email="jane@example.com")
    url = reverse("account_request_login_code")
    for _ in range(3):
        assert client.post(url, {"email": "jane@example.com"}).status_code == 302
        client.cookies.clear()
    response = client.post(url, {"email": "jane@example.com"})
    assert response.status_code == 400  # the form sent back with the limit's error
    assert "Too many" in response.content.decode()

"""allauth's rate limits (ACCOUNT_RATE_LIMITS), counted by one atomic Redis call a limit.

allauth keeps each limit's recent attempts as a pickled list of timestamps in the
cache and guards the read-modify-write with a lock made of ``cache.add``/``delete``:
four round trips a limit, three limits a code request. Worse, under a sign-in storm
a request that cannot take the lock within a second is refused as "too many
attempts" although it is under every limit.

allauth has no setting or adapter method for where these counts live, so
``install()`` (called from ``PortalConfig.ready``) replaces the two functions of
``allauth.core.internal.ratelimit`` that touch the cache. When the default cache is
django-redis, each limit is one Lua script over a sorted set of attempt timestamps
under allauth's own cache key (plus ":z"): the same sliding window, the same rates and keys (per
IP, per key, per user), a refused attempt not counted, a rollback forgetting exactly
the attempt it made. Any other cache (locmem in tests, the file cache of the embedded
default) keeps allauth's counting unchanged.

Whatever the cache, ``get_cache_key`` is replaced too: allauth names a per-key limit
by a plain SHA-256 of the email or phone number (and a per-IP limit by the address
itself), so anyone who can list the cache could match it against a list of
addresses. Our keys carry an HMAC under a key derived from HASH_KEY instead
(``portal.ratelimits.cache_keyed``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from allauth.core.exceptions import RateLimited
from allauth.core.internal import ratelimit as allauth_ratelimit
from django.core.cache import caches
from django.http import HttpRequest

from portal.ratelimits import cache_keyed

# ARGV: the rate's amount, its window in seconds, now (seconds), this attempt's id,
# 1 to record the attempt (0: dry run). Returns 1 when the attempt is allowed.
SLIDING_WINDOW = """
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
end
return 1
"""

_original_consume_single_rate = allauth_ratelimit._consume_single_rate
_original_clear = allauth_ratelimit.clear
_original_get_cache_key = allauth_ratelimit.get_cache_key
_script: list = []


def get_cache_key(request: HttpRequest, *, app: str, action: str, rate, key=None, user=None) -> str:
    """allauth's key, with the email, phone number or IP address keyed (see above)."""
    if rate.per == "key" and key is not None:
        source = cache_keyed(f"key:{key}")
    elif rate.per == "ip":
        source = cache_keyed(f"ip:{allauth_ratelimit.get_ip(request)}")
    else:  # per user (a primary key), or allauth's own error for a bad rate
        return _original_get_cache_key(
            request, app=app, action=action, rate=rate, key=key, user=user
        )
    return ":".join(["allauth", "rl", app, action, str(rate), source])


def _redis_client():
    """The default cache's Redis client, or None when the cache is not django-redis."""
    try:
        from django_redis.cache import RedisCache
    except ImportError:  # pragma: no cover - django-redis is a dependency
        return None, None
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None, None
    return cache, cache.client.get_client(write=True)


def _zset_key(cache, cache_key: str) -> str:
    """allauth's key with a suffix: during a rolling deploy, processes still running
    allauth's own counting keep their pickled lists under the plain key untouched."""
    return cache.make_key(f"{cache_key}:z")


def _sliding_window(client):
    # register_script only hashes the text: Redis gets it once, then EVALSHA.
    if not _script:
        _script.append(client.register_script(SLIDING_WINDOW))
    return _script[0]


@dataclass
class RedisRateLimitUsage(allauth_ratelimit.SingleRateLimitUsage):
    member: str = ""

    def rollback(self) -> None:
        cache, client = _redis_client()
        if client is not None:
            client.zrem(_zset_key(cache, self.cache_key), self.member)


def consume_single_rate(
    request: HttpRequest,
    *,
    app: str,
    action: str,
    rate,
    key=None,
    user=None,
    dry_run: bool = False,
    raise_exception: bool = False,
):
    cache, client = _redis_client()
    if client is None:
        return _original_consume_single_rate(
            request,
            app=app,
            action=action,
            rate=rate,
            key=key,
            user=user,
            dry_run=dry_run,
            raise_exception=raise_exception,
        )
    cache_key = allauth_ratelimit.get_cache_key(
        request, app=app, action=action, rate=rate, key=key, user=user
    )
    now = time.time()
    member = f"{now:.6f}:{secrets.token_hex(4)}"
    allowed = _sliding_window(client)(
        keys=[_zset_key(cache, cache_key)],
        args=[rate.amount, rate.duration, repr(now), member, 0 if dry_run else 1],
        client=client,
    )
    if not allowed:
        if raise_exception:
            raise RateLimited
        return None
    return RedisRateLimitUsage(
        cache_key=cache_key, cache_duration=rate.duration, timestamp=now, member=member
    )


def clear(request: HttpRequest, *, app: str, action: str, config=None, key=None, user=None):
    cache, client = _redis_client()
    if client is None:
        return _original_clear(request, app=app, action=action, config=config, key=key, user=user)
    rates = allauth_ratelimit.get_rates(app=app, action=action, config=config)
    keys = [
        _zset_key(
            cache,
            allauth_ratelimit.get_cache_key(
                request, app=app, action=action, rate=rate, key=key, user=user
            ),
        )
        for rate in rates
    ]
    if keys:
        client.delete(*keys)


def install() -> None:
    """Count allauth's limits atomically (see the module's docstring). Idempotent."""
    # consume() and the views look these up in the module at call time.
    allauth_ratelimit.get_cache_key = get_cache_key
    allauth_ratelimit._consume_single_rate = consume_single_rate
    allauth_ratelimit.clear = clear

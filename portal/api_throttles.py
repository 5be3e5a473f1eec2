"""The API's general per-user and per-address limits, counted with one atomic
increment per request.

DRF's throttles keep a list of every request's time in the cache and read and
write it whole on each request (up to 600 timestamps for a busy app user), which
costs two round trips and grows with the rate. These count in fixed windows
instead: one INCR, exact across processes, and at most twice the rate across a
window's edge, which is what a limit on reads needs. The limits on sending codes
and on checking references keep DRF's sliding windows (notices/api.py).

Every one of them names an anonymous client's count by an HMAC of its address
(``KeyedIdent``), not by the address itself as DRF does.
"""

from __future__ import annotations

from rest_framework import throttling

from portal.ratelimits import cache_keyed


class KeyedIdent:
    """The client's address, as DRF reads it, keyed before it names a cache entry."""

    def get_ident(self, request) -> str:
        return cache_keyed(f"ip:{super().get_ident(request)}")


class ScopedRateThrottle(KeyedIdent, throttling.ScopedRateThrottle):
    pass


class CountingThrottle(KeyedIdent, throttling.SimpleRateThrottle):
    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        window = int(self.timer() // self.duration)
        self.window_ends = (window + 1) * self.duration
        return self._count(f"{self.key}:{window}") <= self.num_requests

    def _count(self, key: str) -> int:
        try:
            return self.cache.incr(key)
        except ValueError:  # the window's first request (or a race to it)
            if self.cache.add(key, 1, self.duration + 1):
                return 1
            return self.cache.incr(key)

    def wait(self) -> float:
        return max(0.0, self.window_ends - self.timer())


class UserRateThrottle(throttling.UserRateThrottle, CountingThrottle):
    pass


class AnonRateThrottle(throttling.AnonRateThrottle, CountingThrottle):
    pass

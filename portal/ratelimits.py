"""Rate limits on forms and endpoints that take a secret or a code, counted in
the shared cache (Redis in production) so every process sees the same count.

A count is named after what it counts (an address, an email, a phone number);
``cache_keyed`` makes that name an HMAC under a key derived from HASH_KEY (by
default SECRET_KEY; every process shares it, as customers.hashing needs), so
whoever can read the cache cannot match its keys against a list of them (a
plain hash of an email or an IPv4 address is reversed by trying them all)."""

from __future__ import annotations

from allauth.core.internal.httpkit import get_client_ip
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

from customers.hashing import keyed_hash


def cache_keyed(value: str) -> str:
    return keyed_hash("ratelimit", value)


def client_ip(request: HttpRequest) -> str:
    """The client's address, through TRUSTED_PROXY_COUNT proxies (as allauth sees it)."""
    return get_client_ip(request) or "unknown"


def limited(request: HttpRequest, group: str, *, per_ip: str, overall: str | None = None) -> bool:
    """Count this request; True when it is over either limit."""
    return over_limit(request, group, per_ip=per_ip, overall=overall) is not None


def over_limit(
    request: HttpRequest, group: str, *, per_ip: str, overall: str | None = None
) -> str | None:
    """Count this request; which limit it is over ("ip", then "all"), or None, so a
    page can say whether waiting is up to this visitor or to everyone. A request already
    refused for its address is not counted overall: one address hammering on cannot
    spend everyone's budget and lock the form for the rest."""
    over_ip = is_ratelimited(
        request,
        group=f"{group}:ip",
        key=lambda _g, r: cache_keyed(f"ip:{client_ip(r)}"),
        rate=per_ip,
        increment=True,
    )
    if over_ip:
        return "ip"
    over_all = bool(overall) and is_ratelimited(
        request, group=f"{group}:all", key=lambda _g, _r: "all", rate=overall, increment=True
    )
    return "all" if over_all else None

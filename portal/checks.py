"""Deploy checks (`manage.py check --deploy`) for the portal's own keys."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.checks.security.base import (
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security, deploy=True)
def hash_key_is_its_own(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """HASH_KEY keys what is stored (birth-date and claim-code hashes, staff TOTP
    secrets) and must never change; SECRET_KEY signs what is sent and is rotated
    after a suspected leak. While one is the other, rotating SECRET_KEY would
    lock every staff member out of MFA and make every stored hash stop matching;
    a short key lets whoever has the hashes try every date of birth."""
    key = settings.HASH_KEY
    try:
        secret_key = settings.SECRET_KEY
    except ImproperlyConfigured:  # empty: Django's security.W009 says so
        secret_key = ""
    if not key or key == secret_key:
        return [
            checks.Warning(
                "HASH_KEY is not set apart from SECRET_KEY.",
                hint="Set HASH_KEY to its own long random value before the first import, "
                "and never change it; SECRET_KEY may then be rotated. A site that has "
                "imported already sets HASH_KEY to the current SECRET_KEY, then gives "
                "SECRET_KEY a new value.",
                id="portal.W001",
            )
        ]
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return [
            checks.Warning(
                f"HASH_KEY has fewer than {SECRET_KEY_MIN_LENGTH} characters or fewer than "
                f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} different ones.",
                hint="Whoever has the stored hashes could find the key, and then every date "
                "of birth, by trying: use a long random value.",
                id="portal.W002",
            )
        ]
    return []


@checks.register(checks.Tags.security, deploy=True)
def client_addresses_behind_the_proxy(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Production settings believe the proxy's X-Forwarded-Proto (gunicorn serves
    plain HTTP: TLS ends before it). Unless TRUSTED_PROXY_COUNT says how many
    proxies add to X-Forwarded-For, every client's address is the proxy's, and
    the limits per address (30 sign-ins a minute, 20 code requests, 20 message
    checks, 10 claims an hour) are shared by everyone: on the day of a breach,
    the site turns nearly all of them away."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is None:
        return []
    if settings.ALLAUTH_TRUSTED_PROXY_COUNT > 0:
        return []
    return [
        checks.Warning(
            "TRUSTED_PROXY_COUNT is 0: behind the load balancer, every client has its "
            "address, and the rate limits per address count everyone together.",
            hint="Set TRUSTED_PROXY_COUNT to the number of proxies that add to "
            "X-Forwarded-For (1 for a load balancer alone). Silence portal.W003 only if "
            "clients reach gunicorn directly.",
            id="portal.W003",
        )
    ]


# What Django asks of SECRET_KEY, for the token anyone may try at /metrics.
METRICS_TOKEN_MIN_LENGTH = 32


@checks.register(checks.Tags.security, deploy=True)
def metrics_token_is_long(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """/metrics takes the bearer token from anyone, at any machine's address, as
    often as they like (a scraper has no session to rate-limit): only its
    length stands between a guesser and the pipeline's figures."""
    token = settings.METRICS_TOKEN
    if not token or len(token) >= METRICS_TOKEN_MIN_LENGTH:
        return []
    return [
        checks.Warning(
            f"METRICS_TOKEN has fewer than {METRICS_TOKEN_MIN_LENGTH} characters.",
            hint="Anyone may try tokens at /metrics, without limit: use a long random one "
            "(python -c 'import secrets; print(secrets.token_urlsafe(32))').",
            id="portal.W004",
        )
    ]

"""Channel backends, chosen by settings like Django's email backends.

SMS may have several providers (``SMS_PROVIDERS``, first is preferred); a
provider that keeps failing is set aside for a while and traffic moves to the
next (a circuit breaker whose counters live in the shared cache).
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from notices.channels.base import ChannelBackend
from portal.observability.metrics import metered_send

_BREAKER_FAILURES = "provider-failures:{}:{}"
_BREAKER_OPEN = "provider-open:{}:{}"


def _providers(channel: str) -> list[dict]:
    if channel == "sms":
        return settings.SMS_PROVIDERS
    if channel == "push":
        return settings.PUSH_PROVIDERS
    if channel == "email":
        return [
            {
                "name": "email",
                "backend": "notices.channels.email.EmailChannel",
                "rate": settings.EMAIL_RATE,
            }
        ]
    if channel == "inapp":
        return [{"name": "inapp", "backend": "notices.channels.inapp.InAppChannel"}]
    raise ValueError(f"unknown channel {channel!r}")


def provider_names(channel: str) -> list[str]:
    return [p["name"] for p in _providers(channel)]


@functools.cache
def get_backend(channel: str, provider: str = "") -> ChannelBackend:
    """The (process-wide, connection-pooling) backend of a channel's provider."""
    configs = _providers(channel)
    config = next((p for p in configs if p["name"] == provider), configs[0])
    options = {k: v for k, v in config.items() if k not in {"name", "backend", "rate"}}
    backend = import_string(config["backend"])(config["name"], **options)
    # Provider latency and errors, whoever sends (campaigns, resends, codes).
    backend.send = metered_send(backend.send, channel, config["name"])
    return backend


def provider_rate(channel: str, provider: str) -> float:
    """Messages per second the provider account accepts; 0 means no limit of ours."""
    configs = _providers(channel)
    config = next((p for p in configs if p["name"] == provider), configs[0])
    return float(config.get("rate") or 0)


def rate_key(channel: str, provider: str) -> str:
    """The rate bucket of a provider account, shared by every campaign and resend."""
    return f"provider:{channel}:{provider}"[:64]


def choose_provider(channel: str) -> str:
    """The first provider of the channel whose circuit is closed."""
    names = provider_names(channel)
    if len(names) == 1:
        return names[0]
    open_flags = cache.get_many([_BREAKER_OPEN.format(channel, n) for n in names])
    for name in names:
        if _BREAKER_OPEN.format(channel, name) not in open_flags:
            return name
    return names[0]


def record_provider_health(channel: str, provider: str, *, failures: int, successes: int) -> None:
    """Count transient failures in a window; too many opens the circuit."""
    if len(provider_names(channel)) == 1:
        return
    key = _BREAKER_FAILURES.format(channel, provider)
    if successes and not failures:
        cache.delete(key)
        return
    if not failures:
        return
    cache.add(key, 0, timeout=settings.PROVIDER_FAILURE_WINDOW)
    try:
        count = cache.incr(key, failures)
    except ValueError:
        count = failures
    if count >= settings.PROVIDER_FAILURE_THRESHOLD:
        cache.set(_BREAKER_OPEN.format(channel, provider), 1, settings.PROVIDER_COOLDOWN)
        cache.delete(key)


def provider_set_aside(channel: str, provider: str) -> None:
    """Open the provider's circuit now (its account refused): traffic moves to
    the channel's next provider for ``PROVIDER_COOLDOWN``; with one, nothing changes."""
    if len(provider_names(channel)) == 1:
        return
    cache.set(_BREAKER_OPEN.format(channel, provider), 1, settings.PROVIDER_COOLDOWN)
    cache.delete(_BREAKER_FAILURES.format(channel, provider))


def _on_setting_changed(*, setting: str, **kwargs) -> None:
    # Tests swap providers with override_settings; backends are rebuilt then.
    if setting in {"SMS_PROVIDERS", "PUSH_PROVIDERS", "EMAIL_BACKEND"}:
        get_backend.cache_clear()


setting_changed.connect(_on_setting_changed)

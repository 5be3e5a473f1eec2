"""Strict readers for configuration from the environment.

A value that cannot be parsed is an error at start-up, never a silent default.
"""

from __future__ import annotations

import math
import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_REQUIRED = object()


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str | object = _REQUIRED) -> str:
    value = _raw(name)
    if value is None:
        if default is _REQUIRED:
            raise ImproperlyConfigured(f"The environment variable {name} is required.")
        return default  # type: ignore[return-value]
    return value


def env_french(name: str, default: str) -> str:
    """``<name>_FR``, the French twin of the text setting ``name``, or "" (French
    pages then show the English text). ``default`` holds only while ``name`` is
    unset too: an English text set alone must not meet a French default that
    says something else (other hours, another regulator)."""
    return env_str(f"{name}_FR", default if _raw(name) is None else "")


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no).")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} must be at most {maximum}.")
    return number


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    # "nan" and "inf" parse, but no rate or limit can be made of them.
    if not math.isfinite(number):
        raise ImproperlyConfigured(f"{name}={value!r} is not a finite number.")
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} must be at most {maximum}.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, choices: list[str], default: str) -> str:
    value = _raw(name) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(choices)}.")
    return value


# A count per unit (s, m, h or d, or the word: 10/m, 600/min, 10/hour) and, for
# django-ratelimit's limits, per a number of units (5/15m). Both libraries read
# anything: django-ratelimit took "20/week" or "20/H" for 20 a second, and DRF
# answered every request with a 500.
_RATE = re.compile(r"\d+/(\d*)(?:s|m|h|d|(?:sec|second|min|minute|hour|day)s?)")


def env_rate(name: str, default: str, *, spans: bool = True) -> str:
    """A rate limit; ``spans=False`` for DRF's throttles, which read no number of units."""
    value = _raw(name) or default
    match = _RATE.fullmatch(value)
    if match is None or (match.group(1) and not spans):
        examples = "10/m, 600/min, 10/hour" + (", 5/15m" if spans else "")
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate (e.g. {examples}).")
    return value

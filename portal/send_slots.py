"""A slot of a provider account's send rate, for apps that may not import
``notices``.

The rate buckets belong to ``notices``: every campaign, resend, code and test
send through one provider account shares its budget. ``customers`` sends
sign-in codes by email too, but may not import ``notices`` (the dependency
runs the other way), so ``notices`` provides how a slot is taken here when its
app is ready, and ``customers`` asks through this module.
"""

from __future__ import annotations

from collections.abc import Callable

_take: Callable[..., None] | None = None


class SlotAfterExpiry(Exception):
    """The message's first free slot comes after it stops being of use (a code
    that would arrive expired): it is not sent, and not retried for ever."""


def provide(take: Callable[..., None]) -> None:
    """Called once by ``notices`` when its app is ready."""
    global _take
    _take = take


def take(
    task,
    *,
    channel: str,
    slot_at: float | None = None,
    provider: str = "",
    useful_until: float | None = None,
) -> None:
    """Wait for this message's slot of the channel's provider account, or raise
    ``task.retry`` at a slot too far off (carrying ``slot_at`` and ``provider``
    as keyword arguments, which the task must accept and pass back here), or
    ``SlotAfterExpiry`` when the slot is at or after ``useful_until`` (epoch
    seconds)."""
    if _take is None:
        raise RuntimeError("no provider of send slots: is the notices app installed?")
    _take(task, channel=channel, slot_at=slot_at, provider=provider, useful_until=useful_until)

"""Send rates shared by every worker on every machine.

Each batch reserves a run of evenly spaced send slots in one row of the
database (one UPDATE per batch, not per message), then each message waits for
its slot. Slots are spaced for a little under the rate (RATE_HEADROOM), so a
send that leaves a few milliseconds late cannot push any one-second window at
the provider over the rate, whatever the number of workers.

Two limits hold at once (``Pacer``): the provider account's, shared by every
campaign and resend sending through it, and a campaign's own, lower cap.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection

from notices.models import RateBucket


def reserve_slots(key: str, count: int, rate: float) -> list[float]:
    """Reserve ``count`` slots at ``rate`` per second; return each slot as a
    ``time.monotonic()`` deadline. A rate of 0 means no limit."""
    if rate <= 0 or count <= 0:
        return [time.monotonic()] * count
    rate = rate * settings.RATE_HEADROOM
    span = count / rate
    start, db_now, now = _book(key, span)
    first = now + max(0.0, start - db_now)
    return [first + i / rate for i in range(count)]


def _book(key: str, span: float) -> tuple[float, float, float]:
    """Book the next ``span`` seconds of ``key``'s bucket. Returns where they
    start and the database's clock then (epoch seconds), and this process's
    ``time.monotonic()`` to convert them by."""
    RateBucket.objects.get_or_create(key=key)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The database's clock, so workers on several machines agree.
            cursor.execute(
                """
                UPDATE notices_ratebucket
                   SET next_slot = GREATEST(next_slot, EXTRACT(EPOCH FROM clock_timestamp()))
                                   + %s
                 WHERE key = %s
             RETURNING next_slot - %s, EXTRACT(EPOCH FROM clock_timestamp())
                """,
                [span, key, span],
            )
            start, db_now = (float(v) for v in cursor.fetchone())
            # Read once the answer is here: a slot is then converted late by the
            # answer's way back, never early by the wait for the database (which
            # under load would let a provider's messages out faster than its rate).
            now = time.monotonic()
        else:
            db_now, now = time.time(), time.monotonic()
            cursor.execute(
                "UPDATE notices_ratebucket SET next_slot = MAX(next_slot, %s) + %s "
                "WHERE key = %s RETURNING next_slot - %s",
                [db_now, span, key, span],
            )
            start = float(cursor.fetchone()[0])
    return start, db_now, now


def slot_delay(key: str, rate: float) -> float:
    """Reserve one slot at ``rate`` per second; the seconds until it comes."""
    [deadline] = reserve_slots(key, 1, rate)
    return max(0.0, deadline - time.monotonic())


# A sleep costs ~60 µs of timer slack however short; leaving less than this
# early stays well inside the headroom.
_EARLY_OK = 0.001


def wait_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > _EARLY_OK:
        time.sleep(delay)


# An uncapped run holds at most this many seconds of messages at its rate.
RUN_SECONDS = 1.0


class Pacer:
    """Send deadlines for ``count`` messages of one campaign through one provider
    account, under the provider's rate and the campaign's own cap.

    The provider's slots are reserved only once the campaign's have come, so a
    campaign held back by its lower cap never books provider time it cannot use
    (the bucket is one counter: time booked ahead is lost to every other sender).
    When the campaign's cap is the lower rate, messages go in small runs, each at
    the provider's pace once the campaign's slot for its first message has come;
    a run is as many messages as the rate's headroom, so the campaign's cap still
    holds over any second. Otherwise a run is at most ``RUN_SECONDS`` of messages
    at the lower rate, so a batch can stop between runs.
    """

    def __init__(
        self, count: int, *, provider: tuple[str, float], campaign: tuple[str, float]
    ) -> None:
        self.left = count
        self.provider_key, self.provider_rate = provider
        self.campaign_key, self.campaign_rate = campaign
        self.capped = 0 < self.campaign_rate < self.provider_rate
        headroom = self.campaign_rate * (1 - settings.RATE_HEADROOM)
        if self.capped:
            self.run = max(1, int(headroom))
        else:
            # At most RUN_SECONDS of sending a run, so that a batch can stop
            # between runs when its time is up instead of booking minutes ahead.
            rate = min(r for r in (self.provider_rate, self.campaign_rate, float("inf")) if r > 0)
            most = rate * settings.RATE_HEADROOM * RUN_SECONDS
            self.run = max(1, count if rate == float("inf") else min(count, int(most)))
        self._campaign_slots: list[float] | None = None
        # The last send of the run before: the next run waits for it, so a
        # batch books at most one run ahead of what it is sending.
        self._after = 0.0

    @property
    def booked(self) -> bool:
        """Whether the next run's campaign slots are reserved (by ``due()``)."""
        return self._campaign_slots is not None

    def due(self) -> float:
        """When the next run may be handed out, as a ``time.monotonic()`` time.

        Nothing is booked while the run before is still sending: until then the
        answer is when that run's last message goes, and the caller asks again.
        """
        if self._campaign_slots is None:
            if time.monotonic() < self._after:
                return self._after
            self._book()
        first = self._campaign_slots[0] if self._campaign_slots else time.monotonic()
        return max(first, self._after)

    def _book(self) -> None:
        size = min(self.run, self.left)
        self._campaign_slots = reserve_slots(self.campaign_key, size, self.campaign_rate)

    def take(self) -> list[float]:
        """The next run's deadlines; call it once ``due()`` has come."""
        if self._campaign_slots is None:
            self._book()
        campaign_slots, self._campaign_slots = self._campaign_slots or [], None
        self.left -= len(campaign_slots)
        slots = self._slots(campaign_slots)
        self._after = max([self._after, *slots[-1:]])
        return slots

    def _slots(self, campaign_slots: list[float]) -> list[float]:
        if self.provider_rate <= 0:
            return campaign_slots
        provider_slots = reserve_slots(self.provider_key, len(campaign_slots), self.provider_rate)
        if self.capped:
            return provider_slots
        # The campaign's slots are the denser ones and came first: both hold.
        return [max(p, c) for p, c in zip(provider_slots, campaign_slots, strict=True)]

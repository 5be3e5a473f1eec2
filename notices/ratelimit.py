"""A send rate shared by every worker on every machine.

Each batch reserves a run of evenly spaced send slots in one row of the
database (one UPDATE per batch, not per message), then each message waits for
its slot. Slots are spaced for a little under the rate (RATE_HEADROOM), so a
send that leaves a few milliseconds late cannot push any one-second window at
the provider over the rate, whatever the number of workers.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection

from notices.models import RateBucket


def reserve_slots(key: str, count: int, rate: float) -> list[float]:
    """Reserve ``count`` slots at ``rate`` per second; return each slot as a
    ``time.monotonic()`` deadline. A rate of 0 means no limit."""
    now = time.monotonic()
    if rate <= 0 or count <= 0:
        return [now] * count
    rate = rate * settings.RATE_HEADROOM
    span = count / rate
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
        else:
            db_now = time.time()
            cursor.execute(
                "UPDATE notices_ratebucket SET next_slot = MAX(next_slot, %s) + %s "
                "WHERE key = %s RETURNING next_slot - %s",
                [db_now, span, key, span],
            )
            start = float(cursor.fetchone()[0])
    first = now + max(0.0, start - db_now)
    return [first + i / rate for i in range(count)]


# A sleep costs ~60 µs of timer slack however short; leaving less than this
# early stays well inside the headroom.
_EARLY_OK = 0.001


def wait_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > _EARLY_OK:
        time.sleep(delay)

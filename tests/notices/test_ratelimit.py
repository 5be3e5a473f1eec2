from __future__ import annotations

import pytest

from notices.ratelimit import reserve_slots

pytestmark = pytest.mark.django_db


def test_slots_are_spaced_by_the_rate_across_reservations(settings):
    settings.RATE_HEADROOM = 1.0
    first = reserve_slots("c1:sms", 5, rate=10)
    second = reserve_slots("c1:sms", 5, rate=10)
    gaps = [b - a for a, b in zip(first + second, (first + second)[1:], strict=False)]
    assert all(gap == pytest.approx(0.1, abs=0.02) for gap in gaps)


def test_buckets_are_independent_and_zero_means_unlimited():
    reserve_slots("c1:sms", 50, rate=10)
    other = reserve_slots("c2:sms", 1, rate=10)
    unlimited = reserve_slots("c1:inapp", 3, rate=0)
    assert other[0] <= unlimited[0] + 0.05
    assert len(set(unlimited)) == 1

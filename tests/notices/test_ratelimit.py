from __future__ import annotations

import itertools
import time

import pytest
from django.db import connection

from notices import ratelimit
from notices.models import RateBucket
from notices.ratelimit import Pacer, reserve_slots

pytestmark = pytest.mark.django_db

# Where every bucket a test books starts, ahead of the database's clock.
AHEAD = 60.0


@pytest.fixture(autouse=True)
def steady_clocks(request, monkeypatch):
    """These tests compare bookings with each other. Two things a loaded
    machine moves would move them: the conversion of each booking to this
    process's clock (on PostgreSQL, late by its answer's way back), and a stall
    between two bookings longer than the first booked (the next then starts at
    the clock, not after it). Here each bucket starts a minute ahead of the
    clock and every booking is converted at one offset, so a test sees exactly
    what the database booked. A test asking for ``real_clocks`` checks the
    conversion itself."""
    if "real_clocks" in request.fixturenames:
        return
    book, offset = ratelimit._book, time.time() - time.monotonic()
    origin, started = time.time() + AHEAD, set()

    def booked_ahead(key: str, span: float):
        if key not in started:
            RateBucket.objects.update_or_create(key=key, defaults={"next_slot": origin})
            started.add(key)
        start, db_now, _now = book(key, span)
        return start, db_now, db_now - offset

    monkeypatch.setattr(ratelimit, "_book", booked_ahead)


@pytest.fixture
def real_clocks():
    """The bookings converted as in production (see steady_clocks)."""


def test_slots_are_spaced_by_the_rate_across_reservations(settings):
    settings.RATE_HEADROOM = 1.0
    first = reserve_slots("c1:sms", 5, rate=10)
    second = reserve_slots("c1:sms", 5, rate=10)
    gaps = [b - a for a, b in zip(first + second, (first + second)[1:], strict=False)]
    assert all(gap == pytest.approx(0.1, abs=1e-6) for gap in gaps)


def test_buckets_are_independent_and_zero_means_unlimited():
    busy = reserve_slots("c1:sms", 50, rate=10)
    other = reserve_slots("c2:sms", 1, rate=10)
    unlimited = reserve_slots("c1:inapp", 3, rate=0)
    # Not behind c1's five seconds of slots: where its own bucket starts.
    assert other[0] == pytest.approx(busy[0], abs=1e-6)
    assert len(set(unlimited)) == 1


SMS_ACCOUNT = ("provider:sms:primary", 10)


def _gaps(slots: list[float]) -> list[float]:
    ordered = sorted(slots)
    return [b - a for a, b in itertools.pairwise(ordered)]


def test_campaigns_sending_through_one_provider_share_its_rate(settings):
    settings.RATE_HEADROOM = 1.0
    first = Pacer(5, provider=SMS_ACCOUNT, campaign=("1:sms", 100)).take()
    second = Pacer(5, provider=SMS_ACCOUNT, campaign=("2:sms", 100)).take()
    assert len(first) == len(second) == 5
    # One budget: ten messages at 10/s, not two campaigns at 10/s each.
    assert all(gap == pytest.approx(0.1, abs=1e-6) for gap in _gaps(first + second))
    assert min(second) == pytest.approx(max(first) + 0.1, abs=1e-6)


def test_a_campaign_capped_below_its_provider_books_only_what_it_sends(settings, monkeypatch):
    settings.RATE_HEADROOM = 1.0
    slow = Pacer(5, provider=SMS_ACCOUNT, campaign=("1:sms", 2))
    first_run = slow.take()
    assert len(first_run) == 1  # one at a time, at the campaign's pace
    with monkeypatch.context() as clock:  # once the first run has gone
        clock.setattr(time, "monotonic", lambda: first_run[-1])
        assert slow.due() == pytest.approx(first_run[0] + 0.5, abs=1e-6)
    # The provider's other 9 messages a second stay free for other senders:
    # 0.1 s apart, not the slow campaign's 0.5.
    other = Pacer(1, provider=SMS_ACCOUNT, campaign=("2:sms", 100)).take()
    assert other[0] - first_run[0] == pytest.approx(0.1, abs=1e-6)


@pytest.mark.postgres
def test_a_slot_is_never_handed_out_before_the_database_booked_it(settings, real_clocks):
    # The database's clock books the slot; a wait on the way there (a busy
    # server, a lock) must not make it come early in this process's clock,
    # or a provider's messages go out faster than its rate.
    settings.RATE_HEADROOM = 1.0

    def slow_database(execute, sql, params, many, context):
        if "notices_ratebucket" in sql and sql.lstrip().startswith("UPDATE"):
            time.sleep(0.05)
        return execute(sql, params, many, context)

    asked = time.monotonic()
    with connection.execute_wrapper(slow_database):
        [slot] = reserve_slots("slow:sms", 1, rate=10)
    assert slot >= asked + 0.05


def test_a_run_of_a_capped_campaign_is_its_rates_headroom(settings):
    settings.RATE_HEADROOM = 0.95
    pacer = Pacer(500, provider=("provider:sms:primary", 1000), campaign=("1:sms", 200))
    assert len(pacer.take()) == 10


def test_an_uncapped_run_is_a_second_of_messages_at_the_lower_rate(settings):
    settings.RATE_HEADROOM = 0.95
    # Booked a second at a time, so that a batch can stop between runs.
    assert Pacer(500, provider=SMS_ACCOUNT, campaign=("1:sms", 100)).run == 9
    assert Pacer(500, provider=("provider:email:email", 0), campaign=("1:email", 20)).run == 19
    assert Pacer(5, provider=SMS_ACCOUNT, campaign=("1:sms", 100)).run == 5
    assert Pacer(500, provider=("provider:inapp:inapp", 0), campaign=("1:inapp", 0)).run == 500


def test_an_unlimited_provider_leaves_the_campaigns_cap(settings):
    settings.RATE_HEADROOM = 1.0
    slots = Pacer(3, provider=("provider:sms:primary", 0), campaign=("1:sms", 10)).take()
    assert all(gap == pytest.approx(0.1, abs=1e-6) for gap in _gaps(slots))


def test_a_run_is_booked_only_once_the_one_before_is_nearly_sent(settings):
    settings.RATE_HEADROOM = 1.0
    # A slow provider under a campaign allowed more: runs of one message.
    pacer = Pacer(200, provider=("provider:sms:slow", 1), campaign=("1:sms", 100))
    first = pacer.take()
    second = pacer.take()
    assert second[0] == pytest.approx(first[-1] + 1, abs=1e-6)
    # The third is not booked (nor due) before the second's slot: a batch whose
    # time is up stops there instead of having booked 200 seconds ahead.
    assert pacer.due() >= second[-1] - 0.001 and not pacer.booked

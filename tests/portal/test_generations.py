"""The content generation: staff edits of what every customer sees move it, once
committed, and each process reads it at most once a CHECK_SECONDS."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from portal import generations

pytestmark = pytest.mark.django_db


def test_bump_moves_the_generation_and_this_process_sees_it_at_once():
    before = generations.current()
    generations.bump()
    assert generations.current() == before + 1


def test_other_processes_see_a_bump_within_check_seconds(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(generations.time, "monotonic", lambda: clock[0])
    seen = generations.current()
    cache.incr(generations.KEY)  # another process bumps
    assert generations.current() == seen  # read at most once a CHECK_SECONDS
    clock[0] += generations.CHECK_SECONDS
    assert generations.current() == seen + 1


def test_a_bump_on_an_empty_cache_still_moves_it():
    cache.clear()
    generations.forget()
    generations.bump()
    assert generations.current() == 2  # past the 1 an unset cache starts at


@pytest.mark.parametrize("what", ["incident", "data class", "step", "notice"])
def test_staff_edits_move_it_once_committed(what, incident, django_capture_on_commit_callbacks):
    from customers.models import DataClass, Step
    from notices.models import Notice

    before = generations.current()
    with django_capture_on_commit_callbacks(execute=False) as pending:
        if what == "incident":
            incident.save()
        elif what == "data class":
            DataClass.objects.first().save()
        elif what == "step":
            Step.objects.first().save()
        else:
            Notice.objects.create(incident=incident, slug="n", title="t", body="b", body_fr="b")
    assert generations.current() == before  # not before the commit
    for callback in pending:
        callback()
    assert generations.current() > before

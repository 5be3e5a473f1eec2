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


def test_a_counter_lost_with_the_cache_starts_again_past_its_old_value():
    generations.bump()
    bumped = generations.current()
    cache.clear()
    generations.forget()
    assert generations.current() > bumped
    cache.clear()
    generations.forget()
    generations.bump()
    assert generations.current() > bumped


def test_a_cache_outage_does_not_fail_the_saved_change(monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "incr", down)
    generations.bump()  # no exception: the staff member's change is already committed
    assert "not bumped" in caplog.text


def test_a_migration_moves_it(db):
    from django.core.management import call_command

    before = generations.current()
    call_command("migrate", verbosity=0)
    assert generations.current() > before


def test_closing_and_reopening_an_incident_move_it(incident, django_capture_on_commit_callbacks):
    from customers.services import incident_close, incident_reopen

    seen = [generations.current()]
    for change in (incident_close, incident_reopen):
        with django_capture_on_commit_callbacks(execute=True):
            change(incident=incident, by=None)
        seen.append(generations.current())
    assert seen[0] < seen[1] < seen[2]


def test_linking_a_step_to_a_data_class_moves_it(db, django_capture_on_commit_callbacks):
    from customers.models import DataClass, Step

    step, data_class = Step.objects.first(), DataClass.objects.last()
    before = generations.current()
    with django_capture_on_commit_callbacks(execute=True):
        step.data_classes.add(data_class)
    assert generations.current() > before


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

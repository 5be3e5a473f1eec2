from __future__ import annotations

import pytest

from customers.models import Customer, Incident, Step, StepProgress
from customers.selectors import customer_for_user, dashboard_for_customer, step_for_customer
from tests.factories import CustomerFactory, IncidentFactory

pytestmark = pytest.mark.django_db


def test_affected_customer_gets_cards_most_sensitive_first(alice):
    [status] = dashboard_for_customer(alice)
    assert status.affected
    assert [card.data_class.code for card in status.cards] == ["passport_number", "date_of_birth"]
    assert status.cards[0].masked_value == "•••• 821"


def test_a_step_shared_by_two_exposed_fields_is_shown_once(alice):
    [status] = dashboard_for_customer(alice)
    codes = [item.step.code for card in status.cards for item in card.steps]
    assert len(codes) == len(set(codes))
    # "Check your credit report" serves both passport and date of birth: under the passport.
    passport_steps = [item.step.code for item in status.cards[0].steps]
    assert "credit-report-check" in passport_steps


def test_not_affected_customer_sees_the_active_incident_as_not_affected(incident):
    customer = CustomerFactory()
    [status] = dashboard_for_customer(customer)
    assert status.incident == incident
    assert not status.affected and status.cards == []


def test_draft_incidents_are_not_shown(alice):
    IncidentFactory(slug="draft-one", status=Incident.Status.DRAFT)
    assert [s.incident.slug for s in dashboard_for_customer(alice)] == ["customer-data-breach"]


def test_progress_counts_done_steps(alice):
    step = Step.objects.get(code="passport-decide-replace")
    StepProgress.objects.create(customer=alice, step=step, done_at="2026-01-01T00:00Z")
    [status] = dashboard_for_customer(alice)
    assert status.steps_done == 1
    assert status.steps_total == len({i.step.pk for c in status.cards for i in c.steps})


def test_dashboard_query_count_does_not_grow_with_fields(alice, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        dashboard_for_customer(alice)


def test_customer_for_user_is_the_linked_record_only(alice, bob):
    assert customer_for_user(alice.user) == alice
    assert customer_for_user(bob.user) == bob
    assert Customer.objects.filter(user=alice.user).count() == 1


def test_step_for_customer_is_limited_to_their_exposed_fields(alice, bob):
    assert step_for_customer(alice, "passport-decide-replace") is not None
    # Bob's licence was exposed, not his passport.
    assert step_for_customer(bob, "passport-decide-replace") is None
    assert step_for_customer(bob, "licence-check-state-rules") is not None


def test_dashboard_for_user_is_one_query_and_matches_dashboard_for_customer(
    alice, bob, django_assert_num_queries
):
    from customers.selectors import dashboard_for_user, taxonomy

    step = Step.objects.get(code="passport-decide-replace")
    StepProgress.objects.create(customer=alice, step=step, done_at="2026-01-01T00:00Z")
    taxonomy(), dashboard_for_customer(alice)  # the shared copies, loaded once
    with django_assert_num_queries(1):
        customer, statuses = dashboard_for_user(alice.user)
    assert customer == alice and customer.first_name == "Alice"
    expected = dashboard_for_customer(alice)
    assert [(s.incident, s.affected, s.steps_done) for s in statuses] == [
        (s.incident, s.affected, s.steps_done) for s in expected
    ]
    masked = [c.masked_value for c in statuses[0].cards]
    assert masked[0] == "•••• 821" and masked == [c.masked_value for c in expected[0].cards]
    assert statuses[0].exposure.updated_at == expected[0].exposure.updated_at


def test_dashboard_for_user_loads_the_rest_of_the_record_only_when_asked(alice):
    from customers.selectors import dashboard_for_user

    customer, _ = dashboard_for_user(alice.user)
    assert customer.email == alice.email  # deferred: read when asked
    customer.first_name = "Alicia"
    customer.save()  # writes only the fields it loaded
    alice.refresh_from_db()
    assert alice.first_name == "Alicia" and alice.email == "alice@example.com"


def test_dashboard_for_user_without_a_record_is_none(db):
    from customers.selectors import dashboard_for_user
    from tests.factories import UserFactory

    assert dashboard_for_user(UserFactory()) is None


def test_an_exposure_in_a_closed_incident_shows_and_in_a_draft_does_not(alice):
    from customers.selectors import dashboard_for_user
    from tests.factories import ExposureFactory

    closed = IncidentFactory(slug="old-one", status=Incident.Status.CLOSED)
    draft = IncidentFactory(slug="draft-one", status=Incident.Status.DRAFT)
    for incident in (closed, draft):
        ExposureFactory(incident=incident, customer=alice, fields={"email": "a•••@example.com"})
    _, statuses = dashboard_for_user(alice.user)
    assert {s.incident.slug for s in statuses} == {"customer-data-breach", "old-one"}

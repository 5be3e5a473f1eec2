from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress

from customers.models import Step, StepProgress, User
from customers.services import customer_login_ensure, step_progress_set
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_login_is_created_for_an_email_on_record():
    customer = CustomerFactory(email="jane@example.com")
    user = customer_login_ensure(email="  Jane@Example.com ")
    customer.refresh_from_db()
    assert customer.user == user
    assert user.email == "jane@example.com"
    assert not user.has_usable_password()
    address = EmailAddress.objects.get(user=user)
    assert address.primary and not address.verified


def test_login_ensure_is_idempotent():
    CustomerFactory(email="jane@example.com")
    first = customer_login_ensure(email="jane@example.com")
    second = customer_login_ensure(email="jane@example.com")
    assert first == second
    assert User.objects.filter(email="jane@example.com").count() == 1


def test_no_login_for_an_email_not_on_record():
    assert customer_login_ensure(email="stranger@example.com") is None
    assert not User.objects.filter(email="stranger@example.com").exists()


def test_shared_email_links_the_current_customer_first():
    former = CustomerFactory(email="family@example.com", is_current=False)
    current = CustomerFactory(email="family@example.com", is_current=True)
    user = customer_login_ensure(email="family@example.com")
    current.refresh_from_db()
    former.refresh_from_db()
    assert current.user == user and former.user is None


def test_step_progress_set_and_undo(alice):
    step = Step.objects.get(code="passport-decide-replace")
    step_progress_set(customer=alice, step=step, done=True)
    step_progress_set(customer=alice, step=step, done=True)
    assert StepProgress.objects.filter(customer=alice).count() == 1
    step_progress_set(customer=alice, step=step, done=False)
    assert not StepProgress.objects.filter(customer=alice).exists()

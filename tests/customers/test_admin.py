from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, ExposureFactory, UserFactory
from tests.staff import login_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    return login_staff(client, user)


@pytest.mark.parametrize(
    "model", ["customer", "incident", "dataclass", "step", "exposure", "stepprogress", "user"]
)
def test_every_changelist_renders(admin_client, alice, model):
    response = admin_client.get(reverse(f"admin:customers_{model}_changelist"))
    assert response.status_code == 200


def test_customer_search_by_reference_or_a_whole_email_or_phone(admin_client):
    jane = CustomerFactory(
        customer_ref="AB123456", email="jane.doe@example.com", phone="+61412345678"
    )
    CustomerFactory(customer_ref="ZZ999999", email="other@example.com", phone="+61499999999")
    url = reverse("admin:customers_customer_changelist")
    for term in [
        "AB123456",
        "AB12",
        "jane.doe@example.com",
        "JANE.DOE@example.com ",
        "+61412345678",
        "0412 345 678",
    ]:
        results = list(admin_client.get(url, {"q": term}).context["cl"].result_list)
        assert results == [jane], term


@pytest.mark.parametrize("term", ["JANE.DOE@", "jane.", "+614123", "04123", "+6141234567"])
def test_contact_details_cannot_be_found_by_their_beginning(admin_client, term):
    # Otherwise anyone with the list could spell out a number one digit at a time.
    CustomerFactory(customer_ref="AB123456", email="jane.doe@example.com", phone="+61412345678")
    url = reverse("admin:customers_customer_changelist")
    assert list(admin_client.get(url, {"q": term}).context["cl"].result_list) == []


def test_customer_list_masks_contact_details(admin_client):
    CustomerFactory(email="jane.doe@example.com", phone="+61412345678")
    html = admin_client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert "jane.doe@example.com" not in html and "j•••@example.com" in html
    assert "+61412345678" not in html and "•••• ••• 678" in html


def test_exposure_changelist_queries_do_not_grow_with_rows(
    admin_client, incident, django_assert_max_num_queries
):
    for _ in range(30):
        ExposureFactory(incident=incident)
    with django_assert_max_num_queries(12):
        admin_client.get(reverse("admin:customers_exposure_changelist"))


def test_a_data_class_keeps_its_code_that_exposures_are_keyed_by(client, alice):
    from customers.models import DataClass
    from customers.selectors import dashboard_for_customer
    from portal.roles import COMMUNICATIONS
    from tests.staff import staff_with_role

    passport = DataClass.objects.get(code="passport_number")
    login_staff(client, staff_with_role(COMMUNICATIONS, username="carol"))
    response = client.post(
        reverse("admin:customers_dataclass_change", args=[passport.pk]),
        {
            "code": "passport",
            "label": "Passport number (edited)",
            "label_fr": passport.label_fr,
            "sensitivity": passport.sensitivity,
            "explanation": passport.explanation,
            "explanation_fr": passport.explanation_fr,
            "is_identity_document": "on",
        },
    )
    assert response.status_code == 302
    passport.refresh_from_db()
    assert (passport.code, passport.label) == ("passport_number", "Passport number (edited)")
    [status] = [s for s in dashboard_for_customer(alice) if s.exposure is not None]
    labels = {card.data_class.code for card in status.cards}
    assert "passport_number" in labels


def test_a_step_keeps_its_code_that_its_page_and_ticks_are_found_by(client):
    from customers.models import Step
    from portal.roles import COMMUNICATIONS
    from tests.staff import staff_with_role

    step = Step.objects.get(code="passport-decide-replace")
    login_staff(client, staff_with_role(COMMUNICATIONS, username="carol"))
    response = client.post(
        reverse("admin:customers_step_change", args=[step.pk]),
        {
            "code": "passport-replace",
            "title": "Decide whether to replace your passport (edited)",
            "title_fr": step.title_fr,
            "body": step.body,
            "body_fr": step.body_fr,
            "link_url": step.link_url,
            "priority": step.priority,
            "data_classes": [dc.pk for dc in step.data_classes.all()],
        },
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.code == "passport-decide-replace"
    assert step.title == "Decide whether to replace your passport (edited)"


def test_a_new_step_is_given_its_code(admin_client):
    from customers.models import DataClass, Step

    passport = DataClass.objects.get(code="passport_number")
    response = admin_client.post(
        reverse("admin:customers_step_add"),
        {
            "code": "new-step",
            "title": "A new step",
            "title_fr": "Une nouvelle étape",
            "body": "Do it.",
            "body_fr": "Faites-le.",
            "link_url": "",
            "priority": 3,
            "data_classes": [passport.pk],
        },
    )
    assert response.status_code == 302
    assert Step.objects.filter(code="new-step").exists()


def test_every_change_to_a_step_is_on_the_audit_log(client):
    # What customers are told to do is staff content like a campaign or a notice.
    from customers.models import DataClass, Step
    from portal.models import AuditAction, AuditEntry
    from portal.roles import COMMUNICATIONS
    from tests.staff import staff_with_role

    carol = staff_with_role(COMMUNICATIONS, username="carol")
    login_staff(client, carol)
    step = Step.objects.get(code="passport-decide-replace")
    form = {
        "title": "Decide whether to replace your passport (edited)",
        "title_fr": step.title_fr,
        "body": step.body,
        "body_fr": step.body_fr,
        "link_url": step.link_url,
        "priority": step.priority,
        "data_classes": [dc.pk for dc in step.data_classes.all()],
    }
    url = reverse("admin:customers_step_change", args=[step.pk])
    assert client.post(url, form).status_code == 302
    entry = AuditEntry.objects.get(action=AuditAction.STEP_EDIT)
    assert (entry.actor, entry.target_type, entry.target_id) == (carol, "step", str(step.pk))
    assert entry.detail["fields"] == ["title"]

    passport = DataClass.objects.get(code="passport_number")
    new = {**form, "code": "new-step", "data_classes": [passport.pk]}
    assert client.post(reverse("admin:customers_step_add"), new).status_code == 302
    added = Step.objects.get(code="new-step")
    assert AuditEntry.objects.filter(
        action=AuditAction.STEP_ADD, actor=carol, target_id=str(added.pk)
    ).exists()


def test_deleting_a_step_is_on_the_audit_log(admin_client):
    from customers.models import Step
    from portal.models import AuditAction, AuditEntry

    step = Step.objects.get(code="passport-decide-replace")
    url = reverse("admin:customers_step_delete", args=[step.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert AuditEntry.objects.filter(
        action=AuditAction.STEP_DELETE, target_id=str(step.pk), target_label=step.code
    ).exists()
    other = Step.objects.first()
    admin_client.post(
        reverse("admin:customers_step_changelist"),
        {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"},
    )
    assert not Step.objects.filter(pk=other.pk).exists()
    assert AuditEntry.objects.filter(
        action=AuditAction.STEP_DELETE, target_id=str(other.pk)
    ).exists()

"""The seeded taxonomy is fine enough to act on, in both languages."""

from __future__ import annotations

import pytest

from customers.models import DataClass, Step

pytestmark = pytest.mark.django_db

REQUIRED = {
    "name",
    "email",
    "phone",
    "date_of_birth",
    "address",
    "passport_number",
    "drivers_licence_number",
    "drivers_licence_card_number",
    "medicare_number",
    "bank_account",
    "account_number",
    "password_hash",
}

# The classes DOMAIN.md names (HIBP's common ones, and expired documents), by
# the codes that carry them here.
DOMAIN_CLASSES = {
    "email addresses": "email",
    "passwords": "password_hash",
    "usernames": "username",
    "names": "name",
    "phone numbers": "phone",
    "physical addresses": "address",
    "dates of birth": "date_of_birth",
    "genders": "gender",
    "IP addresses": "ip_address",
    "geographic locations": "geolocation",
    "government-issued IDs": "government_id_number",
    "passport numbers": "passport_number",
    "social security numbers": "social_security_number",
    "credit cards": "credit_card",
    "partial credit card data": "partial_credit_card",
    "bank account numbers": "bank_account",
    "security questions and answers": "security_questions",
    "auth tokens": "auth_tokens",
    "health insurance information": "health_insurance",
    "employers": "employer",
    "job titles": "job_title",
    "purchases": "purchases",
    "driver's licence number": "drivers_licence_number",
    "driver's licence card number": "drivers_licence_card_number",
    "expired documents": "expired_id_document",
    "Medicare number": "medicare_number",
}


def test_every_required_data_class_is_seeded_with_both_languages():
    classes = {dc.code: dc for dc in DataClass.objects.all()}
    assert set(classes) >= REQUIRED
    for dc in classes.values():
        assert dc.label and dc.label_fr and dc.explanation and dc.explanation_fr
        assert dc.label != dc.label_fr or dc.code == "name"


def test_every_data_class_has_a_recommended_step():
    for dc in DataClass.objects.prefetch_related("steps"):
        assert dc.steps.exists(), dc.code


def test_steps_are_bilingual():
    for step in Step.objects.all():
        assert step.title_fr and step.body_fr and step.title_fr != step.title


def test_the_taxonomy_covers_the_classes_the_domain_notes_name():
    codes = set(DataClass.objects.values_list("code", flat=True))
    missing = {name: code for name, code in DOMAIN_CLASSES.items() if code not in codes}
    assert missing == {}


def test_identity_documents_are_marked_and_get_identity_theft_help():
    for code in ("social_security_number", "government_id_number", "expired_id_document"):
        dc = DataClass.objects.get(code=code)
        assert dc.is_identity_document
        assert set(dc.steps.values_list("code", flat=True)) >= {
            "id-theft-support",
            "credit-report-check",
        }


def test_labels_stay_in_the_gsm7_alphabet():
    """One label outside it would send a whole text message as UCS-2."""
    from notices.sms import non_gsm_characters

    for dc in DataClass.objects.all():
        assert non_gsm_characters(dc.label + dc.label_fr) == [], dc.code


def test_the_licence_card_number_carries_the_state_rules_caveat():
    card = DataClass.objects.get(code="drivers_licence_card_number")
    steps = {step.code: step for step in card.steps.all()}
    assert "licence-check-state-rules" in steps
    replace = steps["licence-card-replace"]
    assert "Rules differ by state" in replace.body
    assert "both the licence number and the card number" in replace.body
    assert "Les règles varient selon l'État" in replace.body_fr


def test_the_identity_support_service_is_named_by_the_setting(settings):
    from django.utils import translation

    from portal.i18n import localized

    texts = [
        text
        for step in Step.objects.all()
        for text in (step.title, step.title_fr, step.body, step.body_fr)
    ] + [text for dc in DataClass.objects.all() for text in (dc.explanation, dc.explanation_fr)]
    assert not [text for text in texts if "IDCARE" in text]
    step = Step.objects.get(code="id-theft-support")
    assert "{ID_SUPPORT_NAME}" in step.body and "{ID_SUPPORT_NAME}" in step.body_fr
    settings.ID_SUPPORT_NAME = "Identity Help Line"
    assert "contact your bank and Identity Help Line, a free" in localized(step, "body")
    with translation.override("fr"):
        assert "contactez votre banque et Identity Help Line," in localized(step, "body")


def test_the_dashboard_names_the_default_identity_support_service(client, alice):
    from django.urls import reverse

    client.force_login(alice.user)
    html = client.get(reverse("customers:dashboard")).content.decode()
    assert "contact your bank and IDCARE, a free identity-theft support service" in html
    assert "{ID_SUPPORT_NAME}" not in html


def _taxonomy_migration():
    import importlib

    return importlib.import_module("customers.migrations.0009_taxonomy_domain_classes")


def test_reversing_the_taxonomy_migration_keeps_what_is_used_or_was_changed(incident):
    """Only what the migration added, unchanged and unused, goes: deleting a step
    a customer ticked would delete their progress, and a class an import or a
    campaign names would leave them pointing at nothing."""
    from types import SimpleNamespace

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader
    from django.utils import timezone

    from customers.models import StepProgress
    from notices.services import campaign_create
    from portal.roles import COMMUNICATIONS
    from tests.factories import CustomerFactory, ExposureFactory
    from tests.staff import staff_with_role

    lead = staff_with_role(COMMUNICATIONS, username="carol")

    customer = CustomerFactory()
    ExposureFactory(customer=customer, incident=incident, fields={"username": "j•••"})
    campaign = campaign_create(
        incident=incident, channels=["sms"], by=lead, data_classes=["gender"]
    )
    DataClass.objects.filter(code="employer").update(label="Employer (as staff wrote it)")
    StepProgress.objects.create(
        customer=customer, step=Step.objects.get(code="card-cancel"), done_at=timezone.now()
    )
    support = Step.objects.get(code="id-theft-support")
    licence = Step.objects.get(code="licence-card-replace")
    Step.objects.filter(pk=support.pk).update(title="Our own wording")

    # The models as the migration sees them when reversed: campaigns are not among them.
    loader = MigrationLoader(connection)
    state = loader.project_state(("customers", "0009_taxonomy_domain_classes"), at_end=True)
    assert "notices" not in {model._meta.app_label for model in state.apps.get_models()}
    _taxonomy_migration().backwards(state.apps, SimpleNamespace(connection=connection))

    codes = set(DataClass.objects.values_list("code", flat=True))
    assert {"username", "gender", "employer"} <= codes
    assert not {"ip_address", "job_title", "purchases"} & codes
    assert campaign.data_classes.filter(code="gender").exists()
    steps = set(Step.objects.values_list("code", flat=True))
    assert "card-cancel" in steps and "sessions-sign-out" not in steps
    support.refresh_from_db()
    licence.refresh_from_db()
    assert support.title == "Our own wording"
    assert licence.title == _taxonomy_migration().REWORDED["licence-card-replace"][0][0]


@pytest.mark.parametrize(
    ("link", "valid"),
    [
        ("/help/", True),
        ("mailto:privacy@example.com", True),
        ("tel:+61299990000", True),
        ("https://www.oaic.gov.au/", True),
        ("javascript:alert(1)", False),
        ("\tjava\nscript:alert(1)", False),
        ("data:text/html,x", False),
    ],
)
def test_a_step_link_that_could_run_script_fails_model_validation(link, valid):
    # The floor every form for a step keeps, whatever host rule sits on top.
    from django.core.exceptions import ValidationError

    step = Step(code="x", title="t", title_fr="t", body="b", body_fr="b", link_url=link)
    if valid:
        step.full_clean()
    else:
        with pytest.raises(ValidationError):
            step.full_clean()

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

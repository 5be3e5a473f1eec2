from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation


def localized(obj: models.Model, field: str) -> str:
    """The French twin of ``field`` (``<field>_fr``) when French is active and filled."""
    if translation.get_language() == "fr":
        value = getattr(obj, f"{field}_fr", "")
        if value:
            return value
    return getattr(obj, field)


def localized_setting(name: str) -> str:
    """The French twin of the text setting ``name`` (``<name>_FR``) when French is
    active and it is set, else the English text."""
    if translation.get_language() == "fr":
        value = getattr(settings, f"{name}_FR", "")
        if value:
            return value
    return getattr(settings, name)

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from customers.models import DataClass, Incident, Step
        from portal.generations import bump_on_commit

        # What every customer page shows: pages and copies are rebuilt (portal/generations.py).
        for model in (Incident, DataClass, Step):
            post_save.connect(bump_on_commit, sender=model, dispatch_uid=f"gen-save-{model}")
            post_delete.connect(bump_on_commit, sender=model, dispatch_uid=f"gen-del-{model}")
        m2m_changed.connect(
            bump_on_commit, sender=Step.data_classes.through, dispatch_uid="gen-step-classes"
        )

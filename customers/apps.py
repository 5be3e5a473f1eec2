from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from allauth.account.signals import email_confirmed
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from customers.models import DataClass, Incident, Step
        from customers.services import on_email_confirmed
        from portal.generations import bump_on_commit

        # A code sent to the address on record, entered: the record's address is proved.
        email_confirmed.connect(on_email_confirmed, dispatch_uid="customers-email-proved")

        # What every customer page shows: pages and copies are rebuilt (portal/generations.py).
        for model in (Incident, DataClass, Step):
            post_save.connect(bump_on_commit, sender=model, dispatch_uid=f"gen-save-{model}")
            post_delete.connect(bump_on_commit, sender=model, dispatch_uid=f"gen-del-{model}")
        m2m_changed.connect(
            bump_on_commit, sender=Step.data_classes.through, dispatch_uid="gen-step-classes"
        )

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = _("Notices and alerts")

    def ready(self) -> None:
        # Email delivery and bounce webhooks arrive through django-anymail's
        # views, which announce each event with a signal.
        from anymail.signals import tracking

        from notices import checks  # noqa: F401 (registers the system checks)
        from notices.receipts import anymail_tracking_received

        tracking.connect(anymail_tracking_received, dispatch_uid="notices-anymail-tracking")

        # Sign-in code emails (customers) take their slot of the email provider's
        # rate from the buckets kept here, shared with campaigns.
        from notices.tasks import provider_slot_take
        from portal import send_slots

        send_slots.provide(provider_slot_take)

        # Notices show on customer pages built from per-process copies (portal/generations.py).
        from django.db.models.signals import post_delete, post_save

        from notices.models import Notice, NoticeUpdate
        from portal.generations import bump_on_commit

        for model in (Notice, NoticeUpdate):
            post_save.connect(bump_on_commit, sender=model, dispatch_uid=f"gen-save-{model}")
            post_delete.connect(bump_on_commit, sender=model, dispatch_uid=f"gen-del-{model}")

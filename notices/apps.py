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

        from notices.receipts import anymail_tracking_received

        tracking.connect(anymail_tracking_received, dispatch_uid="notices-anymail-tracking")

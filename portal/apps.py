from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Firsthand"

    def ready(self) -> None:
        # Registers the OpenAPI description of the session-token authentication.
        from portal import api_docs  # noqa: F401

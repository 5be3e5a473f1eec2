from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Firsthand"

    def ready(self) -> None:
        from allauth.mfa.signals import authenticator_added
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.contrib.auth.signals import user_logged_in
        from django.core.signals import request_finished
        from django.db.backends.signals import connection_created
        from django.db.models.signals import m2m_changed, post_migrate

        # api_docs registers the OpenAPI description of the session-token auth;
        # checks, the deploy checks.
        from portal import (  # noqa: F401
            allauth_ratelimit,
            api_docs,
            audit,
            checks,
            staff_auth,
            user_sessions,
        )
        from portal.observability import metrics, middleware

        allauth_ratelimit.install()
        user_sessions.install()
        # A data migration can change what customers see without model signals.
        post_migrate.connect(_content_migrated, dispatch_uid="portal-generation-migrate")
        connection_created.connect(audit.register_sqlite_purge_flag)
        authenticator_added.connect(staff_auth.on_authenticator_added)
        user_logged_in.connect(staff_auth.on_user_logged_in)
        user_logged_in.connect(metrics.on_user_logged_in)
        request_finished.connect(middleware.end_request)
        m2m_changed.connect(staff_auth.on_groups_changed, sender=get_user_model().groups.through)
        m2m_changed.connect(
            staff_auth.on_user_permissions_changed,
            sender=get_user_model().user_permissions.through,
        )
        m2m_changed.connect(
            staff_auth.on_group_permissions_changed, sender=Group.permissions.through
        )


def _content_migrated(**_signal) -> None:
    from portal import generations

    generations.bump()

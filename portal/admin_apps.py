"""Django's admin, entered only through allauth with MFA (portal/staff_auth.py)."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "portal.staff_auth.PortalAdminSite"

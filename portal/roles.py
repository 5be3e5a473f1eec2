"""Staff roles: Django groups with exactly the permissions each job needs.

Created and kept in step by migrations (``portal/migrations/0002_roles`` and
any later one that calls ``sync_roles``): change ``ROLES`` here, then add a
migration that runs ``sync_roles`` again. README "Staff roles" describes them.

Superusers are for the operators who set the site up; they too need MFA.
"""

from __future__ import annotations

SUPPORT_AGENT = "Support agent"
COMMUNICATIONS = "Communications"
INCIDENT_LEAD = "Incident lead"
AUDITOR = "Auditor"

_SUPPORT = [
    # Find a customer and see their record (masked), exposures, steps, messages.
    "customers.view_customer",
    "customers.view_exposure",
    "customers.view_stepprogress",
    "customers.view_incident",
    "customers.view_dataclass",
    "customers.view_step",
    "notices.view_delivery",
    "notices.view_deliveryevent",
    # Act for them, each on the audit log.
    "customers.reveal_customer_data",
    "customers.change_customer_contact",
    "customers.add_claimcode",
    "customers.view_claimcode",
    "customers.add_contactnote",
    "customers.view_contactnote",
    "notices.resend_delivery",
    # Suspicious messages customers report to us.
    "notices.view_suspiciousreport",
    "notices.change_suspiciousreport",
]

_COMMUNICATIONS = [
    "customers.view_incident",
    "customers.view_dataclass",
    "customers.change_dataclass",
    "customers.view_step",
    "customers.add_step",
    "customers.change_step",
    "notices.view_campaign",
    "notices.add_campaign",
    "notices.change_campaign",
    "notices.view_campaigntemplate",
    "notices.add_campaigntemplate",
    "notices.change_campaigntemplate",
    "notices.delete_campaigntemplate",
    "notices.view_incidenttemplate",
    "notices.add_incidenttemplate",
    "notices.change_incidenttemplate",
    "notices.delete_incidenttemplate",
    "notices.view_testsend",
    "notices.add_testsend",
    "notices.view_notice",
    "notices.add_notice",
    "notices.change_notice",
    "notices.view_noticeupdate",
    "notices.add_noticeupdate",
    "notices.change_noticeupdate",
    "notices.view_directfirstoverride",
]

_INCIDENT_LEAD = [
    *_COMMUNICATIONS,
    "customers.add_incident",
    "customers.change_incident",
    "customers.view_importjob",
    "customers.add_importjob",
    "notices.approve_campaign",
    "notices.send_campaign",
    "notices.export_unreachable",
    "notices.publish_notice",
    "notices.override_direct_first",
    "notices.add_directfirstoverride",
    "notices.view_suspiciousreport",
    "portal.view_auditentry",
    "portal.export_auditentry",
]

# Read-only on everything, the audit log included, and never anything unmasked:
# no reveal permission, and no view of logins (emails), allauth's email
# addresses, sessions (addresses) or authenticators.
_AUDITOR_APPS = ("customers", "notices", "portal")
# The demo outbox holds full addresses and sign-in codes.
_AUDITOR_EXCLUDED = {"customers.view_user", "notices.view_outboxmessage"}
_AUDITOR_EXTRA = ["auth.view_group", "portal.export_auditentry"]

ROLES: dict[str, list[str]] = {
    SUPPORT_AGENT: _SUPPORT,
    COMMUNICATIONS: _COMMUNICATIONS,
    INCIDENT_LEAD: _INCIDENT_LEAD,
}


def _auditor_permissions(Permission) -> list[str]:
    views = Permission.objects.filter(
        content_type__app_label__in=_AUDITOR_APPS, codename__startswith="view_"
    ).values_list("content_type__app_label", "codename")
    names = {f"{app}.{codename}" for app, codename in views} - _AUDITOR_EXCLUDED
    return sorted(names | set(_AUDITOR_EXTRA))


def sync_roles(apps, schema_editor=None) -> None:
    """Create the groups and set their permissions exactly (a migration step)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; roles need them now.
    # (Migration app configs have no models module, which create_permissions
    # takes to mean "no models": lend them one for the call.)
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = {**ROLES, AUDITOR: _auditor_permissions(Permission)}
    for name, perms in wanted.items():
        group, _ = Group.objects.get_or_create(name=name)
        objects = []
        for perm in perms:
            app_label, codename = perm.split(".")
            objects.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(objects)

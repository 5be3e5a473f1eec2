"""Staff sign-in: through allauth, with MFA, into the admin.

The admin has no login form of its own. Its login URL routes people: to
allauth's sign-in, then to setting up an authenticator if they have none, then
to an MFA check if this session has not passed one. Only a session that used
MFA (at sign-in, on re-authentication or when activating TOTP) reaches the
admin, and only for STAFF_SESSION_SECONDS after it did (then the admin asks for
a code again). A staff member cannot remove their last authenticator.
"""

from __future__ import annotations

import time

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME, SESSION_KEY
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _

from customers.hashing import hash_key
from portal.audit import audit
from portal.models import AuditAction

SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


def session_used_mfa(request: HttpRequest) -> bool:
    """This session passed a second factor within STAFF_SESSION_SECONDS."""
    since = time.time() - settings.STAFF_SESSION_SECONDS
    records = get_authentication_records(request, request.user)
    return any(r.get("method") == "mfa" and r.get("at", 0) >= since for r in records)


def staff_may_enter(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and session_used_mfa(request))


class PortalAdminSite(admin.AdminSite):
    site_header = "Firsthand"
    site_title = "Firsthand staff"
    index_title = _("Staff workspace")

    def has_permission(self, request: HttpRequest) -> bool:
        return staff_may_enter(request)

    def register(self, model_or_iterable, admin_class=None, **options):
        # Every list filters only by its own filters (portal/admin_lookups.py),
        # allauth's admins included.
        from portal.admin_lookups import with_filter_lookups_only

        super().register(model_or_iterable, with_filter_lookups_only(admin_class), **options)

    def get_urls(self):
        from django.urls import path

        return [
            path("pipeline/", self.admin_view(self.pipeline_view), name="pipeline"),
            *super().get_urls(),
        ]

    def pipeline_view(self, request: HttpRequest) -> HttpResponse:
        """Queues, workers, provider errors and stuck work at a glance (any staff)."""
        from portal.observability.admin_views import pipeline_page

        return pipeline_page(request, self)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = reverse("admin:index", current_app=self.name)
        user = request.user

        def to(name: str) -> HttpResponse:
            return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': next_url})}")

        if not user.is_authenticated:
            return to("account_login")
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        if not is_mfa_enabled(user, SECOND_FACTORS):
            messages.info(
                request,
                _(
                    "Staff must use two-factor authentication. Set up an authenticator app "
                    "to continue."
                ),
            )
            return to("mfa_activate_totp")
        if not session_used_mfa(request):
            return to("mfa_reauthenticate")
        return HttpResponseRedirect(next_url)


class StaffSessionMiddleware:
    """Staff sessions end after STAFF_SESSION_SECONDS idle, whichever way they
    signed in (allauth sets the customers' longer age after its own signals)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            session = request.session
            # Only the session that signed them in: the app's token (the API's
            # user) comes with no cookie session, and setting an expiry on that
            # empty one stored a new session, and sent its cookie, per request.
            if SESSION_KEY not in session:
                return response
            if session.get_expiry_age() > settings.STAFF_SESSION_SECONDS:
                session.set_expiry(settings.STAFF_SESSION_SECONDS)
        return response


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets encrypted at rest (Fernet, keyed from HASH_KEY, which is
    never rotated: a rotated key would lock every staff member out)."""

    @staticmethod
    def _fernet():
        import base64
        import hashlib

        from cryptography.fernet import Fernet

        key = hashlib.sha256(f"firsthand.mfa:{hash_key()}".encode()).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, text: str) -> str:
        return "fernet:" + self._fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith("fernet:"):
            return encrypted_text  # stored before encryption was turned on
        return self._fernet().decrypt(encrypted_text.removeprefix("fernet:").encode()).decode()

    def validation_error(self, code, *args):
        from portal.observability.metrics import on_mfa_error

        on_mfa_error(code)  # counted for /metrics
        return super().validation_error(code, *args)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """Staff keep at least one second factor (recovery codes do not count)."""
        user = authenticator.user
        if not user.is_staff or authenticator.type == Authenticator.Type.RECOVERY_CODES:
            return True
        others = Authenticator.objects.filter(user=user, type__in=SECOND_FACTORS).exclude(
            pk=authenticator.pk
        )
        return others.exists()


# --- signal receivers (connected in PortalConfig.ready) -------------------------


def on_authenticator_added(sender, request, user, authenticator, **kwargs) -> None:
    """Activating TOTP proves the code works: this session has used MFA."""
    if request is not None and authenticator.type in SECOND_FACTORS:
        record_authentication(request, user, "mfa", type=authenticator.type, activated=True)


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    if not user.is_staff or request is None:
        return
    if hasattr(request, "session"):
        request.session.set_expiry(settings.STAFF_SESSION_SECONDS)
    audit(AuditAction.STAFF_SIGN_IN, actor=user, request=request)


def on_groups_changed(sender, instance, action, pk_set, reverse=False, **kwargs) -> None:
    """Role changes are on the audit log (whoever made them, from wherever)."""
    from django.contrib.auth.models import Group

    _audit_role_change(
        instance, action, pk_set, reverse, Group.objects.all(), "groups", lambda g: g.name
    )


def on_user_permissions_changed(sender, instance, action, pk_set, reverse=False, **kwargs) -> None:
    """A permission given to one person is a role change too (the admin offers it)."""
    from django.contrib.auth.models import Permission

    _audit_role_change(
        instance,
        action,
        pk_set,
        reverse,
        Permission.objects.select_related("content_type"),
        "permissions",
        lambda p: f"{p.content_type.app_label}.{p.codename}",
    )


def on_group_permissions_changed(sender, instance, action, pk_set, reverse=False, **kwargs) -> None:
    """What a role may do, changed in the admin's group pages (roles.py is the
    source; a migration runs sync_roles), changes every holder's access at once."""
    from django.contrib.auth.models import Group, Permission

    if action not in ("post_add", "post_remove", "post_clear"):
        return
    from allauth.core import context

    request = context.request
    actor = getattr(request, "user", None)
    if reverse:  # permission.group_set.add(...)
        groups = list(Group.objects.filter(pk__in=pk_set or []).order_by("pk"))
        changes = [(group, [instance]) for group in groups]
    else:
        perms = Permission.objects.filter(pk__in=pk_set or []).select_related("content_type")
        changes = [(instance, list(perms))]
    for group, perms in changes:
        audit(
            AuditAction.ROLES_CHANGE,
            actor=actor,
            target=group,
            target_label=group.name,
            detail={
                "change": action.removeprefix("post_"),
                "role": group.name,
                "permissions": sorted(f"{p.content_type.app_label}.{p.codename}" for p in perms),
            },
            request=request if actor is not None else None,
        )


def _audit_role_change(instance, action, pk_set, reverse, roles, key, name) -> None:
    """One entry per person changed. From the role's side (``group.user_set.add``)
    the instance is the role and the keys are people's; a clear names nobody
    afterwards, so who had the role is read just before."""
    from django.contrib.auth import get_user_model

    if reverse and action == "pre_clear":
        instance._role_holders = list(instance.user_set.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    from allauth.core import context

    request = context.request
    actor = getattr(request, "user", None)
    change = action.removeprefix("post_")
    if reverse:
        people = get_user_model().objects.filter(
            pk__in=pk_set if pk_set is not None else getattr(instance, "_role_holders", [])
        )
        changes = [(person, [name(instance)]) for person in people.order_by("pk")]
    else:
        changes = [(instance, sorted(name(r) for r in roles.filter(pk__in=pk_set or [])))]
    for person, names in changes:
        audit(
            AuditAction.ROLES_CHANGE,
            actor=actor,
            target=person,
            target_label=person.get_username(),
            detail={"change": change, key: names},
            request=request if actor is not None else None,
        )

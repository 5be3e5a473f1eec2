"""The campaign lifecycle for operators and scripts.

manage.py campaign create --incident SLUG --channels sms,email[,inapp] --by USERNAME
                          [--data-classes a,b] [--name N] [--customers current|former]
manage.py campaign approve ID --by USERNAME [--code CODE]
manage.py campaign send|pause|resume|cancel ID --by USERNAME
manage.py campaign status ID [--json]

Every action names the staff member doing it (--by), who must be an active staff
member: the services check their permissions and the four-eyes rule exactly as in
the admin. The audit log records the member, that it was done from the command
line, and the operating-system account and host that ran it. Approving, the
second pair of eyes, also needs a current code from the approver's authenticator
app (prompted for, or --code), so an operator cannot approve in someone else's name.
"""

from __future__ import annotations

import getpass
import json
import socket
import sys

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext

from customers.models import Incident, User
from notices import selectors, services
from notices.models import Campaign
from notices.services.reviews import require_permission
from portal.audit import audit_origin


class Command(BaseCommand):
    help = "Create, approve, send, pause, resume, cancel a campaign, or show its status."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="a draft with the incident's default templates")
        create.add_argument("--incident", required=True, help="incident slug")
        create.add_argument("--channels", required=True, help="e.g. sms,email,inapp")
        create.add_argument(
            "--data-classes", default="", help="e.g. passport_number,medicare_number"
        )
        create.add_argument("--name", default="")
        create.add_argument("--customers", choices=["all", "current", "former"], default="all")
        create.add_argument("--by", required=True, help="username of the author")
        approve = sub.add_parser("approve")
        approve.add_argument("id", type=int)
        approve.add_argument("--by", required=True, help="username of the approver")
        approve.add_argument(
            "--code", default="", help="the approver's authenticator code (else prompted for)"
        )
        for name in ("send", "pause", "resume", "cancel"):
            action = sub.add_parser(name)
            action.add_argument("id", type=int)
            action.add_argument("--by", required=True, help="username of the staff member")
        status = sub.add_parser("status")
        status.add_argument("id", type=int)
        status.add_argument("--json", action="store_true")

    def handle(self, *args, action: str, **options) -> None:
        origin = {"via": "command line", "os_user": _os_user(), "host": socket.gethostname()}
        try:
            with audit_origin(**origin):
                getattr(self, f"do_{action}")(**options)
        except (ValidationError, PermissionDenied) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            raise CommandError("; ".join(messages)) from exc

    def _campaign(self, pk: int) -> Campaign:
        try:
            return Campaign.objects.select_related("incident").get(pk=pk)
        except Campaign.DoesNotExist:
            raise CommandError(f"No campaign {pk}.") from None

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None or not (user.is_active and user.is_staff):
            raise CommandError(f"{username!r} is not an active staff member.")
        return user

    def _confirm(self, user: User, code: str) -> None:
        """The approver's own authenticator code: proof that they, not just
        someone with a shell, approve."""
        from allauth.mfa.models import Authenticator
        from allauth.mfa.totp.internal.auth import TOTP

        authenticator = Authenticator.objects.filter(
            user=user, type=Authenticator.Type.TOTP
        ).first()
        if authenticator is None:
            raise CommandError(
                f"{user.username!r} has no authenticator app: approve in the admin instead."
            )
        if not code and sys.stdin.isatty():
            code = getpass.getpass(f"Authenticator code of {user.username}: ")
        if not code:
            raise CommandError("Approving needs the approver's authenticator code (--code).")
        if not TOTP(authenticator).validate_code(code.strip()):
            raise CommandError("That authenticator code is wrong or was already used.")

    def do_create(self, *, incident, channels, data_classes, name, customers, by, **_):
        try:
            incident_obj = Incident.objects.get(slug=incident)
        except Incident.DoesNotExist:
            raise CommandError(f"No incident {incident!r}.") from None
        try:
            campaign = services.campaign_create(
                incident=incident_obj,
                channels=[c.strip() for c in channels.split(",") if c.strip()],
                data_classes=[c.strip() for c in data_classes.split(",") if c.strip()],
                name=name,
                customer_status=customers,
                by=self._user(by),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(campaign.pk))

    def do_approve(self, *, id, by, code="", **_):
        campaign, approver = self._campaign(id), self._user(by)
        # Asked again by the service; first here, so nobody is asked for a code in vain.
        require_permission(
            approver,
            "notices.approve_campaign",
            gettext("Only an incident lead may approve a campaign."),
        )
        self._confirm(approver, code)
        campaign = services.campaign_approve(campaign=campaign, by=approver)
        self.stdout.write(f"Campaign {campaign.pk} approved by {by}.")

    def _transition(self, service, pk: int, by: str, verb: str) -> None:
        campaign = service(campaign=self._campaign(pk), by=self._user(by))
        self.stdout.write(f"Campaign {campaign.pk} {verb} ({campaign.status}) by {by}.")

    def do_send(self, *, id, by, **_):
        self._transition(services.campaign_send, id, by, "sending")

    def do_pause(self, *, id, by, **_):
        self._transition(services.campaign_pause, id, by, "paused")

    def do_resume(self, *, id, by, **_):
        self._transition(services.campaign_resume, id, by, "resumed")

    def do_cancel(self, *, id, by, **_):
        self._transition(services.campaign_cancel, id, by, "cancelled")

    def do_status(self, *, id, json: bool = False, **_):
        campaign = self._campaign(id)
        progress = selectors.campaign_progress(campaign)
        data = {
            "id": campaign.pk,
            "name": campaign.name,
            "status": campaign.status,
            "planning_done": campaign.planning_done,
            "total": progress.total,
            "counts": progress.counts,
            "by_channel": progress.by_channel,
        }
        if json:
            self.stdout.write(_dumps(data))
            return
        self.stdout.write(f"Campaign {campaign.pk} “{campaign.name}”: {campaign.status}")
        self.stdout.write(f"  deliveries: {progress.total}")
        for status, count in progress.counts.items():
            if count:
                self.stdout.write(f"  {status:<14} {count}")
        for channel, counts in progress.by_channel.items():
            summary = ", ".join(f"{s} {n}" for s, n in counts.items() if n)
            self.stdout.write(f"  [{channel}] {summary}")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "unknown"


def _dumps(data: dict) -> str:
    return json.dumps(data, indent=2, sort_keys=True)

"""Print the current sign-in code of the demo staff logins (seed_demo)."""

from __future__ import annotations

import time

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.management.commands.seed_demo import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "The demo staff's current TOTP code (the shared demo secret; never in production)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("Only for the demo (DEBUG=1): real staff use their own app.")
        counter = int(time.time()) // app_settings.TOTP_PERIOD
        left = app_settings.TOTP_PERIOD - int(time.time()) % app_settings.TOTP_PERIOD
        code = format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counter))
        self.stdout.write(f"{code}  (valid for {left} more seconds; each code works once)")

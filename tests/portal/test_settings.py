"""Settings are read strictly from the environment; production passes check --deploy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import child_env

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_python(code: str, *, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
    # Its own, never rotated (portal.W001): SECRET_KEY may then be.
    "HASH_KEY": "another-long-random-key-for-stored-hashes-0123456789-abcdefghij",
    "PORTAL_BASE_URL": "https://portal.example.com",
    "ALLOWED_HOSTS": "portal.example.com",
    # Behind one load balancer (portal.W003).
    "TRUSTED_PROXY_COUNT": "1",
    # Real providers: the demo outbox is a deploy error (notices.E002 to E004).
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "SMS_BACKEND": "notices.channels.twilio.TwilioBackend",
    "PUSH_BACKEND": "notices.channels.push.FcmBackend",
}
OUTBOX_DEFAULTS = ["EMAIL_BACKEND", "SMS_BACKEND", "PUSH_BACKEND"]


def test_production_settings_pass_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_refuses_the_demo_outbox_without_debug(monkeypatch):
    """A deploy that forgets EMAIL_BACKEND would keep every sign-in code email in
    notices_outboxmessage instead of sending it."""
    for name in OUTBOX_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    forgotten = {k: v for k, v in PRODUCTION.items() if k not in OUTBOX_DEFAULTS}

    result = run_manage("check", "--deploy", env=forgotten)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for check_id, setting in zip(["E002", "E003", "E004"], OUTBOX_DEFAULTS, strict=True):
        assert f"(notices.{check_id}) {setting} is the demo outbox" in output

    # Only a deploy check: the processes (and every migrate) still start with it.
    assert run_manage("check", env=forgotten).returncode == 0
    # A staging site that means it says so, channel by channel.
    silenced = {**forgotten, "SILENCED_SYSTEM_CHECKS": "notices.E002,notices.E003"}
    output = run_manage("check", "--deploy", env=silenced).stderr
    assert "notices.E004" in output and "notices.E002" not in output


def test_a_malformed_boolean_stops_start_up():
    result = run_manage("check", env={**PRODUCTION, "DEBUG": "perhaps"})
    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


def test_debug_is_off_unless_set():
    env = {k: v for k, v in PRODUCTION.items() if k != "DEBUG"}
    result = run_manage(
        "shell", "-c", "from django.conf import settings; print(settings.DEBUG)", env=env
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_without_a_key_nothing_is_hashed_or_encrypted_under_an_empty_one():
    """Without DEBUG, SECRET_KEY has no default (migrate runs without it) and
    HASH_KEY defaults to it. An import run then stored birth-date hashes under
    the empty key, which anyone reverses by trying every date."""
    code = (
        "from django.core.exceptions import ImproperlyConfigured\n"
        "from customers.hashing import birth_date_hash\n"
        "from portal.staff_auth import MFAAdapter\n"
        "for use in (lambda: birth_date_hash('1987-03-14'), lambda: MFAAdapter().encrypt('s')):\n"
        "    try:\n"
        "        print('used', use())\n"
        "    except ImproperlyConfigured as exc:\n"
        "        print('refused:', exc)\n"
    )
    result = run_manage("shell", "-c", code, env={**PRODUCTION, "SECRET_KEY": "", "HASH_KEY": ""})
    refused = "refused: HASH_KEY (or SECRET_KEY, its default) must be set."
    assert result.stdout.splitlines()[-2:] == [refused, refused], result.stdout + result.stderr


@pytest.mark.parametrize(
    "name, value",
    [
        # django-ratelimit read these as 20 a second and 10 a second.
        ("VERIFY_RATE_PER_IP", "20/week"),
        ("CLAIM_RATE_PER_IP", "10/H"),
        # DRF answered every API request with a 500.
        ("API_RATE_PER_USER", "600/week"),
        ("API_RATE_PER_IP", "120/5m"),
    ],
)
def test_a_malformed_rate_stops_start_up(name, value):
    result = run_manage("check", env={**PRODUCTION, name: value})
    assert result.returncode != 0
    assert f"{name}={value!r} is not a rate" in result.stderr


@pytest.mark.parametrize(
    "hash_key, check_id",
    [
        # Rotating SECRET_KEY after a suspected leak would lock every staff member
        # out of MFA and make every stored birth-date and claim-code hash stop matching.
        ("", "portal.W001"),
        (PRODUCTION["SECRET_KEY"], "portal.W001"),
        # Whoever has the hashes could find a short key, then every date of birth.
        ("short-key", "portal.W002"),
    ],
)
def test_check_deploy_wants_a_hash_key_of_its_own(hash_key, check_id):
    result = run_manage("check", "--deploy", env={**PRODUCTION, "HASH_KEY": hash_key})
    output = result.stdout + result.stderr
    assert f"({check_id})" in output, output
    assert result.returncode == 0, output  # a warning: migrate and the processes still start


def test_check_deploy_wants_the_proxies_counted():
    """Behind the load balancer that production settings assume (they believe its
    X-Forwarded-Proto), every client had the balancer's address: 30 sign-ins a
    minute, 20 code requests and 10 claims an hour for the whole country."""
    result = run_manage("check", "--deploy", env={**PRODUCTION, "TRUSTED_PROXY_COUNT": "0"})
    output = result.stdout + result.stderr
    assert "(portal.W003) TRUSTED_PROXY_COUNT is 0" in output, output
    # Without DEBUG only: development has no proxy.
    debug = {**PRODUCTION, "TRUSTED_PROXY_COUNT": "0", "DEBUG": "1"}
    assert "portal.W003" not in run_manage("check", "--deploy", env=debug).stderr


def test_check_deploy_wants_a_long_metrics_token():
    """Anyone may try tokens at /metrics, at any machine's address, without limit."""
    short = run_manage("check", "--deploy", env={**PRODUCTION, "METRICS_TOKEN": "prometheus"})
    assert "(portal.W004) METRICS_TOKEN has fewer than 32 characters." in short.stderr
    long_enough = {**PRODUCTION, "METRICS_TOKEN": "m" * 16 + "etrics-0123456789"}
    assert "portal.W004" not in run_manage("check", "--deploy", env=long_enough).stderr

"""Abuse of the forms and endpoints that take a secret or a code.

Enumeration: known and unknown emails, references and codes get the same
answer. Brute force: each throttled form refuses at its configured count,
even the right secret once over the limit. The limits are counted in the
shared cache, so every process sees the same count (the Redis test). Sessions
expire, and a customer can see and end their other sessions.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from customers.claims import claim_code_issue
from customers.hashing import birth_date_hash
from customers.models import ClaimCode
from notices.models import Delivery
from notices.references import format_reference, new_reference
from notices.services import campaign_create
from portal.roles import COMMUNICATIONS
from tests.factories import CustomerFactory, StaffFactory
from tests.processes import child_env
from tests.staff import staff_with_role

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory
BIRTH_DATE = "1987-03-14"

LOGIN = reverse("account_login")
REQUEST_CODE = reverse("account_request_login_code")
CONFIRM_CODE = reverse("account_confirm_login_code")
RESET = reverse("account_reset_password")
MFA = reverse("mfa_authenticate")
CLAIM = reverse("customers:claim")
CLAIM_CONFIRM = reverse("customers:claim_confirm")
VERIFY = reverse("notices:verify")
VERIFY_API = "/api/v1/verify"
APP_CODE_REQUEST = "/_allauth/app/v1/auth/code/request"
DASHBOARD = reverse("customers:dashboard")
SESSIONS = reverse("usersessions_list")


def rate_amount(rates: str, suffix: str = "") -> int:
    """How many hits a rate such as "10/h" allows ("20/m/ip,3/m/key": the first
    part ending with ``suffix``)."""
    part = next(p for p in rates.split(",") if p.strip().endswith(suffix))
    return int(part.split("/")[0])


def allowed(action: str, per: str) -> int:
    """Tries allowed per "ip" or per "key" by the configured allauth limit on ``action``."""
    return rate_amount(settings.ACCOUNT_RATE_LIMITS[action], f"/{per}")


def page(response, *echoed: str) -> str:
    """The page without its CSRF token and with what was typed blanked out."""
    html = response.content.decode()
    html = re.sub(r'value="[A-Za-z0-9]{64}"', 'value="CSRF"', html)
    for text in echoed:
        html = html.replace(text, "ECHOED")
    return html


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def errors(response) -> list[str]:
    form = response.context["form"]
    return [str(e) for e in form.non_field_errors()] + [
        str(e) for name in form.fields for e in form.errors.get(name, [])
    ]


# --- fixtures -----------------------------------------------------------------------


@pytest.fixture
def claimant(db):
    """A customer with no login, a date of birth on record and a support claim code."""
    customer = CustomerFactory(customer_ref="K0000042", email="")
    customer.birth_date_hash = birth_date_hash(BIRTH_DATE)
    customer.save(update_fields=["birth_date_hash"])
    customer.claim_code = claim_code_issue(customer=customer, via="support")
    return customer


def claim_data(customer, **changes) -> dict[str, str]:
    data = {
        "customer_ref": customer.customer_ref,
        "birth_date": BIRTH_DATE,
        "claim_code": customer.claim_code,
        "email": "new-address@example.com",
    }
    return {**data, **changes}


def post_claim(client, data, ip="10.1.0.1"):
    return client.post(CLAIM, data, REMOTE_ADDR=ip)


@pytest.fixture
def sent_sms(incident):
    """A text message we really sent: its reference is genuine."""
    campaign = campaign_create(
        incident=incident, channels=["sms"], by=staff_with_role(COMMUNICATIONS)
    )
    return Delivery.objects.create(
        campaign=campaign,
        customer=CustomerFactory(),
        channel="sms",
        to="+61411000321",
        status="delivered",
        reference=new_reference(),
        sent_at=timezone.now(),
    )


@pytest.fixture
def totp_user(alice):
    """Alice with an authenticator app: sign-in asks for a TOTP code."""
    secret = generate_totp_secret()
    TOTP.activate(alice.user, secret)
    alice.user.totp_secret = secret
    return alice.user


def totp_now(secret: str) -> str:
    return f"{hotp_value(secret, int(datetime.now(UTC).timestamp()) // 30):06d}"


# --- 1. enumeration -----------------------------------------------------------------


def test_code_request_reads_the_same_for_known_and_unknown_emails(client):
    CustomerFactory(email="jane@example.com")
    known = client.post(REQUEST_CODE, {"email": "jane@example.com"})
    known_page = client.get(known["Location"])
    other = Client()
    unknown = other.post(REQUEST_CODE, {"email": "nobody@example.com"})
    unknown_page = other.get(unknown["Location"])

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == CONFIRM_CODE
    assert known_page.status_code == unknown_page.status_code == 200
    assert page(known_page, "jane@example.com") == page(unknown_page, "nobody@example.com")


def test_app_code_request_answers_the_same_for_known_and_unknown_emails():
    CustomerFactory(email="jane@example.com")

    def ask(email):
        response = APIClient().post(APP_CODE_REQUEST, {"email": email}, format="json")
        body = response.json()
        body["meta"].pop("session_token")
        return response.status_code, body

    assert ask("jane@example.com") == ask("nobody@example.com")


def test_wrong_password_and_unknown_email_get_the_same_page(client, alice):
    wrong = client.post(LOGIN, {"login": "alice@example.com", "password": "nope-nope-nope"})
    unknown = client.post(LOGIN, {"login": "ghost@example.com", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 400
    assert errors(wrong) == errors(unknown) and errors(wrong)
    assert page(wrong, "alice@example.com") == page(unknown, "ghost@example.com")


def test_password_reset_reads_the_same_for_known_and_unknown_emails(client, alice):
    known = client.post(RESET, {"email": "alice@example.com"}, follow=True)
    unknown = Client().post(RESET, {"email": "ghost@example.com"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain
    assert known.status_code == unknown.status_code == 200
    assert page(known, "alice@example.com") == page(unknown, "ghost@example.com")


def test_password_reset_limit_per_email_does_not_tell_known_from_unknown(alice):
    tries = allowed("reset_password", "key")
    for n, email in enumerate(["alice@example.com", "ghost@example.com"]):
        codes = [
            Client(REMOTE_ADDR=f"10.11.{n}.{i}").post(RESET, {"email": email}).status_code
            for i in range(tries + 1)
        ]
        assert codes == [302] * tries + [429], email


def test_code_request_limit_per_email_does_not_tell_known_from_unknown(alice):
    def answer_over_the_limit(email):
        for _ in range(allowed("request_login_code", "key")):
            assert Client().post(REQUEST_CODE, {"email": email}).status_code == 302
        response = Client().post(REQUEST_CODE, {"email": email})
        return response.status_code, errors(response)

    known = answer_over_the_limit("alice@example.com")
    assert known == answer_over_the_limit("ghost@example.com")
    assert known[0] == 400 and "Too many" in " ".join(known[1])


def test_claim_failures_are_identical_whatever_was_wrong(client, claimant):
    other = CustomerFactory(customer_ref="K0000099", email="")
    other_code = claim_code_issue(customer=other, via="support")
    attempts = {
        "unknown reference": claim_data(claimant, customer_ref="Z9999999"),
        "known reference, wrong code": claim_data(claimant, claim_code="ABCD-EFGH-JKLM"),
        "known reference, someone else's code": claim_data(claimant, claim_code=other_code),
        "right code, wrong date of birth": claim_data(claimant, birth_date="1987-03-15"),
    }
    post_claim(client, claim_data(claimant, customer_ref="W0000000"))  # warm-up
    pages, queries = {}, {}
    for label, data in attempts.items():
        with CaptureQueriesContext(connection) as captured:
            response = post_claim(client, data)
        assert response.status_code == 400, label  # the form, sent back with its error
        # What was typed is echoed in the fields, and only there.
        pages[label] = re.sub(r' value="[^"]*"', ' value=""', page(response))
        queries[label] = len(captured)
    assert len(set(pages.values())) == 1, pages.keys()
    assert len(set(queries.values())) == 1, queries


def _near(reference: str) -> str:
    """Well formed, one symbol off a genuine reference."""
    return reference[:-1] + ("3" if reference.endswith("2") else "2")


def test_verify_unknown_references_get_the_same_answer_however_near_a_genuine_one(client, sent_sms):
    """What we sent cannot be found by trying: an unknown reference one symbol off
    a genuine one reads as any other unknown one. Only what cannot be a reference
    at all (its form is public, on every message) is told what one looks like."""
    near = format_reference(_near(sent_sms.reference))
    unknown = client.post(VERIFY, {"reference": "ZZZZ-ZZZZ-ZZZZ"})
    close = client.post(VERIFY, {"reference": near})
    assert unknown.status_code == close.status_code == 200
    assert page(unknown, "ZZZZ-ZZZZ-ZZZZ") == page(close, near)
    assert "We did not send this message." in unknown.content.decode()
    malformed = client.post(VERIFY, {"reference": "not a reference!"})
    assert malformed.status_code == 400
    assert "We did not send" not in malformed.content.decode()
    assert "Yes, we sent" not in malformed.content.decode()


def test_verify_api_unknown_references_get_the_same_answer_however_near_a_genuine_one(
    sent_sms,
):
    api = APIClient()
    unknown = api.post(VERIFY_API, {"reference": "ZZZZ-ZZZZ-ZZZZ"}, format="json")
    close = api.post(VERIFY_API, {"reference": _near(sent_sms.reference)}, format="json")
    assert unknown.status_code == close.status_code == 200
    assert unknown.json() == close.json()
    assert unknown.json()["genuine"] is False
    malformed = api.post(VERIFY_API, {"reference": "not a reference!"}, format="json")
    assert malformed.status_code == 400 and "genuine" not in malformed.json()


# --- 2. brute force: sign-in ----------------------------------------------------------


def test_password_guesses_for_one_email_lock_it_even_for_the_right_password(alice):
    tries = allowed("login_failed", "key")
    for n in range(tries):
        client = Client(REMOTE_ADDR=f"10.2.0.{n}")
        wrong = client.post(LOGIN, {"login": "alice@example.com", "password": f"guess-{n}"})
        assert "not correct" in " ".join(errors(wrong)), n
    client = Client(REMOTE_ADDR="10.2.1.1")
    right = client.post(LOGIN, {"login": "alice@example.com", "password": PASSWORD})
    assert right.status_code == 400 and not signed_in(client)
    assert "Too many failed login attempts" in " ".join(errors(right))


def test_password_guesses_from_one_address_are_limited(client, alice):
    tries = allowed("login_failed", "ip")
    for n in range(tries):
        wrong = client.post(LOGIN, {"login": f"guess{n}@example.com", "password": "nope"})
        assert "not correct" in " ".join(errors(wrong)), n
    right = client.post(LOGIN, {"login": "alice@example.com", "password": PASSWORD})
    assert "Too many failed login attempts" in " ".join(errors(right))
    assert not signed_in(client)


def test_sign_in_posts_from_one_address_are_limited(client, alice):
    tries = allowed("login", "ip")
    codes = {
        client.post(LOGIN, {"login": "x@example.com", "password": "n"}).status_code
        for _ in range(tries)
    }
    right = client.post(LOGIN, {"login": "alice@example.com", "password": PASSWORD})
    assert codes == {400}
    assert right.status_code == 429 and not signed_in(client)


def request_code(client, email, capture):
    with capture(execute=True):
        return client.post(REQUEST_CODE, {"email": email})


def code_from_outbox() -> str:
    match = re.search(r"^\s*([A-Z0-9]{3,}-?[A-Z0-9]{3,})\s*$", mail.outbox[-1].body, re.M)
    assert match, mail.outbox[-1].body
    return match.group(1)


@pytest.mark.parametrize(("wrong_codes", "signs_in"), [(2, True), (3, False)])
def test_a_sign_in_code_dies_after_the_configured_wrong_tries(
    client, django_capture_on_commit_callbacks, wrong_codes, signs_in
):
    assert settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS == 3
    CustomerFactory(email="jane@example.com")
    request_code(client, "jane@example.com", django_capture_on_commit_callbacks)
    good = code_from_outbox()
    for _ in range(wrong_codes):
        client.post(CONFIRM_CODE, {"code": "WRONG-CODE"})
    client.post(CONFIRM_CODE, {"code": good})
    assert signed_in(client) is signs_in


def test_code_requests_from_one_address_are_limited(django_capture_on_commit_callbacks):
    CustomerFactory(email="jane@example.com")
    tries = allowed("request_login_code", "ip")
    # Fresh clients (a client with a pending code is only sent back to it), all
    # from 127.0.0.1; unknown emails count as much as known ones.
    codes = {
        Client().post(REQUEST_CODE, {"email": f"nobody{n}@example.com"}).status_code
        for n in range(tries)
    }
    refused = request_code(Client(), "jane@example.com", django_capture_on_commit_callbacks)
    assert codes == {302}
    assert refused.status_code == 400 and "Too many" in " ".join(errors(refused))
    assert mail.outbox == []


def test_code_requests_per_email_are_limited_over_the_hour(django_capture_on_commit_callbacks):
    """Spaced out to pass the per-minute limit, requests still stop at the hourly one."""
    hourly = rate_amount(settings.ACCOUNT_RATE_LIMITS["request_login_code"], "/h/key")
    CustomerFactory(email="jane@example.com")
    start = datetime(2025, 6, 1, 12, 0, 5, tzinfo=UTC).timestamp()
    codes = []
    for n in range(hourly + 1):
        with time_machine.travel(start + n * 150, tick=False):
            response = request_code(
                Client(), "jane@example.com", django_capture_on_commit_callbacks
            )
        codes.append(response.status_code)
    assert codes == [302] * hourly + [400]
    assert len(mail.outbox) == hourly


def test_app_code_requests_per_email_are_limited(django_capture_on_commit_callbacks):
    CustomerFactory(email="jane@example.com")
    tries = allowed("request_login_code", "key")
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            APIClient().post(APP_CODE_REQUEST, {"email": "jane@example.com"}, format="json")
            for _ in range(tries + 1)
        ]
    assert [a.status_code for a in answers] == [401] * tries + [400]
    assert answers[-1].json()["errors"][0]["code"] == "too_many_login_attempts"
    assert len(mail.outbox) == tries


def test_password_reset_requests_are_limited_per_email(alice, django_capture_on_commit_callbacks):
    tries = allowed("reset_password", "key")
    with django_capture_on_commit_callbacks(execute=True):
        codes = [
            Client(REMOTE_ADDR=f"10.4.0.{n}")
            .post(RESET, {"email": "alice@example.com"})
            .status_code
            for n in range(tries + 1)
        ]
    assert codes == [302] * tries + [429]
    assert len(mail.outbox) == tries


def test_password_reset_requests_are_limited_per_address(
    client, alice, django_capture_on_commit_callbacks
):
    tries = allowed("reset_password", "ip")
    codes = {client.post(RESET, {"email": f"x{n}@example.com"}).status_code for n in range(tries)}
    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(RESET, {"email": "alice@example.com"})
    assert codes == {302} and refused.status_code == 429
    assert mail.outbox == []


def test_password_reset_links_are_limited_per_address(client, alice):
    """Tries at reset links from one address: then even a genuine link cannot set a password."""
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    user = alice.user
    uid = user_pk_to_url_str(user)
    genuine = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": uid, "key": default_token_generator.make_token(user)},
    )
    new_password = {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"}
    form_url = client.get(genuine)["Location"]  # the key moves into the session
    tries = allowed("reset_password_from_key", "ip")
    guesses = {
        client.post(
            reverse("account_reset_password_from_key", kwargs={"uidb36": uid, "key": f"x-{n}"}),
            new_password,
        ).status_code
        for n in range(tries)
    }
    refused = client.post(form_url, new_password)
    assert guesses == {200}
    assert refused.status_code == 429
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def start_mfa(client, user):
    response = client.post(LOGIN, {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == MFA, response
    return response


# TOTP codes change every 30 seconds: time stands still in these tests.
@time_machine.travel(datetime(2025, 6, 1, 12, 0, 5, tzinfo=UTC), tick=False)
def test_mfa_code_guesses_are_limited_even_for_the_right_code(client, totp_user):
    start_mfa(client, totp_user)
    # allauth counts second-factor tries under "login_failed", per user.
    for n in range(allowed("login_failed", "key")):
        wrong = client.post(MFA, {"code": f"{n:06d}"})
        assert "Incorrect code" in " ".join(errors(wrong)), n
    right = client.post(MFA, {"code": totp_now(totp_user.totp_secret)})
    assert not signed_in(client)
    assert "Too many" in " ".join(errors(right))


@time_machine.travel(datetime(2025, 6, 1, 12, 0, 5, tzinfo=UTC), tick=False)
def test_mfa_right_code_after_fewer_wrong_tries_signs_in(client, totp_user):
    start_mfa(client, totp_user)
    for n in range(allowed("login_failed", "key") - 1):
        client.post(MFA, {"code": f"{n:06d}"})
    client.post(MFA, {"code": totp_now(totp_user.totp_secret)})
    assert signed_in(client)


# --- 2. brute force: claim ------------------------------------------------------------


WRONG_CODE = "WXYZ-WXYZ-WXYZ"


def claim_started(response) -> bool:
    return response.status_code == 302 and response["Location"] == CLAIM_CONFIRM


def test_claims_from_one_address_are_limited(claimant):
    tries = rate_amount(settings.CLAIM_RATE_PER_IP)
    client = Client()
    # Wrong references and codes: neither the customer's limit nor the code's lock is touched.
    codes = {
        post_claim(
            client, claim_data(claimant, customer_ref=f"Z00000{n:02d}", claim_code=WRONG_CODE)
        ).status_code
        for n in range(tries)
    }
    right = post_claim(client, claim_data(claimant))
    elsewhere = post_claim(Client(), claim_data(claimant), ip="10.5.0.2")
    assert codes == {400}
    assert right.status_code == 429 and "Too many tries" in right.content.decode()
    assert claim_started(elsewhere)


def test_claims_for_one_customer_are_limited_across_addresses(claimant):
    tries = rate_amount(settings.CLAIM_RATE_PER_CUSTOMER)
    codes = {
        post_claim(
            Client(), claim_data(claimant, claim_code=WRONG_CODE), ip=f"10.6.0.{n}"
        ).status_code
        for n in range(tries)
    }
    right = post_claim(Client(), claim_data(claimant), ip="10.6.1.1")
    # However the reference is typed, it is the same customer.
    lower = claim_data(claimant, customer_ref=f" {claimant.customer_ref.lower()} ")
    also_right = post_claim(Client(), lower, ip="10.6.1.2")
    assert codes == {400}
    assert right.status_code == 429 and also_right.status_code == 429
    assert ClaimCode.objects.get(customer=claimant).used_at is None


def test_claims_overall_are_limited(claimant):
    with override_settings(CLAIM_RATE_GLOBAL="3/m"):
        codes = {
            post_claim(
                Client(),
                claim_data(claimant, customer_ref=f"Z00000{n:02d}", claim_code=WRONG_CODE),
                ip=f"10.7.0.{n}",
            ).status_code
            for n in range(3)
        }
        right = post_claim(Client(), claim_data(claimant), ip="10.7.1.1")
    assert codes == {400} and right.status_code == 429


@pytest.mark.parametrize("wrong_tries", ["max - 1", "max"])
def test_a_claim_code_locks_after_the_configured_wrong_tries(claimant, wrong_tries):
    limit = settings.CLAIM_CODE_MAX_ATTEMPTS
    count = limit - 1 if wrong_tries == "max - 1" else limit
    for n in range(count):
        wrong_date = claim_data(claimant, birth_date=f"1990-01-{n + 1:02d}")
        post_claim(Client(), wrong_date, ip=f"10.8.0.{n}")
    right = post_claim(Client(), claim_data(claimant), ip="10.8.1.1")
    assert claim_started(right) is (count < limit)
    if count == limit:
        assert right.status_code == 400  # the usual failure, not a limit
        assert ClaimCode.objects.get(customer=claimant).state(timezone.now()) == "locked"


# --- 2. brute force: verify ------------------------------------------------------------


def test_verify_page_refuses_a_genuine_reference_once_over_the_limit(client, sent_sms):
    tries = rate_amount(settings.VERIFY_RATE_PER_IP)
    codes = {client.post(VERIFY, {"reference": "ZZZZ-ZZZZ-ZZZZ"}).status_code for _ in range(tries)}
    genuine = client.post(VERIFY, {"reference": format_reference(sent_sms.reference)})
    assert codes == {200}
    assert genuine.status_code == 429
    assert "Yes, we sent this message." not in genuine.content.decode()


@override_settings(VERIFY_RATE_PER_IP="3/m")
def test_verify_api_refuses_a_genuine_reference_once_over_the_limit(sent_sms):
    api = APIClient()
    codes = [
        api.post(VERIFY_API, {"reference": "ZZZZ-ZZZZ-ZZZZ"}, format="json").status_code
        for _ in range(3)
    ]
    genuine = api.post(VERIFY_API, {"reference": sent_sms.reference}, format="json")
    assert codes == [200, 200, 200]
    assert genuine.status_code == 429 and "genuine" not in genuine.json()


@override_settings(VERIFY_RATE_GLOBAL="3/m")
def test_verify_api_is_limited_overall(sent_sms):
    def check(reference, ip):
        return APIClient().post(VERIFY_API, {"reference": reference}, format="json", REMOTE_ADDR=ip)

    codes = [check("ZZZZ-ZZZZ-ZZZZ", f"10.9.0.{n}").status_code for n in range(3)]
    assert codes == [200, 200, 200]
    assert check(sent_sms.reference, "10.9.1.1").status_code == 429


@override_settings(VERIFY_RATE_PER_IP="1000/m")
def test_verify_api_has_its_own_throttle_as_well(sent_sms):
    """API_VERIFY_RATE_PER_IP (DRF's throttle) holds even if VERIFY_RATE_PER_IP is loosened."""
    tries = rate_amount(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["verify"])
    api = APIClient()
    codes = {
        api.post(VERIFY_API, {"reference": "ZZZZ-ZZZZ-ZZZZ"}, format="json").status_code
        for _ in range(tries)
    }
    genuine = api.post(VERIFY_API, {"reference": sent_sms.reference}, format="json")
    assert codes == {200} and genuine.status_code == 429


# --- shared across processes ---------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    import time_machine
    from django.test import RequestFactory
    from portal.ratelimits import limited

    ip, hits, rate, at = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    with time_machine.travel(at, tick=False):
        request = RequestFactory().post("/verify", REMOTE_ADDR=ip)
        print(json.dumps([limited(request, "verify", per_ip=rate) for _ in range(hits)]))
    """
)


@pytest.mark.redis
def test_limits_are_shared_between_processes_through_redis(client):
    redis_url = os.environ["REDIS_URL"]
    prefix = f"fh-test-{uuid.uuid4().hex}"
    caches = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        }
    }
    at = datetime(2025, 6, 1, 12, 0, 5, tzinfo=UTC).timestamp()
    env = child_env(
        DJANGO_SETTINGS_MODULE="portal.settings",
        CACHE_URL=redis_url,
        CACHE_KEY_PREFIX=prefix,
        SECRET_KEY="another-process-" + "x" * 40,
        HASH_KEY=settings.HASH_KEY,
    )
    with (
        override_settings(CACHES=caches, VERIFY_RATE_PER_IP="3/m"),
        time_machine.travel(at, tick=False),
    ):
        from django.core.cache import cache

        try:
            child = subprocess.run(
                [sys.executable, "-c", CHILD, "10.10.0.1", "3", "3/m", str(at)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert child.returncode == 0, child.stderr
            assert json.loads(child.stdout.strip().splitlines()[-1]) == [False, False, False]
            here = client.post(VERIFY, {"reference": "ZZZZ-ZZZZ-ZZZZ"}, REMOTE_ADDR="10.10.0.1")
            other = client.post(VERIFY, {"reference": "ZZZZ-ZZZZ-ZZZZ"}, REMOTE_ADDR="10.10.0.2")
        finally:
            cache.delete_pattern("*")  # this test's prefix only
    assert here.status_code == 429
    assert other.status_code == 200


# --- 3. sessions ------------------------------------------------------------------------


def sign_in(client, email):
    response = client.post(LOGIN, {"login": email, "password": PASSWORD})
    assert response.status_code == 302 and signed_in(client), response
    return client


def test_a_customer_sees_and_ends_their_other_sessions(alice):
    laptop = sign_in(Client(HTTP_USER_AGENT="Laptop browser"), "alice@example.com")
    phone = sign_in(Client(HTTP_USER_AGENT="Phone browser"), "alice@example.com")

    listing = laptop.get(SESSIONS)
    assert listing.status_code == 200
    assert len(listing.context["sessions"]) == 2
    assert UserSession.objects.filter(user=alice.user).count() == 2

    response = laptop.post(SESSIONS)
    assert response.status_code == 302
    assert UserSession.objects.filter(user=alice.user).count() == 1
    assert laptop.get(DASHBOARD).status_code == 200
    ended = phone.get(DASHBOARD)
    assert ended.status_code == 302 and ended["Location"].startswith(REQUEST_CODE)
    assert not signed_in(phone)


# Sessions live in the cache; a local one follows the travelling clock (Redis
# would expire keys on its own clock).
@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_customer_sessions_expire(alice):
    assert 0 < settings.SESSION_COOKIE_AGE <= 30 * 24 * 3600
    client = sign_in(Client(), "alice@example.com")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert not client.session.get_expire_at_browser_close()
    assert client.get(DASHBOARD).status_code == 200
    later = datetime.now(UTC).timestamp() + settings.SESSION_COOKIE_AGE + 60
    with time_machine.travel(later, tick=False):
        assert client.get(DASHBOARD).status_code == 302


@override_settings(STAFF_SESSION_SECONDS=1800)
@time_machine.travel(datetime(2025, 6, 1, 12, 0, 5, tzinfo=UTC), tick=False)
def test_a_staff_session_after_mfa_lasts_staff_session_seconds(client):
    staff = StaffFactory(email="sam@example.com")
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    start_mfa(client, staff)
    client.post(MFA, {"code": totp_now(secret)})
    assert signed_in(client)
    assert client.session.get_expiry_age() == 1800 < settings.SESSION_COOKIE_AGE


def test_a_staff_session_by_password_alone_lasts_staff_session_seconds(client):
    """A staff member with no authenticator yet signs in by password alone: allauth
    then sets the long "remember me" age after the sign-in signals, so the staff
    age must hold against it."""
    StaffFactory(email="sam@example.com")
    sign_in(client, "sam@example.com")
    assert client.session.get_expiry_age() == settings.STAFF_SESSION_SECONDS
    client.get(DASHBOARD)
    assert client.session.get_expiry_age() == settings.STAFF_SESSION_SECONDS


def test_allauths_pages_sent_back_with_errors_answer_400_and_their_other_answers_are_kept(
    client, alice
):
    # allauth answers a refused form with a 200; the middleware makes it a 400.
    assert client.get(LOGIN).status_code == 200
    empty = client.post(LOGIN, {})
    assert empty.status_code == 400 and errors(empty)
    wrong = client.post(LOGIN, {"login": "alice@example.com", "password": "wrong-wrong"})
    assert wrong.status_code == 400
    assert client.post(REQUEST_CODE, {"email": "alice@example.com"}).status_code == 302

"""Account claim: codes, checks, limits and the whole web flow."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers import claims
from customers.hashing import birth_date_hash, claim_code_hash
from customers.models import ClaimCode, Customer
from tests.factories import (
    CustomerFactory,
    ExposureFactory,
    UserFactory,
    login_left_behind_by_an_erased_record,
)

pytestmark = pytest.mark.django_db

BORN = date(1987, 3, 14)


@pytest.fixture
def former(db):
    """A former customer with a phone, no email and no login."""
    return CustomerFactory(
        customer_ref="FM000001",
        email="",
        email_verified=False,
        is_current=False,
        birth_date_hash=birth_date_hash(BORN.isoformat()),
    )


def request(ip: str = "203.0.113.7"):
    return RequestFactory().post("/claim/", REMOTE_ADDR=ip)


def check(code: str, *, ref="FM000001", born=BORN, ip="203.0.113.7"):
    return claims.claim_check(request=request(ip), customer_ref=ref, birth_date=born, code=code)


# --- issuing ---------------------------------------------------------------------


def test_a_code_is_random_stored_only_as_a_keyed_hash_and_expires(former):
    code = claims.claim_code_issue(customer=former, via="support")
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code)
    stored = ClaimCode.objects.get()
    compact = code.replace("-", "")
    assert stored.code_hash == claim_code_hash(compact)
    assert compact not in stored.code_hash
    assert timedelta(days=1) < stored.expires_at - timezone.now() <= timedelta(days=2)
    assert claims.claim_code_issue(customer=former, via="support") != code


def test_a_new_code_withdraws_the_earlier_ones(former):
    first = claims.claim_code_issue(customer=former, via="support")
    claims.claim_code_issue(customer=former, via="sms")
    assert check(first) is None
    assert ClaimCode.objects.filter(revoked_at__isnull=False).count() == 1


def test_letter_codes_are_written_for_a_mail_merge(tmp_path, incident, former):
    ExposureFactory(incident=incident, customer=former, fields={"name": "J••• C•••"})
    CustomerFactory(customer_ref="NODOB001", birth_date_hash="")  # cannot claim: left out
    with_login = CustomerFactory(user=UserFactory(), birth_date_hash=birth_date_hash("1990-01-01"))
    ExposureFactory(incident=incident, customer=with_login, fields={"name": "x"})
    out = tmp_path / "letters.csv"
    call_command(
        "claim_codes",
        incident=incident.slug,
        without_login=True,
        out=str(out),
        stderr=open("/dev/null", "w"),  # noqa: SIM115
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "customer_ref,claim_code"
    assert [line.split(",")[0] for line in lines[1:]] == ["FM000001"]
    code = lines[1].split(",")[1]
    assert check(code) is not None
    assert ClaimCode.objects.get().via == ClaimCode.Via.LETTER
    # Each code opens a record: the file is its owner's alone, whatever the umask.
    assert out.stat().st_mode & 0o777 == 0o600


def test_letter_codes_written_over_an_old_file_make_it_private(tmp_path, incident, former):
    out = tmp_path / "letters.csv"
    out.write_text("old run\n")
    out.chmod(0o644)
    call_command("claim_codes", out=str(out), stderr=open("/dev/null", "w"))  # noqa: SIM115
    assert out.stat().st_mode & 0o777 == 0o600
    assert "old run" not in out.read_text()


def test_letter_codes_to_a_folder_that_does_not_exist_are_a_clear_error(tmp_path, former):
    with pytest.raises(CommandError, match=r"Cannot write .*missing/dir/x\.csv"):
        call_command("claim_codes", out=str(tmp_path / "missing" / "dir" / "x.csv"))
    assert not ClaimCode.objects.exists()


# --- checking --------------------------------------------------------------------


def test_the_right_code_reference_and_date_of_birth_match(former):
    code = claims.claim_code_issue(customer=former, via="support")
    found = check(code.lower().replace("-", " "), ref=" fm000001 ")
    assert found is not None and found.customer_id == former.pk


@pytest.mark.parametrize(
    "what",
    ["unknown ref", "other customer's ref", "wrong birth date", "wrong code", "no birth date"],
)
def test_every_wrong_detail_fails_the_same_way(former, what):
    code = claims.claim_code_issue(customer=former, via="support")
    other = CustomerFactory(customer_ref="OT000001", birth_date_hash=birth_date_hash("1987-03-14"))
    kwargs = {
        "unknown ref": {"ref": "ZZ999999"},
        "other customer's ref": {"ref": other.customer_ref},
        "wrong birth date": {"born": date(1987, 3, 15)},
        "no birth date": {"born": None},
    }.get(what, {})
    typed = "AAAA-BBBB-CCCC" if what == "wrong code" else code
    assert check(typed, **kwargs) is None


def test_failures_run_the_same_queries_whatever_was_wrong(former):
    """Same answer and same work: timing cannot tell a real reference from a made-up one."""
    code = claims.claim_code_issue(customer=former, via="support")
    counts = []
    for kwargs, typed in [
        ({"ref": "ZZ999999"}, "AAAA-BBBB-CCCC"),  # nothing right
        ({}, "AAAA-BBBB-CCCC"),  # real reference, wrong code
        ({"born": date(2000, 1, 1)}, code),  # real reference and code, wrong date
    ]:
        with CaptureQueriesContext(connection) as queries:
            assert check(typed, **kwargs) is None
        counts.append([q["sql"].split()[0] for q in queries.captured_queries])
    assert counts[0] == counts[1] == counts[2]


def test_expired_used_and_withdrawn_codes_fail(former):
    code = claims.claim_code_issue(customer=former, via="support")
    ClaimCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert check(code) is None
    code = claims.claim_code_issue(customer=former, via="support")
    ClaimCode.objects.filter(revoked_at__isnull=True).update(used_at=timezone.now())
    assert check(code) is None


def test_a_code_locks_after_too_many_wrong_tries(former, settings):
    settings.CLAIM_CODE_MAX_ATTEMPTS = 3
    code = claims.claim_code_issue(customer=former, via="support")
    for _ in range(3):
        assert check(code, born=date(1999, 1, 1)) is None
    assert ClaimCode.objects.get().failed_attempts == 3
    assert check(code) is None  # even with everything right


@override_settings(CLAIM_RATE_PER_IP="3/h", CLAIM_RATE_PER_CUSTOMER="100/d")
def test_tries_are_limited_per_address(former):
    code = claims.claim_code_issue(customer=former, via="support")
    for _ in range(3):
        check("AAAA-BBBB-CCCC")
    with pytest.raises(claims.ClaimLimited):
        check(code)
    assert check(code, ip="198.51.100.1") is not None


@override_settings(CLAIM_RATE_PER_IP="100/h", CLAIM_RATE_PER_CUSTOMER="3/d")
def test_tries_are_limited_per_customer_reference_across_addresses(former):
    code = claims.claim_code_issue(customer=former, via="support")
    for n in range(3):
        check("AAAA-BBBB-CCCC", ip=f"198.51.100.{n}")
    with pytest.raises(claims.ClaimLimited):
        check(code, ip="192.0.2.200")
    # An unknown reference is counted the same way (nothing told apart).
    for n in range(3):
        check("AAAA-BBBB-CCCC", ref="ZZ999999", ip=f"198.51.100.{n}")
    with pytest.raises(claims.ClaimLimited):
        check("AAAA-BBBB-CCCC", ref="ZZ999999", ip="192.0.2.201")


def test_failures_are_held_to_a_minimum_duration(former, settings, monkeypatch, claim_post):
    settings.CLAIM_FAILURE_SECONDS = 0.4
    slept = []
    monkeypatch.setattr(claims.time, "sleep", slept.append)
    check("AAAA-BBBB-CCCC")
    assert len(slept) == 1 and 0 < slept[0] <= 0.4
    code = claims.claim_code_issue(customer=former, via="support")
    assert check(code) is not None
    assert len(slept) == 1  # success is not held


# --- the web flow ------------------------------------------------------------------


@pytest.fixture
def claim_post(client, django_capture_on_commit_callbacks):
    """Post the claim form; emails leave after the commit (tests run in a transaction)."""

    def post(code, **overrides):
        data = {
            "customer_ref": "FM000001",
            "birth_date": "1987-03-14",
            "claim_code": code,
            "email": "New.Address@Example.com",
            **overrides,
        }
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("customers:claim"), data)

    return post


def emailed_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_a_customer_claims_their_record_and_is_signed_in(client, former, claim_post):
    code = claims.claim_code_issue(customer=former, via="support")
    response = claim_post(code)
    assert response.status_code == 302 and response["Location"] == reverse(
        "customers:claim_confirm"
    )
    assert mail.outbox[-1].to == ["new.address@example.com"]
    assert not ClaimCode.objects.filter(
        used_at__isnull=False
    ).exists()  # not until the email is proven

    response = client.post(reverse("customers:claim_confirm"), {"code": emailed_code()})
    assert response.status_code == 302 and response["Location"] == reverse("customers:dashboard")
    former.refresh_from_db()
    assert former.user is not None and former.user.email == "new.address@example.com"
    assert (former.email, former.email_verified) == ("new.address@example.com", True)
    assert former.user.emailaddress_set.get().verified
    assert ClaimCode.objects.get().used_at is not None
    assert client.get(reverse("customers:dashboard")).status_code == 200
    # Used: the same code does nothing a second time.
    client.logout()
    assert "do not match" in claim_post(code, email="x@example.com").content.decode()


def test_a_claim_proves_an_email_support_entered(client, former, claim_post):
    Customer.objects.filter(pk=former.pk).update(
        email="new.address@example.com", email_from_support=True
    )
    claim_post(claims.claim_code_issue(customer=former, via="support"))
    client.post(reverse("customers:claim_confirm"), {"code": emailed_code()})
    former.refresh_from_db()
    assert former.user is not None
    assert (former.email_verified, former.email_from_support) == (True, False)


def test_the_date_of_birth_may_be_typed_day_first(client, former, claim_post):
    code = claims.claim_code_issue(customer=former, via="support")
    assert claim_post(code, birth_date="14/03/1987").status_code == 302


def test_wrong_details_get_one_answer_and_nothing_is_sent(client, former, claim_post):
    code = claims.claim_code_issue(customer=former, via="support")
    bodies = set()
    for overrides in [
        {"customer_ref": "ZZ999999"},
        {"birth_date": "1987-03-15"},
        {"claim_code": "AAAA-BBBB-CCCC"},
    ]:
        response = claim_post(code, **overrides)
        assert response.status_code == 400  # the form sent back, with its error
        html = response.content.decode()
        bodies.add(
            re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
            .replace(overrides.get("customer_ref", "FM000001"), "REF")
            .replace(overrides.get("birth_date", "1987-03-14"), "DATE")
            .replace(overrides.get("claim_code", code), "CODE")
        )
    assert len(bodies) == 1
    assert "do not match" in bodies.pop()
    assert mail.outbox == []


def test_an_email_belonging_to_another_login_is_refused_after_the_claim_checks(
    client, former, alice, claim_post
):
    code = claims.claim_code_issue(customer=former, via="support")
    response = claim_post(code, email=alice.email)
    assert response.status_code == 400
    assert "already used by another login" in response.content.decode()
    assert mail.outbox == []


def test_an_email_another_login_holds_as_its_address_is_refused_too(
    client, former, alice, claim_post
):
    # Alice's own field was edited (admin); allauth still signs her in with it.
    alice.user.email = "alice.other@example.com"
    alice.user.save()
    code = claims.claim_code_issue(customer=former, via="support")
    html = claim_post(code, email="alice@example.com").content.decode()
    assert "already used by another login" in html
    assert mail.outbox == []


def test_a_claim_takes_an_email_from_a_login_an_erased_record_left_behind(
    client, former, claim_post
):
    old = login_left_behind_by_an_erased_record("new.address@example.com")
    code = claims.claim_code_issue(customer=former, via="support")
    assert claim_post(code).status_code == 302
    response = client.post(reverse("customers:claim_confirm"), {"code": emailed_code()})
    assert response.status_code == 302
    former.refresh_from_db()
    old.refresh_from_db()
    assert former.user is not None and former.user.pk != old.pk  # never handed over
    assert former.user.email == "new.address@example.com"
    assert (old.is_active, old.email) == (False, "")


def test_a_claim_does_not_take_an_email_from_a_staff_login_without_a_record(
    client, former, claim_post
):
    login_left_behind_by_an_erased_record("new.address@example.com", is_staff=True)
    code = claims.claim_code_issue(customer=former, via="support")
    response = claim_post(code)
    assert response.status_code == 400
    assert "already used by another login" in response.content.decode()


def test_a_login_given_a_role_before_the_claim_completes_keeps_its_email(former):
    from django.contrib.auth.models import Group
    from django.core.exceptions import ValidationError

    old = login_left_behind_by_an_erased_record("new.address@example.com")
    claim = check(claims.claim_code_issue(customer=former, via="support"))
    assert claims.email_available_for(former, "new.address@example.com")
    old.groups.add(Group.objects.create(name="Support"))  # meanwhile
    with pytest.raises(ValidationError, match="already used"):
        claims.claim_complete(claim_id=claim.pk, email="new.address@example.com")
    old.refresh_from_db()
    assert (old.is_active, old.email) == (True, "new.address@example.com")


def test_three_wrong_email_codes_end_the_attempt(client, former, claim_post):
    code = claims.claim_code_issue(customer=former, via="support")
    claim_post(code)
    right = emailed_code()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(2):
        response = client.post(reverse("customers:claim_confirm"), {"code": wrong})
        assert response.status_code == 400
        assert "That code is not right or has expired." in response.content.decode()
    response = client.post(reverse("customers:claim_confirm"), {"code": wrong})
    assert response["Location"] == reverse("customers:claim")
    response = client.post(reverse("customers:claim_confirm"), {"code": right})
    assert response["Location"] == reverse("customers:claim")  # must start again
    assert Customer.objects.get(pk=former.pk).user_id is None


def test_a_customer_with_a_login_moves_it_to_the_new_email(client, alice, claim_post):
    alice.birth_date_hash = birth_date_hash("1987-03-14")
    alice.save()
    code = claims.claim_code_issue(customer=alice, via="support")
    claim_post(code, customer_ref=alice.customer_ref, email="alice.new@example.com")
    client.post(reverse("customers:claim_confirm"), {"code": emailed_code()})
    alice.refresh_from_db()
    alice.user.refresh_from_db()
    assert alice.user.email == "alice.new@example.com"
    assert list(alice.user.emailaddress_set.values_list("email", flat=True)) == [
        "alice.new@example.com"
    ]


@override_settings(CLAIM_RATE_PER_IP="2/h")
def test_the_form_answers_429_when_over_the_limit(client, former, claim_post):
    for _ in range(2):
        claim_post("AAAA-BBBB-CCCC")
    response = claim_post("AAAA-BBBB-CCCC")
    assert response.status_code == 429
    assert "Too many tries" in response.content.decode()


def test_the_form_validates_without_a_500(client):
    response = client.post(reverse("customers:claim"), {"birth_date": "31/02/1990", "email": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="banner banner-error error-summary"' in html
    assert client.get(reverse("customers:claim_confirm")).status_code == 302


def test_the_email_code_form_sent_back_with_errors_is_a_400_with_its_summary(
    client, former, claim_post
):
    claim_post(claims.claim_code_issue(customer=former, via="support"))
    response = client.post(reverse("customers:claim_confirm"), {"code": "12"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="banner banner-error error-summary"' in html
    assert "new.address@example.com" in html  # the page, re-shown, not a bare error
    assert client.get(reverse("customers:claim_confirm")).status_code == 200


@pytest.mark.parametrize("step", ["claim", "claim_confirm"])
def test_a_form_posted_empty_is_sent_back_with_its_errors(client, former, claim_post, step):
    if step == "claim_confirm":
        claim_post(claims.claim_code_issue(customer=former, via="support"))
    response = client.post(reverse(f"customers:{step}"), {})
    assert response.status_code == 400
    assert 'class="banner banner-error error-summary"' in response.content.decode()


def test_the_birth_date_example_names_its_month_beside_any_browsers_date_field(client):
    """A date field shows the browser's order (06/30/1975 in some): "14/03/1987"
    beside it read as a contradiction, a named month reads right with any."""
    html = client.get(reverse("customers:claim")).content.decode()
    assert "14 March 1987" in html and "14/03/1987" not in html
    french = client.get(reverse("customers:claim"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "14 mars 1987" in french


def test_a_customer_who_just_claimed_sets_a_first_password_without_confirming_again(
    client, former, claim_post
):
    """The claim proved the email by a code a moment ago: as strong as a sign-in
    by code, which the re-authentication rule counts (portal.reauthentication).
    Without a record of it, the first thing a newly signed-in customer does
    (choose a password, change their phone) asked them to prove it again."""
    claim_post(claims.claim_code_issue(customer=former, via="support"))
    client.post(reverse("customers:claim_confirm"), {"code": emailed_code()})
    response = client.post(
        reverse("account_set_password"),
        {"password1": "a-new-long-pass-9", "password2": "a-new-long-pass-9"},
    )
    assert response.status_code == 302
    assert response["Location"].split("?")[0] != reverse("account_request_reauthentication_code")
    former.refresh_from_db()
    assert former.user.check_password("a-new-long-pass-9")

"""/api/v1/: every endpoint for anonymous, customer A and customer B."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from notices.channels import locmem
from notices.models import ContactVerification, Delivery, Device, Notice
from notices.references import format_reference, new_reference
from notices.services import campaign_create
from portal.roles import COMMUNICATIONS
from tests.api.conftest import session_token_for
from tests.factories import CustomerFactory, ExposureFactory, IncidentFactory, UserFactory
from tests.staff import staff_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice, bob, incident):
    """Messages and notices for both customers, and one for another incident."""
    campaign = campaign_create(
        incident=incident, channels=["inapp"], by=staff_with_role(COMMUNICATIONS)
    )
    refs = {}
    for customer in (alice, bob):
        delivery = Delivery.objects.create(
            campaign=campaign,
            customer=customer,
            channel="inapp",
            status="delivered",
            reference=new_reference(),
            subject="Your data",
            body=f"For {customer.first_name}",
            sent_at=timezone.now(),
            to=str(customer.user_id),
        )
        refs[customer.customer_ref] = delivery.reference
    common = {
        "kind": "advisory",
        "title_fr": "Avis",
        "summary": "s",
        "summary_fr": "s",
        "body": "b",
        "body_fr": "b",
        "status": "published",
        "published_at": timezone.now(),
    }
    Notice.objects.create(
        incident=incident, slug="public-one", audience="public", title="Public one", **common
    )
    Notice.objects.create(
        incident=incident, slug="affected-one", audience="affected", title="Affected one", **common
    )
    other = IncidentFactory(slug="other-incident")
    Notice.objects.create(
        incident=other, slug="other-one", audience="affected", title="Other one", **common
    )
    return refs


CUSTOMER_ENDPOINTS = ["/api/v1/me", "/api/v1/incidents", "/api/v1/exposures", "/api/v1/messages"]


@pytest.mark.parametrize("path", CUSTOMER_ENDPOINTS)
def test_customer_endpoints_refuse_anonymous(api, path, world):
    response = api.get(path)
    assert response.status_code == 401 and "error" in response.json()


@pytest.mark.parametrize("path", [*CUSTOMER_ENDPOINTS, "/api/v1/notices"])
def test_no_endpoint_returns_another_customers_data(alice_api, bob_api, alice, bob, world, path):
    for client, me, other in ((alice_api, alice, bob), (bob_api, bob, alice)):
        body = json.dumps(client.get(path).json(), ensure_ascii=False)
        other_values = [
            other.customer_ref,
            other.first_name,
            format_reference(world[other.customer_ref]),
        ]
        other_values += list(other.exposures.get().fields.values())
        for value in other_values:
            if value not in (me.first_name,):
                assert value not in body, (path, value)


def test_me_is_masked_and_preferences_change(alice_api, alice):
    me = alice_api.get("/api/v1/me").json()
    assert me["email"] == "a•••@example.com" and me["customer_ref"] == alice.customer_ref
    response = alice_api.patch(
        "/api/v1/me", {"preferred_channel": "email", "preferred_language": "fr"}, format="json"
    )
    assert response.status_code == 200 and response.json()["preferred_language"] == "fr"
    alice.refresh_from_db()
    assert (alice.preferred_channel, alice.preferred_language) == ("email", "fr")
    bad = alice_api.patch("/api/v1/me", {"preferred_channel": "pigeon"}, format="json")
    assert bad.status_code == 400
    assert (
        bad.json()["error"]["code"] == "invalid"
        and "preferred_channel" in bad.json()["error"]["fields"]
    )


def test_a_change_to_something_preferences_do_not_hold_is_a_400(alice_api, alice):
    response = alice_api.patch(
        "/api/v1/me",
        {"email": "new@example.com", "preferred_language": "fr"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "email": ["Ce champ ne peut pas être modifié par cette requête."]
    }
    alice.refresh_from_db()
    assert alice.email == "alice@example.com" and alice.preferred_language == "en"


def test_new_email_is_confirmed_by_code(alice_api, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        started = alice_api.post(
            "/api/v1/me/contact", {"kind": "email", "value": "New@Example.com"}, format="json"
        )
    assert started.status_code == 202
    verification = started.json()["verification_id"]
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert mail.outbox[-1].to == ["new@example.com"]
    wrong = alice_api.post(
        "/api/v1/me/contact/confirm",
        {"verification_id": verification, "code": "000000"},
        format="json",
    )
    assert wrong.status_code == 400
    right = alice_api.post(
        "/api/v1/me/contact/confirm", {"verification_id": verification, "code": code}, format="json"
    )
    assert right.status_code == 200 and right.json()["email"] == "n•••@example.com"
    alice.refresh_from_db()
    assert alice.email == "new@example.com" and alice.user.email == "new@example.com"


def test_a_contact_change_asks_a_token_signed_in_long_ago_to_reauthenticate(
    alice, django_capture_on_commit_callbacks
):
    # A stolen token must not move the login to its holder's inbox or phone.
    api = APIClient()
    api.credentials(HTTP_X_SESSION_TOKEN=session_token_for(alice.user, signed_in_at=0))
    change = {"kind": "email", "value": "thief@example.net"}
    response = api.post("/api/v1/me/contact", change, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reauthentication_required"
    assert response.json()["error"]["message"].startswith("Confirmez d'abord que c'est vous")
    assert not ContactVerification.objects.exists()

    # allauth's headless re-authentication (here by password), then the same request.
    again = api.post("/_allauth/app/v1/auth/reauthenticate", {"password": "x"}, format="json")
    assert again.status_code == 400
    assert api.post("/api/v1/me/contact", change, format="json").status_code == 403
    again = api.post(
        "/_allauth/app/v1/auth/reauthenticate",
        {"password": "correct-horse-battery"},
        format="json",
    )
    assert again.status_code == 200, again.content
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/me/contact", change, format="json")
    assert response.status_code == 202
    assert mail.outbox[-1].to == ["thief@example.net"]


def test_an_app_token_signed_in_long_ago_cannot_set_a_first_password_without_reauthenticating():
    # A stolen token of a code-only customer must not add a password it would keep.
    user = UserFactory(email="erin@example.com")
    user.set_unusable_password()
    user.save()
    CustomerFactory(email=user.email, user=user)
    api = APIClient()
    api.credentials(HTTP_X_SESSION_TOKEN=session_token_for(user, signed_in_at=0))
    new = {"new_password": "a-new-long-pass-9"}
    response = api.post("/_allauth/app/v1/account/password/change", new, format="json")
    assert response.status_code == 401
    flows = {flow["id"] for flow in response.json()["data"]["flows"]}
    assert "reauthenticate_by_code" in flows
    user.refresh_from_db()
    assert not user.has_usable_password()

    recent = APIClient()
    recent.credentials(HTTP_X_SESSION_TOKEN=session_token_for(user))
    response = recent.post("/_allauth/app/v1/account/password/change", new, format="json")
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.check_password("a-new-long-pass-9")


def test_a_customer_without_a_password_reauthenticates_by_code(
    django_capture_on_commit_callbacks,
):
    user = UserFactory(email="erin@example.com")
    user.set_unusable_password()
    user.save()
    CustomerFactory(email=user.email, user=user)
    api = APIClient()
    api.credentials(HTTP_X_SESSION_TOKEN=session_token_for(user, signed_in_at=0))
    change = {"kind": "phone", "value": "0412 999 888"}
    assert api.post("/api/v1/me/contact", change, format="json").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(
            "/_allauth/app/v1/auth/reauthenticate/code/request",
            {"email": "erin@example.com"},
            format="json",
        )
    assert sent.status_code == 200, sent.content
    assert mail.outbox[-1].to == ["erin@example.com"]
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.M).group(1)
    confirmed = api.post(
        "/_allauth/app/v1/auth/reauthenticate/code/confirm", {"code": code}, format="json"
    )
    assert confirmed.status_code == 200, confirmed.content
    assert api.post("/api/v1/me/contact", change, format="json").status_code == 202


def test_an_address_another_login_signs_in_with_is_a_400_not_a_500(
    alice_api, alice, bob, django_capture_on_commit_callbacks
):
    # A shared family inbox: Alice proves she reads it, but it is Bob's sign-in.
    with django_capture_on_commit_callbacks(execute=True):
        started = alice_api.post(
            "/api/v1/me/contact", {"kind": "email", "value": bob.user.email}, format="json"
        )
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    response = alice_api.post(
        "/api/v1/me/contact/confirm",
        {"verification_id": started.json()["verification_id"], "code": code},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"] == (
        "Cette adresse e-mail est déjà utilisée par un autre identifiant : choisissez-en une autre."
    )
    alice.refresh_from_db()
    assert alice.email != bob.user.email and alice.user.email != bob.user.email


def test_an_address_another_login_takes_while_confirming_is_a_400_not_a_500(
    alice_api, alice, bob, monkeypatch, django_capture_on_commit_callbacks
):
    from notices.services import contacts

    with django_capture_on_commit_callbacks(execute=True):
        started = alice_api.post(
            "/api/v1/me/contact", {"kind": "email", "value": bob.user.email}, format="json"
        )
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    # Bob's login took the address between the check and the write.
    monkeypatch.setattr(contacts, "login_in_the_way", lambda email, besides: None)
    response = alice_api.post(
        "/api/v1/me/contact/confirm",
        {"verification_id": started.json()["verification_id"], "code": code},
        format="json",
    )
    assert response.status_code == 400, response.content
    alice.refresh_from_db()
    assert alice.email != bob.user.email and alice.user.email != bob.user.email


def test_an_email_that_lower_case_makes_too_long_is_a_400(alice_api):
    # 254 characters as sent, 264 in lower case: PostgreSQL refused it (a 500).
    domain = "\u0130" * 10 + ".com"
    value = "a" * (254 - len(domain) - 1) + "@" + domain
    response = alice_api.post(
        "/api/v1/me/contact", {"kind": "email", "value": value}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"] == "Enter a valid email address."


def test_new_phone_code_goes_by_sms_and_attempts_are_limited(
    alice_api, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        started = alice_api.post(
            "/api/v1/me/contact", {"kind": "phone", "value": "0412 999 888"}, format="json"
        )
    assert started.status_code == 202
    assert locmem.outbox[-1].to == "+61412999888"
    verification = started.json()["verification_id"]
    for _ in range(5):
        alice_api.post(
            "/api/v1/me/contact/confirm",
            {"verification_id": verification, "code": "111111"},
            format="json",
        )
    code = re.search(r"\b(\d{6})\b", locmem.outbox[-1].body).group(1)
    late = alice_api.post(
        "/api/v1/me/contact/confirm", {"verification_id": verification, "code": code}, format="json"
    )
    assert late.status_code == 400


def test_another_customers_verification_is_404(
    alice_api, bob_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        started = alice_api.post(
            "/api/v1/me/contact", {"kind": "email", "value": "x@example.com"}, format="json"
        )
    response = bob_api.post(
        "/api/v1/me/contact/confirm",
        {"verification_id": started.json()["verification_id"], "code": "123456"},
        format="json",
    )
    assert response.status_code == 404


def test_exposures_with_etag(alice_api):
    first = alice_api.get("/api/v1/exposures")
    assert first.status_code == 200
    [incident] = first.json()
    assert [f["data_class"] for f in incident["fields"]] == ["passport_number", "date_of_birth"]
    assert incident["fields"][0]["masked_value"] == "•••• 821"
    again = alice_api.get("/api/v1/exposures", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again["ETag"] == first["ETag"]
    alice_api.put("/api/v1/steps/passport-decide-replace/done")
    changed = alice_api.get("/api/v1/exposures", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed.json()[0]["steps_done"] == 1


@pytest.mark.parametrize(
    ("stored", "returned"),
    [
        ("/help/", "https://portal.example/help/"),
        ("mailto:privacy@example.com", "mailto:privacy@example.com"),
        ("tel:+61299990000", "tel:+61299990000"),
        ("https://www.oaic.gov.au/privacy", "https://www.oaic.gov.au/privacy"),
        ("javascript:alert(1)", ""),
    ],
)
def test_a_steps_link_is_returned_absolute_or_as_a_contact(alice_api, settings, stored, returned):
    # An app has no page to resolve "/help/" against; nor may it get a script link.
    from customers.models import Step
    from portal import generations

    settings.PORTAL_BASE_URL = "https://portal.example"
    Step.objects.filter(code="passport-decide-replace").update(link_url=stored)
    generations.bump()
    [incident] = alice_api.get("/api/v1/exposures").json()
    links = {s["code"]: s["link"] for f in incident["fields"] for s in f["steps"]}
    assert links["passport-decide-replace"] == returned


def test_steps_done_and_undone_only_for_my_fields(alice_api):
    assert alice_api.put("/api/v1/steps/passport-decide-replace/done").status_code == 204
    assert alice_api.put("/api/v1/steps/passport-decide-replace/done").status_code == 204
    assert alice_api.delete("/api/v1/steps/passport-decide-replace/done").status_code == 204
    assert alice_api.put("/api/v1/steps/licence-check-state-rules/done").status_code == 404


def test_a_step_for_a_field_exposed_only_in_an_unannounced_incident_is_404(alice_api, alice):
    # A draft incident is not shown to customers: ticking its steps must not
    # tell them what of theirs it holds.
    draft = IncidentFactory(slug="not-yet-announced", status="draft")
    ExposureFactory(incident=draft, customer=alice, fields={"drivers_licence_number": "•••• 312"})
    assert alice_api.put("/api/v1/steps/licence-check-state-rules/done").status_code == 404
    assert alice_api.delete("/api/v1/steps/licence-check-state-rules/done").status_code == 404
    assert alice_api.put("/api/v1/steps/passport-decide-replace/done").status_code == 204


def test_incidents_say_whether_i_was_affected(alice_api, world):
    incidents = {i["slug"]: i["affected"] for i in alice_api.get("/api/v1/incidents").json()}
    assert incidents == {"customer-data-breach": True, "other-incident": False}


def test_incidents_say_whether_and_since_when_they_are_closed(alice_api, bob_api, incident):
    from datetime import UTC, datetime

    from customers.models import Incident
    from portal import generations

    [active] = alice_api.get("/api/v1/incidents").json()
    assert (active["status"], active["closed_at"]) == ("active", None)
    when = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    Incident.objects.filter(pk=incident.pk).update(status="closed", closed_at=when)
    generations.bump()  # as closing it does, once committed
    for api in (alice_api, bob_api):  # each still sees it, with their own exposure
        [closed] = api.get("/api/v1/incidents").json()
        assert (closed["status"], closed["affected"]) == ("closed", True)
        assert datetime.fromisoformat(closed["closed_at"]) == when
    [exposure] = bob_api.get("/api/v1/exposures").json()
    assert [f["data_class"] for f in exposure["fields"]] == ["drivers_licence_number"]


def test_messages_paginate_by_cursor_and_filter(alice_api, alice, world):
    body = alice_api.get("/api/v1/messages?page_size=1").json()
    assert [m["reference"] for m in body["results"]] == [
        format_reference(world[alice.customer_ref])
    ]
    assert "next" in body and "previous" in body
    assert alice_api.get("/api/v1/messages?channel=sms").json()["results"] == []


@pytest.mark.parametrize("position", ["abc", "", "1.5", "99999999999999999999"])
def test_a_cursor_with_a_position_that_is_not_an_id_is_a_404(api, alice_api, world, position):
    cursor = base64.b64encode(f"p={position}".encode()).decode()
    for client, path in ((api, "/api/v1/notices"), (alice_api, "/api/v1/messages")):
        response = client.get(path, {"cursor": cursor})
        assert response.status_code == 404, (path, response.content)
        assert response.json()["error"]["message"] == "Invalid cursor"
    good = base64.b64encode(b"p=1").decode()
    assert alice_api.get("/api/v1/messages", {"cursor": good}).status_code == 200


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",  # base64 drops what is not in its alphabet: nothing, the first page
        "junk junk",
        _b64("x=1"),  # no position, offset or direction: the first page
        _b64("p=1") + "!!",  # a good one with junk after it
        _b64("p=1&p=2"),
        _b64("o=1&o=2&p=1"),
        _b64("r=0&p=1"),  # DRF writes no r=0: not one of ours
        [_b64("p=1"), _b64("p=2")],  # two cursors
    ],
)
def test_a_junk_cursor_is_a_404_in_the_apis_error_shape_not_the_first_page(
    api, alice_api, world, cursor
):
    for client, path in ((api, "/api/v1/notices"), (alice_api, "/api/v1/messages")):
        response = client.get(path, {"cursor": cursor}, HTTP_ACCEPT_LANGUAGE="fr")
        assert response.status_code == 404, (path, response.content)
        assert response.json() == {"error": {"code": "not_found", "message": "Curseur non valide"}}


def test_the_cursors_the_api_hands_out_still_page(alice_api, world):
    # Alice sees the public notice and the one for the affected of her incident.
    first = alice_api.get("/api/v1/notices?page_size=1").json()
    assert first["next"] and len(first["results"]) == 1
    second = alice_api.get(first["next"])
    assert second.status_code == 200 and second.json()["results"] != first["results"]
    back = alice_api.get(second.json()["previous"])
    assert back.status_code == 200 and back.json()["results"] == first["results"]
    # An empty one is no cursor: the first page.
    empty = alice_api.get("/api/v1/notices", {"cursor": "", "page_size": 1})
    assert empty.status_code == 200 and empty.json()["results"] == first["results"]


# Superscript two and Arabic-Indic one are digits to str.isdigit(); int() refuses the
# first and takes the second.
@pytest.mark.parametrize("size", ["²", "\u0661", "0", "101", "-1", "1.5", " 5", "9" * 30])
@pytest.mark.parametrize("path", ["/api/v1/messages", "/api/v1/notices"])
def test_a_page_size_that_is_not_1_to_100_in_ascii_digits_is_a_400(alice_api, world, path, size):
    response = alice_api.get(path, {"page_size": size})
    assert response.status_code == 400, response.content
    assert "page_size" in response.json()["error"]["fields"]


def test_notices_public_for_everyone_and_mine_when_signed_in(api, alice_api, world):
    public = [n["slug"] for n in api.get("/api/v1/notices").json()["results"]]
    assert public == ["public-one"]
    mine = {n["slug"] for n in alice_api.get("/api/v1/notices").json()["results"]}
    assert mine == {"public-one", "affected-one"}
    assert alice_api.get("/api/v1/notices/other-one").status_code == 404
    assert api.get("/api/v1/notices/affected-one").status_code == 404
    first = alice_api.get("/api/v1/notices/affected-one")
    assert first.status_code == 200 and "html" in first.json()
    assert (
        alice_api.get("/api/v1/notices/affected-one", HTTP_IF_NONE_MATCH=first["ETag"]).status_code
        == 304
    )


def test_devices_register_refresh_remove(alice_api, bob_api, alice):
    created = alice_api.post(
        "/api/v1/devices", {"token": "fcm-token-1", "platform": "android"}, format="json"
    )
    assert created.status_code == 201
    device_id = created.json()["id"]
    assert "token" not in created.json()
    assert (
        alice_api.put(
            f"/api/v1/devices/{device_id}", {"token": "fcm-token-2"}, format="json"
        ).status_code
        == 200
    )
    assert Device.objects.get(public_id=device_id).token == "fcm-token-2"
    assert bob_api.delete(f"/api/v1/devices/{device_id}").status_code == 404
    assert alice_api.delete(f"/api/v1/devices/{device_id}").status_code == 204
    assert not Device.objects.exists()


def test_a_device_goes_when_the_session_that_registered_it_is_ended(alice):
    # A stolen token must not leave behind a phone that keeps receiving the
    # customer's alerts: signing that session out (the devices page, or "sign
    # out other sessions") takes the devices it registered with it.
    from allauth.usersessions.models import UserSession

    tokens = [session_token_for(alice.user) for _ in range(2)]
    for key in tokens:
        UserSession.objects.create(user=alice.user, session_key=key, ip="192.0.2.1")
    for key, push in zip(tokens, ["stolen-phone", "own-phone"], strict=True):
        app = APIClient()
        app.credentials(HTTP_X_SESSION_TOKEN=key)
        body = {"token": push, "platform": "android"}
        assert app.post("/api/v1/devices", body, format="json").status_code == 201
    UserSession.objects.get(session_key=tokens[0]).end()
    assert list(Device.objects.values_list("token", flat=True)) == ["own-phone"]


def test_verify_is_public_and_answers_like_the_web_page(api, world, alice):
    genuine = api.post(
        "/api/v1/verify", {"reference": format_reference(world[alice.customer_ref])}, format="json"
    )
    assert genuine.status_code == 200 and genuine.json()["genuine"] is True
    fake = api.post("/api/v1/verify", {"reference": "ZZZZ-ZZZZ-ZZZZ"}, format="json")
    assert fake.json() == {"genuine": False, "channel": "", "sent_at": None, "to_hint": ""}
    typo = api.post("/api/v1/verify", {"reference": "ZZZZ-ZZZZ-ZZZ"}, format="json")
    assert typo.status_code == 400
    assert "twelve letters and digits" in str(typo.json())


def test_verify_is_throttled(api, settings):
    settings.VERIFY_RATE_PER_IP = "3/m"
    codes = [
        api.post("/api/v1/verify", {"reference": "ZZZZZZZZZZZZ"}, format="json").status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_health_is_public(api):
    response = api.get("/api/v1/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_errors_share_one_shape(api, alice_api):
    assert set(api.get("/api/v1/me").json()) == {"error"}
    assert set(alice_api.get("/api/v1/notices/nope").json()["error"]) >= {"code", "message"}
    response = alice_api.post("/api/v1/me", {}, format="json")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


def test_exposure_sensitivity_labels_in_the_readers_language(alice_api):
    from django.conf import settings
    from django.utils import translation

    from customers.models import Sensitivity

    alice_api.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = alice_api.get("/api/v1/exposures").json()[0]["fields"][0]
    alice_api.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = alice_api.get("/api/v1/exposures").json()[0]["fields"][0]
    level = Sensitivity(english["sensitivity"])
    with translation.override("en"):
        assert english["sensitivity_label"] == str(level.label)
    with translation.override("fr"):
        assert french["sensitivity_label"] == str(level.label) != english["sensitivity_label"]


def test_error_messages_in_the_readers_language(api, alice_api):
    from django.conf import settings

    for client in (api, alice_api):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    invalid = api.post("/api/v1/verify", {}, format="json").json()["error"]
    assert invalid["message"] == "Certains champs ne sont pas valides."
    size = alice_api.get("/api/v1/messages?page_size=0").json()["error"]
    assert size["fields"]["page_size"] == ["Un nombre entier de 1 à 100."]
    channel = alice_api.get("/api/v1/messages?channel=fax").json()["error"]
    assert channel["fields"]["channel"] == ["L'une de ces valeurs : sms, email, inapp, push."]
    incident = api.get("/api/v1/notices?incident=not+a+slug").json()["error"]
    assert incident["fields"]["incident"] == [
        "Un slug : lettres, chiffres, traits d'union et tirets bas."
    ]
    missing = api.get("/api/v1/no-such-endpoint")
    assert missing.status_code == 404
    assert missing.json()["error"] == {"code": "not_found", "message": "Introuvable."}
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert api.get("/api/v1/no-such-endpoint").json()["error"]["message"] == "Not found."


@pytest.mark.parametrize(
    "body, message",
    [
        (b"{", "Le corps de la requête n'est pas du JSON valide (ligne 1, colonne 2)."),
        (b'{"a": "\xff"}', "Le corps de la requête n'est pas de l'UTF-8 valide."),
        (b'{"a": NaN}', "Le JSON de la requête contient une valeur que JSON n'autorise pas."),
        (b'{"a": ' + b"9" * 5000 + b"}", "Un nombre du JSON de la requête a trop de chiffres."),
    ],
)
def test_a_body_that_is_not_json_is_a_400_in_the_readers_language(alice_api, body, message):
    response = alice_api.patch(
        "/api/v1/me", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "parse_error", "message": message}


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    "method, path",
    [("post", "/api/v1/verify"), ("patch", "/api/v1/me"), ("post", "/api/v1/devices")],
)
def test_json_nested_too_deeply_is_a_400(alice_api, method, path):
    for body in (DEEP, '{"reference": ' + DEEP + "}"):
        response = getattr(alice_api, method)(path, body, content_type="application/json")
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "parse_error"


# PostgreSQL refuses text with a NUL character (a DataError, a 500, if it got there).
@pytest.mark.parametrize(
    "method, path, status",
    [
        ("get", "/api/v1/notices/%00", 404),
        ("get", "/api/v1/notices/a%00b", 404),
        ("put", "/api/v1/steps/%00/done", 404),
        ("delete", "/api/v1/steps/%00/done", 404),
        ("put", "/api/v1/devices/%00", 404),
        ("delete", "/api/v1/devices/%00", 404),
        ("get", "/api/v1/notices?incident=%00", 400),
        ("get", "/api/v1/messages?incident=a%00", 400),
    ],
)
def test_a_nul_character_in_a_path_or_a_query_is_a_client_error(
    alice_api, world, method, path, status
):
    body = {"token": "t"} if method == "put" else None
    response = getattr(alice_api, method)(path, body, format="json")
    assert response.status_code == status, response.content
    assert "error" in response.json()


def test_filtering_by_an_incident_still_works(api, alice_api, world):
    assert [
        n["slug"] for n in api.get("/api/v1/notices?incident=other-incident").json()["results"]
    ] == []
    assert (
        len(alice_api.get("/api/v1/messages?incident=customer-data-breach").json()["results"]) == 1
    )
    bad = api.get("/api/v1/notices", {"incident": "not a slug"})
    assert bad.status_code == 400 and "incident" in bad.json()["error"]["fields"]


# Every body refuses keys it does not take, as PATCH /me does: an app that sends
# {"active": false} or {"email": …} must not get a 2xx for a change never made.
def _device(alice) -> str:
    return str(Device.objects.create(user=alice.user, token="t-1", platform="ios").public_id)


@pytest.mark.parametrize(
    ("method", "path", "body", "extra"),
    [
        ("post", "/api/v1/me/contact", {"kind": "email", "value": "a@new.example"}, "email"),
        ("post", "/api/v1/me/contact/confirm", {"code": "123456"}, "verification"),
        ("post", "/api/v1/devices", {"token": "t-2", "platform": "android"}, "active"),
        ("post", "/api/v1/devices", {"token": "t-2", "platform": "android"}, "user"),
        ("put", "/api/v1/devices/{device}", {"token": "t-3"}, "platform"),
        ("post", "/api/v1/verify", {"reference": "ZZZZ-ZZZZ-ZZZZ"}, "phone"),
    ],
)
def test_a_key_a_request_does_not_take_is_a_400_not_ignored(
    alice_api, alice, method, path, body, extra
):
    if "confirm" in path:
        verification = ContactVerification.objects.create(
            customer=alice, kind="email", value="a@new.example", expires_at=timezone.now()
        )
        body = {**body, "verification_id": str(verification.public_id)}
    path = path.format(device=_device(alice))
    response = getattr(alice_api, method)(
        path, {**body, extra: False}, format="json", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {
        extra: ["Ce champ ne peut pas être modifié par cette requête."]
    }
    assert Device.objects.get().token == "t-1"
    assert ContactVerification.objects.filter(value="a@new.example", attempts=0).count() == (
        1 if "confirm" in path else 0
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/api/v1/steps/passport-decide-replace/done"),
        ("delete", "/api/v1/steps/passport-decide-replace/done"),
        ("delete", "/api/v1/devices/{device}"),
    ],
)
def test_a_body_sent_to_a_request_that_takes_none_is_a_400_not_ignored(
    alice_api, alice, method, path
):
    from customers.models import StepProgress

    path = path.format(device=_device(alice))
    response = getattr(alice_api, method)(path, {"done": False}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["done"]
    assert Device.objects.exists() and not StepProgress.objects.exists()
    # Without one, as before.
    assert getattr(alice_api, method)(path).status_code == 204


def test_a_notices_link_is_our_address_never_the_host_header(api, world, settings):
    # The app shows and shares it: a request naming another host the site
    # answers to must not put that host in it.
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    listed = api.get("/api/v1/notices", HTTP_HOST="127.0.0.1").json()["results"]
    assert [n["url"] for n in listed] == ["https://portal.example.com/notices/public-one/"]
    detail = api.get("/api/v1/notices/public-one", HTTP_HOST="127.0.0.1").json()
    assert detail["url"] == "https://portal.example.com/notices/public-one/"

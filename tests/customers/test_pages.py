"""The customer pages: each one renders in the site's design, for its own customer only."""

from __future__ import annotations

import itertools
import re
import time
from datetime import timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from notices.channels import locmem
from notices.models import ContactVerification
from tests.conftest import signed_in_by_code
from tests.factories import CustomerFactory, ExposureFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

SIGNED_IN_PAGES = [
    "customers:dashboard",
    "customers:account",
    "notices:messages",
    "notices:preferences",
    "account_change_password",
    "mfa_index",
    "mfa_activate_totp",
    "usersessions_list",
]
PUBLIC_PAGES = ["home", "notices:help", "notices:verify", "notices:report", "notices:index"]


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_signed_in_pages_render_in_the_site_design(alice_client, name):
    response = alice_client.get(reverse(name), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "portal/site.css" in html and 'id="main"' in html
    # Every visible input has a label (allauth's placeholder-only fields included).
    for input_id in re.findall(
        r'<input[^>]*type="(?:text|email|password|tel)"[^>]*id="([^"]+)"', html
    ):
        assert f'for="{input_id}"' in html, input_id


@pytest.mark.parametrize("name", SIGNED_IN_PAGES[:4])
def test_signed_in_pages_send_visitors_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/accounts/" in response["Location"]


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_pages_render_for_everyone(client, name, incident):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert "portal/site.css" in response.content.decode()


def test_every_page_has_a_title_of_its_own(client, alice, incident):
    # WCAG 2.4.2: the title says which page this is, before the content is read.
    pages = [*PUBLIC_PAGES, "customers:claim", "account_login", "account_request_login_code"]
    titles = {}
    for name in pages:
        html = client.get(reverse(name)).content.decode()
        titles[name] = re.search(r"<title>\s*(.*?)\s*</title>", html, re.S).group(1)
    client.force_login(alice.user)
    for name in SIGNED_IN_PAGES:
        html = client.get(reverse(name), follow=True).content.decode()
        titles[name] = re.search(r"<title>\s*(.*?)\s*</title>", html, re.S).group(1)
    shared = {t for t in titles.values() if list(titles.values()).count(t) > 1}
    assert not shared, {name: t for name, t in titles.items() if t in shared}


def _title(response) -> str:
    return re.search(r"<title>\s*(.*?)\s*</title>", response.content.decode(), re.S).group(1)


def test_a_page_sent_back_with_errors_says_so_in_its_title(alice_client, settings):
    # Screen readers read the title first, before the error summary.
    claim = reverse("customers:claim")
    assert _title(Client().get(claim)) == "Claim your record · Firsthand"
    empty = {"customer_ref": "", "birth_date": "", "claim_code": "", "email": ""}
    assert _title(Client().post(claim, empty)) == "Error: Claim your record · Firsthand"
    preferences = reverse("notices:preferences")
    assert _title(alice_client.get(preferences)).startswith("Preferences")
    bad_phone = {"action": "contact_start", "kind": "phone", "phone-value": "12"}
    assert _title(alice_client.post(preferences, bad_phone)).startswith("Error: Preferences")
    french = Client()
    french.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert _title(french.post(claim, empty)).startswith("Erreur\u00a0: ")


@pytest.mark.parametrize(
    ("name", "title", "signed_in"),
    [
        ("account_signup", "Sign up closed", False),
        ("account_reset_password", "Password reset", False),
        ("account_reset_password_done", "Password reset", False),
        ("account_change_password", "Change password", True),
        ("mfa_index", "Two-factor authentication", True),
        ("account_logout", "Sign out", True),
        # Ours, in sentence case already, are left as they are.
        ("account_login", "Sign in with your password", False),
        ("usersessions_list", "Sessions", True),
    ],
)
def test_allauths_pages_have_titles_in_sentence_case_like_ours(
    client, alice, name, title, signed_in
):
    if signed_in:
        client.force_login(alice.user)
    assert _title(client.get(reverse(name))) == f"{title} · Firsthand"


def test_sentence_case_keeps_the_first_letter_acronyms_and_markup():
    from portal.templatetags.fh import sentence_case

    assert sentence_case("\n  Trust this Browser?\n") == "Trust this browser?"
    assert sentence_case("Enter Sign-In Code") == "Enter sign-in code"
    assert sentence_case("Activate TOTP App") == "Activate TOTP app"
    assert sentence_case("Réinitialisation du Mot de passe") == "Réinitialisation du mot de passe"
    assert sentence_case("l&#x27;Authentification") == "l&#x27;authentification"


def _publish_public_notice(incident, audience="public"):
    from django.utils import timezone

    from notices.models import Notice

    return Notice.objects.create(
        incident=incident,
        slug=f"notice-{audience}",
        audience=audience,
        title="Notice of data breach",
        title_fr="Avis de violation de données",
        summary="What happened.",
        summary_fr="Ce qui s'est passé.",
        body="Body",
        body_fr="Texte",
        status="published",
        published_at=timezone.now(),
    )


def test_home_answers_the_first_questions(client, incident):
    _publish_public_notice(incident)
    html = client.get(reverse("home")).content.decode()
    assert incident.title in html and incident.summary in html
    assert reverse("customers:dashboard") in html  # check if you were affected
    assert 'action="/verify"' in html and 'method="get"' in html
    assert "never ask for your password" in html
    assert "csrfmiddlewaretoken" not in html  # cacheable for visitors


def test_home_names_no_incident_before_its_public_notice(client, incident):
    """Direct first: until a public notice is out, visitors read only generic words."""
    _publish_public_notice(incident, audience="affected")  # told directly, not publicly
    html = client.get(reverse("home")).content.decode()
    assert incident.title not in html and incident.summary not in html
    assert "Were you affected by a data breach?" in html
    assert reverse("customers:dashboard") in html  # the way in stays


def test_home_in_french_names_no_incident_before_its_public_notice(client, incident):
    html = client.get(reverse("home"), {"lang": "fr"}).content.decode()
    assert incident.title_fr not in html and incident.summary_fr not in html


def test_signed_in_customers_still_see_their_incident_on_home(alice_client, incident):
    html = alice_client.get(reverse("home")).content.decode()
    assert incident.title in html


def test_signed_in_home_points_to_their_status_and_their_notices(alice_client, incident):
    """Not "sign in to see…" to someone signed in, and the notices for customers
    that their dashboard lists, not an empty heading."""
    notice = _publish_public_notice(incident, audience="customers")
    html = alice_client.get(reverse("home")).content.decode()
    assert "See your status" in html and "Sign in to see" not in html
    assert "Claim your record" not in html
    assert notice.get_absolute_url() in html


def test_home_says_when_no_notice_is_out_yet(client):
    html = client.get(reverse("home")).content.decode()
    assert "Nothing has been published yet." in html
    assert "Sign in to see" in html


def test_the_home_check_box_asks_verify_by_get(client):
    response = client.get(reverse("notices:verify"), {"reference": "AAAA-BBBB-CCCC"})
    assert response.status_code == 200
    assert "We did not send this message." in response.content.decode()


def test_help_lists_the_contacts_and_the_report_form(client, settings):
    html = client.get(reverse("notices:help")).content.decode()
    for value in [settings.SUPPORT_PHONE, settings.ID_SUPPORT_NAME, settings.REGULATOR_NAME]:
        assert value in html
    assert f'action="{reverse("notices:report")}"' in html


def test_help_in_french_names_hours_and_regulator_in_french(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = client.get(reverse("notices:help")).content.decode()
    assert settings.SUPPORT_HOURS_FR in html and settings.SUPPORT_HOURS not in html
    assert "Commissariat australien à l&#x27;information" in html
    assert settings.REGULATOR_NAME not in html
    # Names that start with a vowel or carry their own brackets read right.
    assert f"Site web\u00a0: {settings.ID_SUPPORT_NAME}" in html
    assert "Le site de IDCARE" not in html and "(OAIC))" not in html
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("notices:help")).content.decode()
    assert settings.SUPPORT_HOURS in html and settings.REGULATOR_NAME in html


def test_help_in_french_falls_back_to_the_english_settings(client, settings):
    settings.SUPPORT_HOURS, settings.SUPPORT_HOURS_FR = "9am to 5pm", ""
    settings.REGULATOR_NAME_FR = ""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = client.get(reverse("notices:help")).content.decode()
    assert "9am to 5pm" in html and settings.REGULATOR_NAME in html


def test_incident_text_with_no_french_version_is_marked_english(alice_client, incident, settings):
    # The factory's incident has a French title and summary, but no French actions.
    alice_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    assert '<p lang="en">We closed the access point.</p>' in html
    assert "<p>Cyberattaque visant les dossiers clients</p>" in html


def test_an_incident_with_no_french_title_is_marked_english_on_home(client, db):
    incident = IncidentFactory(slug="english-only", title_fr="", summary_fr="")
    _publish_public_notice(incident)
    html = client.get(reverse("home"), {"lang": "fr"}).content.decode()
    assert '<h1 lang="en">Cyber attack on customer records</h1>' in html
    assert '<p lang="en">Someone accessed our customer database.</p>' in html


def test_incident_text_in_english_carries_no_language_of_its_own(alice_client):
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    assert "<p>We closed the access point.</p>" in html


def test_a_field_with_no_steps_yet_shows_no_empty_progress(client, incident):
    # Staff may add a data class before writing its steps.
    from customers.models import DataClass

    DataClass.objects.create(
        code="loyalty_number",
        label="Loyalty card number",
        label_fr="Numéro de carte de fidélité",
        sensitivity=1,
        explanation="It identifies your loyalty account.",
        explanation_fr="Il identifie votre compte de fidélité.",
    )
    user = UserFactory(username="fay", email="fay@example.com")
    customer = CustomerFactory(user=user, email=user.email, first_name="Fay")
    ExposureFactory(incident=incident, customer=customer, fields={"loyalty_number": "•••• 12"})
    client.force_login(user)
    html = client.get(reverse("customers:dashboard")).content.decode()
    assert "Your loyalty card number was exposed." in html
    assert "recommended steps done" not in html and "<progress" not in html


def test_the_dashboard_says_when_it_was_last_updated(alice_client):
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    assert "Last updated:" in html and "<time datetime=" in html


@pytest.mark.parametrize("language", ["en", "fr"])
def test_times_shown_name_their_zone(alice_client, settings, language):
    """A customer in Perth reading a Sydney time must be able to tell."""
    settings.TIME_ZONE = "Australia/Sydney"
    alice_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    shown = re.search(r"<time datetime=[^>]*>([^<]*)</time>", html).group(1)
    assert re.search(r"\bAE[SD]T$", shown), shown


# --- preferences --------------------------------------------------------------------


def test_preferences_save_channel_and_language(alice_client, alice):
    response = alice_client.post(
        reverse("notices:preferences"),
        {"action": "preferences", "preferred_channel": "sms", "preferred_language": "fr"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.preferred_channel, alice.preferred_language) == ("sms", "fr")
    assert response.cookies["django_language"].value == "fr"


def test_preferences_offer_only_channels_the_customer_has(alice_client, alice):
    alice.phone = ""
    alice.save()
    html = alice_client.get(reverse("notices:preferences")).content.decode()
    assert 'value="email"' in html and 'value="sms"' not in html
    response = alice_client.post(
        reverse("notices:preferences"),
        {"action": "preferences", "preferred_channel": "sms", "preferred_language": "en"},
    )
    assert response.status_code == 400
    assert Customer.objects.get(pk=alice.pk).preferred_channel != "sms"


def test_a_preferred_channel_no_longer_on_offer_shows_no_preference(alice_client, alice):
    alice.preferred_channel, alice.phone = "sms", ""
    alice.save()
    html = alice_client.get(reverse("notices:preferences")).content.decode()
    checked = re.findall(
        r'<input type="radio" name="preferred_channel" value="(\w*)"[^>]* checked', html
    )
    assert checked == [""]


def test_a_new_phone_is_used_only_once_the_code_comes_back(
    alice_client, alice, django_capture_on_commit_callbacks
):
    url = reverse("notices:preferences")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            url, {"action": "contact_start", "kind": "phone", "phone-value": "0412 999 888"}
        )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.phone != "+61412999888"
    (sms,) = locmem.outbox
    assert sms.to == "+61412999888"
    code = re.search(r"\b(\d{6})\b", sms.body).group(1)

    html = alice_client.get(url).content.decode()
    assert "Confirm your new mobile number" in html
    wrong = alice_client.post(
        url, {"action": "contact_confirm", "kind": "phone", "phone-confirm-code": "000000"}
    )
    assert wrong.status_code == 400
    response = alice_client.post(
        url, {"action": "contact_confirm", "kind": "phone", "phone-confirm-code": code}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.phone, alice.phone_verified) == ("+61412999888", True)


def test_a_new_email_also_moves_the_sign_in(
    alice_client, alice, django_capture_on_commit_callbacks
):
    url = reverse("notices:preferences")
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(
            url, {"action": "contact_start", "kind": "email", "email-value": "alice@new.example"}
        )
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    alice_client.post(
        url, {"action": "contact_confirm", "kind": "email", "email-confirm-code": code}
    )
    alice.refresh_from_db()
    alice.user.refresh_from_db()
    assert alice.email == alice.user.email == "alice@new.example"


def test_a_contact_change_asks_a_session_signed_in_long_ago_to_confirm_it_is_them(
    client, alice, django_capture_on_commit_callbacks
):
    # A stolen session must not move the login to its holder's inbox.
    signed_in_by_code(client, alice.user, at=time.time() - 3600)
    url = reverse("notices:preferences")
    change = {"action": "contact_start", "kind": "email", "email-value": "thief@example.net"}
    response = client.post(url, change, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 302
    assert response["Location"].split("?")[0] == reverse("account_reauthenticate")
    assert not ContactVerification.objects.exists() and mail.outbox == []
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Pour changer votre e-mail ou votre téléphone, confirmez d&#x27;abord" in page

    # Confirmed with the password, the change that was asked goes on.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response["Location"], {"password": "correct-horse-battery"})
    assert response.status_code == 302 and response["Location"] == f"{url}#confirm-email"
    assert ContactVerification.objects.get().value == "thief@example.net"
    assert mail.outbox[-1].to == ["thief@example.net"]


def test_a_customer_without_a_password_is_asked_for_a_code_to_their_address(
    client, alice, django_capture_on_commit_callbacks
):
    alice.user.set_unusable_password()
    alice.user.save()
    signed_in_by_code(client, alice.user, at=time.time() - 3600)
    change = {"action": "contact_start", "kind": "phone", "phone-value": "0412 999 888"}
    response = client.post(reverse("notices:preferences"), change)
    assert response.status_code == 302
    assert response["Location"].split("?")[0] == reverse("account_request_reauthentication_code")
    assert not ContactVerification.objects.exists()


def test_setting_a_first_password_asks_a_session_signed_in_long_ago_to_confirm_it_is_them(
    client, alice
):
    # A stolen session of a code-only customer must not add a password it would keep.
    alice.user.set_unusable_password()
    alice.user.save()
    signed_in_by_code(client, alice.user, at=time.time() - 3600)
    url = reverse("account_set_password")
    response = client.post(
        url, {"password1": "a-new-long-pass-9", "password2": "a-new-long-pass-9"}
    )
    assert response.status_code == 302
    assert response["Location"].split("?")[0] == reverse("account_request_reauthentication_code")
    alice.user.refresh_from_db()
    assert not alice.user.has_usable_password()


def test_a_session_signed_in_a_moment_ago_sets_a_first_password_without_asking_again(client, alice):
    alice.user.set_unusable_password()
    alice.user.save()
    signed_in_by_code(client, alice.user)
    response = client.post(
        reverse("account_set_password"),
        {"password1": "a-new-long-pass-9", "password2": "a-new-long-pass-9"},
    )
    assert response.status_code == 302
    alice.user.refresh_from_db()
    assert alice.user.check_password("a-new-long-pass-9")


def test_a_session_signed_in_a_moment_ago_changes_a_contact_without_asking_again(alice_client):
    response = alice_client.post(
        reverse("notices:preferences"),
        {"action": "contact_start", "kind": "email", "email-value": "alice@new.example"},
    )
    assert response.status_code == 302 and "#confirm-email" in response["Location"]
    assert ContactVerification.objects.filter(customer__user__username="alice").exists()


def test_a_code_that_has_expired_is_asked_for_again(alice_client, alice):
    url = reverse("notices:preferences")
    alice_client.post(
        url, {"action": "contact_start", "kind": "email", "email-value": "alice@new.example"}
    )
    assert "Confirm your new email address" in alice_client.get(url).content.decode()
    ContactVerification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    html = alice_client.get(url).content.decode()
    # Not "It expires in 10 minutes" over a code that no longer works.
    assert "Confirm your new email address" not in html
    assert "Change your email address" in html
    # Typed in all the same (a page left open): the answer says why, where it was typed.
    response = alice_client.post(
        url, {"action": "contact_confirm", "kind": "email", "email-confirm-code": "123456"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="confirm-email"' in html and "has expired" in html


def test_a_bad_new_phone_is_refused_with_a_message(alice_client):
    response = alice_client.post(
        reverse("notices:preferences"),
        {"action": "contact_start", "kind": "phone", "phone-value": "12"},
    )
    assert response.status_code == 400
    assert "valid phone number" in response.content.decode()
    assert not ContactVerification.objects.exists()


def _heading_levels(html: str) -> list[int]:
    main = html[html.index("<main") : html.index("</main>")]
    return [int(level) for level in re.findall(r"<h([1-6])[\s>]", main)]


@pytest.mark.parametrize(
    "data",
    [
        {"action": "preferences", "preferred_language": "xx"},
        {"action": "contact_start", "kind": "phone", "phone-value": "12"},
    ],
    ids=["preferences", "contact"],
)
def test_the_error_summary_keeps_the_heading_order(alice_client, data):
    # Under the form's own heading, so the next section is not read as part of it.
    html = alice_client.post(reverse("notices:preferences"), data).content.decode()
    assert "error-summary" in html
    levels = _heading_levels(html)
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
    summary = re.search(r'<h(\d) id="error-summary-title"', html).group(1)
    before = html[: html.index(f'<h{summary} id="error-summary-title"')]
    form_heading = _heading_levels(before + "</main>")[-1]
    assert int(summary) == form_heading + 1


def test_code_requests_are_limited_per_login(alice_client, settings):
    settings.CONTACT_RATE_PER_USER = "2/h"
    url = reverse("notices:preferences")
    for n in range(2):
        alice_client.post(
            url, {"action": "contact_start", "kind": "email", "email-value": f"a{n}@x.example"}
        )
    response = alice_client.post(
        url, {"action": "contact_start", "kind": "email", "email-value": "a9@x.example"}
    )
    assert response.status_code == 429


def test_a_customer_cannot_confirm_another_customers_change(client, alice, bob):
    bob_change = ContactVerification.objects.create(
        customer=bob,
        kind="email",
        value="x@bob.example",
        code_hash="x",
        expires_at="2099-01-01T00:00Z",
    )
    client.force_login(alice.user)
    session = client.session
    session["notices.contact_pending"] = {"email": str(bob_change.public_id)}
    session.save()
    response = client.post(
        reverse("notices:preferences"),
        {"action": "contact_confirm", "kind": "email", "email-confirm-code": "123456"},
    )
    assert response.status_code in (400, 404)
    bob.refresh_from_db()
    assert bob.email != "x@bob.example"


# --- account --------------------------------------------------------------------------


def test_account_lists_sessions_and_ends_the_others(alice):
    here, there = Client(), Client()
    for client in (here, there):
        client.force_login(alice.user)
        UserSession.objects.create(
            user=alice.user,
            ip="203.0.113.9",
            session_key=client.session.session_key,
            user_agent="Test browser",
        )
    html = here.get(reverse("customers:account")).content.decode()
    assert html.count("Test browser") == 2 and "this browser" in html
    response = here.post(reverse("customers:end_other_sessions"))
    assert response["Location"] == reverse("customers:account")
    assert here.get(reverse("customers:dashboard")).status_code == 200
    assert there.get(reverse("customers:dashboard")).status_code == 302


def test_account_shows_only_the_signed_in_customer(alice_client, bob):
    html = alice_client.get(reverse("customers:account")).content.decode()
    assert bob.customer_ref not in html and bob.email not in html


def test_every_error_on_a_field_is_read_with_it(alice_client):
    response = alice_client.post(
        reverse("account_change_password"),
        {"oldpassword": "correct-horse-battery", "password1": "123", "password2": "123"},
    )
    html = response.content.decode()
    field = re.search(r'<input[^>]*name="password1"[^>]*>', html).group(0)
    described = re.search(r'aria-describedby="([^"]+)"', field).group(1).split()
    error_id = next(d for d in described if d.endswith("_error"))
    assert html.count(f'id="{error_id}"') == 1
    errors = re.search(rf'<ul class="errorlist" id="{error_id}">(.*?)</ul>', html).group(1)
    assert errors.count("<li>") >= 2
    assert "too short" in errors and "entirely numeric" in errors


def test_every_error_on_a_choice_group_is_read_with_it():
    from django import forms
    from django.template.loader import render_to_string

    class ChannelForm(forms.Form):
        channel = forms.ChoiceField(choices=[("sms", "SMS")], widget=forms.RadioSelect)

    form = ChannelForm({})
    form.add_error("channel", "A second problem.")
    html = render_to_string("includes/choice_group.html", {"field": form["channel"]})
    described = re.search(r'<fieldset[^>]*aria-describedby="([^"]*)"', html).group(1)
    assert described.split() == ["id_channel_error"]
    assert html.count('id="id_channel_error"') == 1
    errors = re.search(r'<ul class="errorlist" id="id_channel_error">(.*?)</ul>', html).group(1)
    assert "This field is required." in errors and "A second problem." in errors


def test_the_error_summary_links_a_choice_group_to_its_first_choice(alice_client):
    response = alice_client.post(
        reverse("notices:preferences"), {"action": "preferences", "preferred_language": "xx"}
    )
    html = response.content.decode()
    summary = re.search(r'<div class="banner banner-error error-summary".*?</div>', html, re.S)
    target = re.search(r'<a href="#([^"]*)">', summary.group(0)).group(1)
    assert target == "id_preferred_language_0"
    assert f'<input type="radio" name="preferred_language" value="en" id="{target}"' in html


def test_the_error_summary_puts_french_spacing_before_its_colons(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = client.post(reverse("customers:claim"), {"email": "not-an-email"}).content.decode()
    summary = re.search(r'<div class="banner banner-error error-summary".*?</div>', html, re.S)
    links = re.findall(r'<li><a href="#id_\w+">([^<]*)</a></li>', summary.group(0))
    # A no-break space: the colon never starts a line on its own.
    assert links and all("\u00a0: " in text for text in links), links


def test_step_buttons_name_their_step_with_french_spacing(alice_client, settings):
    alice_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    assert 'Marquer comme fait<span class="visually-hidden">\u00a0: ' in html
    assert '<span class="visually-hidden">: ' not in html

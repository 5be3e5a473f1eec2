from __future__ import annotations

import re

import pytest
from django.urls import reverse

from customers.models import StepProgress

pytestmark = pytest.mark.django_db


def test_dashboard_needs_a_login(client):
    response = client.get(reverse("customers:dashboard"))
    assert response.status_code == 302
    assert reverse("account_request_login_code") in response["Location"]


def test_dashboard_answers_first_then_shows_masked_fields(alice_client):
    response = alice_client.get(reverse("customers:dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your passport number and date of birth were exposed." in html
    assert "•••• 821" in html
    assert "Decide whether to replace your passport" in html


def test_customer_cannot_see_another_customers_exposure(alice_client, bob):
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    assert "Driver&#x27;s licence number" not in html
    assert bob.exposures.get().fields["drivers_licence_number"] not in html
    assert bob.customer_ref not in html


def test_not_affected_customer_is_told_so(client, incident):
    from tests.factories import CustomerFactory, UserFactory

    user = UserFactory()
    CustomerFactory(user=user, email=user.email)
    client.force_login(user)
    html = client.get(reverse("customers:dashboard")).content.decode()
    assert "Your data was not affected." in html


def test_ticking_a_step_saves_progress_without_javascript(alice_client, alice):
    url = reverse("customers:step_toggle", args=["passport-decide-replace"])
    response = alice_client.post(url, {"done": "1", "incident": "customer-data-breach"})
    assert response.status_code == 302
    assert response["Location"].endswith("#step-customer-data-breach-passport-decide-replace")
    assert StepProgress.objects.filter(
        customer=alice, step__code="passport-decide-replace"
    ).exists()
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    assert "1 of" in html and "Mark as not done" in html
    alice_client.post(url, {"done": "0"})
    assert not StepProgress.objects.filter(customer=alice).exists()


def test_a_step_shown_under_two_incidents_has_an_anchor_in_each(alice_client, alice):
    from customers.masking import mask_value
    from tests.factories import ExposureFactory, IncidentFactory

    second = IncidentFactory(slug="billing-intrusion")
    passport = {"passport_number": mask_value("passport_number", "PA7654321")}
    ExposureFactory(incident=second, customer=alice, fields=passport)
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    ids = re.findall(r'<li id="(step-[^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert "step-billing-intrusion-passport-decide-replace" in ids
    assert "step-customer-data-breach-passport-decide-replace" in ids
    url = reverse("customers:step_toggle", args=["passport-decide-replace"])
    response = alice_client.post(url, {"done": "1", "incident": "billing-intrusion"})
    assert response["Location"].endswith("#step-billing-intrusion-passport-decide-replace")


def test_a_step_toggle_names_no_anchor_it_was_not_given(alice_client):
    url = reverse("customers:step_toggle", args=["passport-decide-replace"])
    for junk in ("", "a b", "x" * 51, "<script>", "é"):
        response = alice_client.post(url, {"done": "1", "incident": junk})
        assert response["Location"] == reverse("customers:dashboard")


def test_a_step_that_is_not_yours_is_a_404(alice_client, bob):
    url = reverse("customers:step_toggle", args=["licence-check-state-rules"])
    assert alice_client.post(url, {"done": "1"}).status_code == 404
    assert not StepProgress.objects.exists()


def test_step_toggle_refuses_get(alice_client):
    url = reverse("customers:step_toggle", args=["passport-decide-replace"])
    assert alice_client.get(url).status_code == 405


@pytest.mark.parametrize("name", ["customers:dashboard", "notices:messages", "notices:preferences"])
def test_a_login_without_customer_record_gets_a_plain_page(client, name):
    # Every page of the signed-in menu says so, none a "page not found".
    from tests.factories import StaffFactory

    client.force_login(StaffFactory())
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert "could not find a customer record" in response.content.decode()


def test_dashboard_in_french(alice_client, alice):
    alice_client.post(reverse("customers:set_language"), {"language": "fr", "next": "/dashboard/"})
    alice.refresh_from_db()
    assert alice.preferred_language == "fr"
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    assert "Numéro de passeport" in html
    assert "Décidez si vous remplacez votre passeport" in html


def test_the_headline_keeps_acronyms_and_proper_nouns(client, incident, settings):
    import re
    from html import unescape

    from tests.factories import CustomerFactory, ExposureFactory, UserFactory

    def headline() -> str:
        html = client.get(reverse("customers:dashboard")).content.decode()
        return unescape(re.search(r'<h2 class="banner-title">(.*?)</h2>', html, re.S).group(1))

    user = UserFactory()
    customer = CustomerFactory(user=user, email=user.email)
    fields = {"medicare_number": "•••• 1234", "bank_account": "•••• 5678"}
    ExposureFactory(incident=incident, customer=customer, fields=fields)
    client.force_login(user)
    english = headline()
    assert "Medicare (health card) number" in english
    assert "bank account number (IBAN)" in english
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert "numéro de compte bancaire (IBAN)" in headline()


def _close(incident, when):
    from customers.models import Incident
    from customers.services import incident_close
    from tests.factories import StaffFactory

    incident_close(incident=incident, by=StaffFactory())
    Incident.objects.filter(pk=incident.pk).update(closed_at=when)


@pytest.mark.parametrize(
    ("language", "closed", "date"),
    [
        ("en", "This incident was closed on", "March 3, 2026"),
        ("fr", "Cet incident a été clos le", "3 mars 2026"),
    ],
)
def test_a_closed_incident_says_so_and_since_when_and_keeps_its_steps(
    client, alice, incident, language, closed, date
):
    from datetime import UTC, datetime

    _close(incident, datetime(2026, 3, 3, 9, 30, tzinfo=UTC))
    client.force_login(alice.user)
    html = client.get(
        reverse("customers:dashboard"), headers={"Accept-Language": language}
    ).content.decode()
    section = re.search(r'<section class="incident".*?</section>', html, re.S).group(0)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))
    # Said in words, not by a colour: the heading and a dated sentence.
    assert ("Closed" if language == "en" else "Clos") in re.search(
        r"<h2.*?</h2>", section, re.S
    ).group(0)
    assert f"{closed} {date}" in text
    assert '<time datetime="2026-03-03">' in section
    assert "•••• 821" in section  # what was exposed, and the steps, still shown
    assert 'id="step-customer-data-breach-passport-decide-replace"' in section


def test_an_active_incident_says_nothing_of_closing(alice_client):
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    assert "closed on" not in html and "badge-closed" not in html


def test_a_closed_incident_without_a_date_still_says_it_is_closed(alice_client, alice, incident):
    from customers.models import Incident

    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.CLOSED)
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    assert "This incident is closed." in html and "closed on" not in html


def test_a_closed_incident_shows_only_the_signed_in_customers_data(alice_client, bob, incident):
    from datetime import UTC, datetime

    _close(incident, datetime(2026, 3, 3, 9, 30, tzinfo=UTC))
    html = alice_client.get(reverse("customers:dashboard")).content.decode()
    assert "This incident was closed on" in html
    assert bob.exposures.get().fields["drivers_licence_number"] not in html
    assert bob.customer_ref not in html and "Bob" not in html

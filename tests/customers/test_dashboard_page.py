"""The dashboard page is rendered once per shape and filled in per customer:
each customer still sees only their own values, escaped, with a working form."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import Client
from django.urls import reverse

from customers import dashboard_page
from customers.masking import mask_value
from customers.models import Exposure, Step
from portal import generations
from tests.conftest import _customer_with_login

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("customers:dashboard")


def _passport_customer(name: str, ref: str, incident, passport: str):
    return _customer_with_login(
        name, ref, incident, {"passport_number": mask_value("passport_number", passport)}
    )


def _client(customer, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(customer.user)
    return client


@pytest.fixture
def renders(monkeypatch) -> list:
    """One entry per full render of the dashboard template."""
    calls: list = []
    real_render = dashboard_page.render_to_string
    monkeypatch.setattr(
        dashboard_page,
        "render_to_string",
        lambda *a, **k: calls.append(1) or real_render(*a, **k),
    )
    return calls


def test_customers_of_one_shape_share_a_page_but_see_their_own_values(incident, renders):
    carol = _passport_customer("carol", "C0000003", incident, "PA7777111")
    dave = _passport_customer("dave", "D0000004", incident, "PA8888222")
    carol_page = _client(carol).get(DASHBOARD).content.decode()
    dave_page = _client(dave).get(DASHBOARD).content.decode()

    assert len(renders) == 1  # one shape, one render
    assert "Hello Carol" in carol_page and "•••• 111" in carol_page
    assert "Hello Dave" in dave_page and "•••• 222" in dave_page
    # The masked forms, not bare digits: a timestamp's microseconds can hold any three.
    assert "Carol" not in dave_page and "•••• 111" not in dave_page
    assert "Dave" not in carol_page and "•••• 222" not in carol_page
    assert "\x00" not in carol_page + dave_page


def test_a_different_shape_is_a_different_page(alice, bob):
    alice_page = _client(alice).get(DASHBOARD).content.decode()
    bob_page = _client(bob).get(DASHBOARD).content.decode()
    assert "Passport number" in alice_page and "Passport number" not in bob_page
    assert "licence" in bob_page and "licence" not in alice_page


def test_values_are_escaped(incident):
    mallory = _passport_customer("mallory", "M0000005", incident, "PA1234567")
    mallory.first_name = "<script>alert(1)</script>"
    mallory.save()
    Exposure.objects.filter(customer=mallory).update(fields={"passport_number": "<b>x</b>"})
    page = _client(mallory).get(DASHBOARD).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_the_shared_page_carries_this_requests_csrf_token(alice):
    client = _client(alice, enforce_csrf_checks=True)
    page = client.get(DASHBOARD).content.decode()
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page))
    assert len(tokens) == 1
    step = Step.objects.get(code="passport-decide-replace")
    response = client.post(
        reverse("customers:step_toggle", args=[step.code]),
        {"done": "1", "csrfmiddlewaretoken": tokens.pop()},
    )
    assert response.status_code == 302
    assert "1 of" in client.get(DASHBOARD).content.decode()


def test_ticking_a_step_changes_the_shape(alice):
    client = _client(alice)
    assert "0 of 4 recommended steps done" in client.get(DASHBOARD).content.decode()
    client.post(reverse("customers:step_toggle", args=["passport-decide-replace"]), {"done": "1"})
    assert "1 of 4 recommended steps done" in client.get(DASHBOARD).content.decode()


def test_a_flash_message_is_filled_into_the_shared_page_once(alice, rf, renders):
    client = _client(alice)
    client.get(DASHBOARD)  # the shape's page is cached
    storage = CookieStorage(rf.get("/"))
    client.cookies["messages"] = storage._encode([Message(constants.SUCCESS, "Saved for you.")])
    response = client.get(DASHBOARD)
    assert "Saved for you." in response.content.decode()
    assert "Saved for you." not in client.get(DASHBOARD).content.decode()  # shown once
    assert len(renders) == 1 and 'class="messages"' in response.content.decode()


def test_a_staff_edit_shows_on_the_next_view(alice, incident, django_capture_on_commit_callbacks):
    client = _client(alice)
    assert "Cyber attack on customer records" in client.get(DASHBOARD).content.decode()
    before = generations.current()
    with django_capture_on_commit_callbacks(execute=True):
        incident.title = "Unauthorised access to customer records"
        incident.save()
    assert generations.current() > before
    page = client.get(DASHBOARD).content.decode()
    assert "Unauthorised access to customer records" in page


def test_a_staff_edit_landing_mid_request_is_not_stored_as_the_new_content(
    alice, incident, monkeypatch
):
    from django.core.cache import cache

    from customers import selectors
    from customers.models import Incident

    client = _client(alice)
    client.get(DASHBOARD)  # copies and page under the current generation
    real = selectors.dashboard_for_user

    def edit_lands_meanwhile(user):
        found = real(user)  # built from this process's copies
        Incident.objects.filter(pk=incident.pk).update(title="Unauthorised access to records")
        cache.incr(generations.KEY)  # another process's edit, committed
        generations.forget()  # this process's next look at the counter sees it
        return found

    monkeypatch.setattr(selectors, "dashboard_for_user", edit_lands_meanwhile)
    client.get(DASHBOARD)
    monkeypatch.setattr(selectors, "dashboard_for_user", real)
    assert "Unauthorised access to records" in client.get(DASHBOARD).content.decode()


def test_text_in_the_content_cannot_name_a_placeholder(alice):
    from customers.selectors import taxonomy

    # PostgreSQL refuses NUL in text and forms refuse it anywhere; put it in this
    # process's copy of the steps, as text saved some other way on SQLite could be.
    for step in taxonomy()["passport_number"].steps.all():
        step.link_url = "https://example.com/?t=\x00csrf\x00&m=\x00m0\x00"
    page = _client(alice).get(DASHBOARD).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    link = re.search(r'href="(https://example.com/[^"]*)"', page)[1]
    assert token not in link and "4821" not in link


@pytest.mark.parametrize(
    ("stored", "href"),
    [
        ("/help/?a=1&b=2", "/help/?a=1&amp;b=2"),
        ("mailto:privacy@example.com", "mailto:privacy@example.com"),
        ("tel:+61299990000", "tel:+61299990000"),
        ('/help/"onmouseover="x', "/help/&quot;onmouseover=&quot;x"),
    ],
)
def test_a_steps_link_to_the_portal_or_a_contact_is_shown_escaped(alice, stored, href):
    step = Step.objects.get(code="passport-decide-replace")
    step.link_url = stored
    step.save()
    generations.bump()
    page = _client(alice).get(DASHBOARD).content.decode()
    assert f'<a href="{href}" rel="noopener">' in page


@pytest.mark.parametrize(
    "stored", ["javascript:alert(1)", " JavaScript:alert(1)", "java\nscript:x"]
)
def test_a_step_link_that_could_run_script_is_not_shown(alice, stored):
    # Staff cannot save one; a row written some other way still never reaches a page.
    step = Step.objects.get(code="passport-decide-replace")
    step.link_url = stored
    step.save()
    generations.bump()
    page = _client(alice).get(DASHBOARD).content.decode()
    assert "script:" not in page.lower().replace("<script", "")
    assert "passport-decide-replace" in page  # the step itself still shows


def test_last_updated_is_formatted_in_each_visitors_language(alice):
    """The formatted times are kept per process: the language is part of the key."""
    english = _client(alice).get(DASHBOARD).content.decode()
    french = _client(alice, headers={"Accept-Language": "fr"}).get(DASHBOARD).content.decode()
    english_when = re.search(r"<time datetime=\"([^\"]+)\">([^<]+)</time>", english)
    french_when = re.search(r"<time datetime=\"([^\"]+)\">([^<]+)</time>", french)
    assert english_when.group(1) == french_when.group(1)  # the same moment
    assert english_when.group(2) != french_when.group(2)  # shown two ways
    assert dashboard_page._formatted.cache_info().currsize >= 2


def test_closing_an_incident_shows_on_the_next_view(
    alice, incident, django_capture_on_commit_callbacks
):
    from customers.services import incident_close
    from tests.factories import StaffFactory

    client = _client(alice)
    assert "This incident was closed on" not in client.get(DASHBOARD).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        incident_close(incident=incident, by=StaffFactory())
    page = client.get(DASHBOARD).content.decode()
    assert "This incident was closed on" in page and "•••• 821" in page

"""The two pages of a sign-in by code are rendered once per process and filled in
per request: every visitor gets the page a full render would give, with their
own CSRF token and email address, and anything unusual is rendered in full."""

from __future__ import annotations

import re

import pytest
from django.contrib import messages
from django.template.backends.django import Template
from django.template.response import TemplateResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from portal import prerender
from tests.customers.test_signin import CONFIRM, code_from_outbox
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

REQUEST = reverse("account_request_login_code")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def renders(monkeypatch):
    """Names of the templates rendered, in order."""
    seen: list[str] = []
    real = Template.render

    def counting(self, context=None, request=None):
        seen.append(self.template.name)
        return real(self, context, request)

    monkeypatch.setattr(Template, "render", counting)
    return seen


def _without_tokens(page: str) -> str:
    return TOKEN.sub("", page)


def test_the_request_page_is_rendered_once_and_is_what_a_full_render_gives(renders):
    first, second = Client(), Client()
    page_one = first.get(REQUEST).content.decode()
    page_two = second.get(REQUEST).content.decode()
    assert renders.count("account/request_login_code.html") == 1

    prerender.clear()
    full = Client().get(f"{REQUEST}?full=1").content.decode()  # a query string: rendered in full
    assert renders.count("account/request_login_code.html") == 2
    assert _without_tokens(page_one) == _without_tokens(page_two)
    assert _without_tokens(page_two).replace("/?full=1", "/") == _without_tokens(full).replace(
        "?full=1", ""
    )
    assert "\x00" not in page_one + page_two
    assert TOKEN.search(page_one).group(1) != TOKEN.search(page_two).group(1)


def test_each_visitor_signs_in_with_their_own_token_and_sees_their_own_email(
    django_capture_on_commit_callbacks, renders
):
    CustomerFactory(email="jane@example.com")
    CustomerFactory(email="omar@example.com")
    pages = {}
    for email in ("jane@example.com", "omar@example.com"):
        client = Client(enforce_csrf_checks=True)
        token = TOKEN.search(client.get(REQUEST).content.decode()).group(1)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(REQUEST, {"email": email, "csrfmiddlewaretoken": token})
        assert response.status_code == 302
        page = client.get(CONFIRM).content.decode()
        pages[email] = page
        token = TOKEN.search(page).group(1)
        response = client.post(CONFIRM, {"code": code_from_outbox(), "csrfmiddlewaretoken": token})
        assert response.status_code == 302 and response["Location"] == reverse(
            "customers:dashboard"
        )

    assert renders.count("account/confirm_login_code.html") == 1
    # Each page names its visitor's address ("If … is on our records").
    assert "If jane@example.com is on our records" in pages["jane@example.com"]
    assert "omar@example.com" not in pages["jane@example.com"]
    assert "omar@example.com" in pages["omar@example.com"]
    assert "jane@example.com" not in pages["omar@example.com"]


def test_each_language_has_its_own_copy(renders):
    english = Client().get(REQUEST).content.decode()
    french = Client(headers={"Accept-Language": "fr"}).get(REQUEST).content.decode()
    assert "Email me a code" in english and "Email me a code" not in french
    assert renders.count("account/request_login_code.html") == 2


def test_a_page_with_a_bound_form_is_rendered_in_full(renders):
    client = Client()
    client.get(REQUEST)
    response = client.post(REQUEST, {"email": "not an address"})  # the form with its error
    assert response.status_code == 400 and "aria-invalid" in response.content.decode()
    assert renders.count("account/request_login_code.html") == 2


def _view_with(context: dict, message: str = ""):
    def view(request):
        if message:
            messages.info(request, message)
        return TemplateResponse(request, "portal/prerender_test.html", context)

    return view


@pytest.fixture
def template_dir(tmp_path, settings):
    folder = tmp_path / "portal"
    folder.mkdir()
    (folder / "prerender_test.html").write_text(
        "<p>{{ greeting }} {{ email }}</p>{% include 'includes/messages.html' %}"
        "<form>{% csrf_token %}</form>"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]


def _get(view, user=None, **extra):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.cache import SessionStore

    request = RequestFactory().get("/probe", **extra)
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    from django.contrib.auth.models import AnonymousUser

    request.user = user or AnonymousUser()
    response = view(request)
    return response.render() if not response.is_rendered else response


def test_filled_values_are_escaped(template_dir):
    view = prerender.prerendered(_view_with({"email": "<b>x</b>@example.com"}), fills=("email",))
    page = _get(view).content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;@example.com" in page and "<b>" not in page


def test_what_differs_outside_the_fills_makes_another_copy(template_dir, renders):
    hello = prerender.prerendered(_view_with({"greeting": "Hello"}))
    bonjour = prerender.prerendered(_view_with({"greeting": "Bonjour"}))
    assert "Hello" in _get(hello).content.decode()
    assert "Bonjour" in _get(bonjour).content.decode()
    assert "Hello" in _get(hello).content.decode()
    assert renders.count("portal/prerender_test.html") == 2


def test_a_context_it_cannot_compare_is_rendered_in_full(template_dir, renders):
    odd = prerender.prerendered(_view_with({"greeting": object()}))
    _get(odd), _get(odd)
    assert renders.count("portal/prerender_test.html") == 2


def test_flash_messages_are_filled_in_for_their_visitor_only(template_dir, renders):
    told = prerender.prerendered(_view_with({"greeting": "Hi"}, message="Saved <b>now</b>"))
    quiet = prerender.prerendered(_view_with({"greeting": "Hi"}))
    with_message = _get(told).content.decode()
    without = _get(quiet).content.decode()
    assert "Saved &lt;b&gt;now&lt;/b&gt;" in with_message and 'class="messages"' in with_message
    assert "Saved" not in without and 'class="messages"' not in without
    assert renders.count("portal/prerender_test.html") == 1


def test_signed_in_visitors_public_pages_and_bound_forms_are_rendered_in_full(
    template_dir, renders
):
    from django import forms

    from tests.factories import UserFactory

    class Probe(forms.Form):
        name = forms.CharField()

    user = UserFactory()
    plain = prerender.prerendered(_view_with({"greeting": "Hi"}))
    _get(plain, user=user), _get(plain, user=user)
    public = prerender.prerendered(_view_with({"greeting": "Hi", "public_page": True}))
    _get(public), _get(public)
    bound = prerender.prerendered(_view_with({"form": Probe({"name": "Ann"})}))
    _get(bound), _get(bound)
    assert renders.count("portal/prerender_test.html") == 6

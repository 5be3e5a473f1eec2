"""Public pages: the language switch sticks, without JavaScript, and the shared
cached copies follow the language the visitor chose."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

SWITCH = re.compile(r'<p class="language-switch"><a href="([^"]+)" lang="fr"')


def french_link(html: str) -> str:
    return SWITCH.search(html).group(1).replace("&amp;", "&")


def test_switching_on_the_home_page_keeps_every_page_in_french(client, incident):
    home = client.get(reverse("home")).content.decode()
    response = client.get(french_link(home))
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    for name in ("home", "notices:index", "account_request_login_code"):
        html = client.get(reverse(name)).content.decode()
        assert '<html lang="fr">' in html, name
    assert "Se connecter" in client.get(reverse("account_request_login_code")).content.decode()


def test_the_switch_goes_back_to_the_page_without_its_lang_parameter(client):
    url = reverse("switch_language", args=["en"])
    response = client.get(url, {"next": "/notices/?lang=fr&page=2"})
    assert response["Location"] == "/notices/?page=2"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:x"])
def test_the_switch_never_leaves_the_site(client, target):
    response = client.get(reverse("switch_language", args=["fr"]), {"next": target})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_an_unknown_language_is_a_404(client):
    assert client.get(reverse("switch_language", args=["de"])).status_code == 404
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


def test_the_cached_copy_follows_the_language_cookie(client, incident):
    from django.test import Client

    english = client.get(reverse("home")).content.decode()  # now cached in English
    french_visitor = Client()
    french_visitor.get(french_link(english))
    html = french_visitor.get(reverse("home")).content.decode()
    assert '<html lang="fr">' in html
    assert '<html lang="en">' in client.get(reverse("home")).content.decode()


def test_signed_in_readers_switch_with_the_form_that_remembers_it(alice_client):
    html = alice_client.get(reverse("notices:index")).content.decode()
    assert f'action="{reverse("customers:set_language")}"' in html
    assert 'class="language-switch"><a' not in html


def test_signing_out_says_so_on_the_cached_home_page(client, alice):
    client.get(reverse("home"))  # the shared copy exists
    client.force_login(alice.user)
    page = client.post(reverse("account_logout"), follow=True)
    assert page.redirect_chain[-1][0] == reverse("home")
    assert "You have signed out." in page.content.decode()
    # Shown once: the next visit gets the shared copy again, with no message.
    assert "You have signed out." not in client.get(reverse("home")).content.decode()


def test_a_visitors_message_never_reaches_the_shared_copy(client, alice):
    from django.test import Client

    client.force_login(alice.user)
    client.post(reverse("account_logout"))
    client.get(reverse("home"))  # shown to them, rendered for them alone
    other = Client().get(reverse("home")).content.decode()
    assert "You have signed out." not in other


def test_a_page_that_queues_a_message_is_not_stored_as_the_shared_copy(rf):
    from django.contrib import messages
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.cache import SessionStore
    from django.core.cache import cache
    from django.http import HttpResponse

    from portal.public_pages import cached_for_visitors

    @cached_for_visitors
    def page(request):
        messages.info(request, "Only for you.")
        return HttpResponse("rendered")

    request = rf.get("/some-public-page/")
    request.user, request.session = AnonymousUser(), SessionStore()
    request._messages = FallbackStorage(request)
    key = "public-page:en:/some-public-page/:"  # portal.public_pages.cached_for_visitors
    cache.delete(key)
    assert page(request).content == b"rendered"
    assert cache.get(key) is None

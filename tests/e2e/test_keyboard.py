"""The customer pages with a keyboard alone, in a real browser: the first Tab
offers the skip link, every control shows where the focus is (WCAG 2.4.7), and
a recommended step can be ticked off without a mouse."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from customers.models import StepProgress
from tests.e2e.a11y import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

MAX_TABS = 80  # more stops than any customer page has: a focus trap fails, not hangs

# What the page shows of the focused element: its name, whether it is on screen,
# and whether anything marks it (an outline or a ring).
_FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(),
    id: el.id,
    text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim(),
    onScreen: box.width > 0 && box.height > 0 && box.right > 0 && box.left < innerWidth,
    marked: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2)
      || style.boxShadow !== 'none',
  };
}"""


@pytest.fixture
def tab(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    yield context.new_page()
    context.close()


def _sign_in(page: Page, user, base_url: str) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.session.session_key,
                "url": base_url,
            }
        ]
    )


def _focused(page: Page) -> dict:
    return page.evaluate(_FOCUSED)


def _tab_through(page: Page) -> list[dict]:
    """Every stop of the page's tab order, from the top, once."""
    page.locator("body").focus()
    stops: list[dict] = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        stop = _focused(page)
        if stop["tag"] == "body" or (stops and stop == stops[0]):
            return stops  # past the last control, or round again
        stops.append(stop)
    raise AssertionError(f"still tabbing after {MAX_TABS} stops: {stops[-5:]}")


def test_the_first_tab_offers_the_skip_link_and_it_moves_focus_to_the_content(tab, live_server):
    tab.goto("/")
    tab.keyboard.press("Tab")
    first = _focused(tab)
    assert first["text"] == "Skip to main content"
    assert first["onScreen"] and first["marked"]
    tab.keyboard.press("Enter")
    assert _focused(tab)["id"] == "main"
    # The next Tab goes on from the content, past the header's links.
    tab.keyboard.press("Tab")
    assert tab.evaluate("() => document.getElementById('main').contains(document.activeElement)")


@pytest.mark.parametrize("path", ["/dashboard/", "/preferences/", "/account/", "/verify"])
def test_every_control_shows_where_the_focus_is(tab, live_server, alice, path):
    _sign_in(tab, alice.user, live_server.url)
    tab.goto(path)
    stops = _tab_through(tab)
    assert len(stops) > 5
    unmarked = [stop for stop in stops if not (stop["onScreen"] and stop["marked"])]
    assert not unmarked, unmarked


def test_a_step_is_ticked_off_with_the_keyboard_alone(tab, live_server, alice):
    _sign_in(tab, alice.user, live_server.url)
    tab.goto("/dashboard/")
    for _ in range(MAX_TABS):
        tab.keyboard.press("Tab")
        if _focused(tab)["text"].startswith("Mark as done"):
            break
    else:
        raise AssertionError("no step button in the tab order")
    tab.keyboard.press("Enter")
    expect(tab.locator(".progress-text").first).to_contain_text("1 of")
    assert StepProgress.objects.filter(customer=alice).count() == 1

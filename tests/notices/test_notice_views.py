"""Notice pages, the feed and who sees what."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import CustomerFactory, ExposureFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


def published(notice):
    notice.status, notice.published_at = "published", timezone.now()
    notice.save()
    return notice


def test_visitors_see_public_notices_only(client, make_notice):
    public = published(make_notice(title="Public notice"))
    published(make_notice(title="For customers", audience="customers"))
    make_notice(title="Draft notice")
    html = client.get(reverse("notices:index")).content.decode()
    assert "Public notice" in html and "For customers" not in html and "Draft notice" not in html
    assert client.get(public.get_absolute_url()).status_code == 200


def test_hidden_notices_are_404_not_403(client, make_notice):
    for notice in (make_notice(), published(make_notice(audience="customers"))):
        assert client.get(notice.get_absolute_url()).status_code == 404


def test_customers_see_notices_for_their_incidents(client, make_notice, alice, incident):
    mine = published(make_notice(title="For the affected", audience="affected"))
    other_incident = IncidentFactory(slug="other")
    theirs = published(
        make_notice(title="Another incident", audience="affected", incident=other_incident)
    )
    everyone = published(make_notice(title="All customers", audience="customers"))
    client.force_login(alice.user)
    html = client.get(reverse("notices:index")).content.decode()
    assert "For the affected" in html and "All customers" in html
    assert "Another incident" not in html
    assert client.get(mine.get_absolute_url()).status_code == 200
    assert client.get(everyone.get_absolute_url()).status_code == 200
    assert client.get(theirs.get_absolute_url()).status_code == 404
    dashboard = client.get(reverse("customers:dashboard")).content.decode()
    assert "For the affected" in dashboard and "Another incident" not in dashboard


def test_a_customer_not_affected_does_not_see_affected_only_notices(client, make_notice, incident):
    notice = published(make_notice(audience="affected"))
    user = UserFactory()
    CustomerFactory(user=user, email=user.email)
    client.force_login(user)
    assert client.get(notice.get_absolute_url()).status_code == 404


def test_notice_page_has_previews_dates_share_and_french(client, make_notice, incident, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    notice = published(
        make_notice(title="Cyber attack: what to do", summary="Names and dates of birth.")
    )
    html = client.get(notice.get_absolute_url()).content.decode()
    assert '<meta property="og:title" content="Cyber attack: what to do">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    canonical = f"https://portal.example.com{notice.get_absolute_url()}?lang=en"
    assert f'og:url" content="{canonical}"' in html
    assert "Date we discovered it" in html and "data-share" in html
    assert "<h2>What happened</h2>" in html
    french = client.get(notice.get_absolute_url() + "?lang=fr").content.decode()
    assert "<h2>Ce qui s&#x27;est passé</h2>" in french or "<h2>Ce qui s'est passé</h2>" in french
    assert '<html lang="fr">' in french


def test_the_link_to_pass_on_never_comes_from_the_host_header(client, make_notice, settings):
    # One rendering is cached for every visitor: a request naming another host
    # the site answers to must not put that host in everyone's share link.
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    notice = published(make_notice())
    client.get(notice.get_absolute_url(), HTTP_HOST="127.0.0.1")
    html = client.get(notice.get_absolute_url()).content.decode()
    shared = f"https://portal.example.com{notice.get_absolute_url()}?lang=en"
    assert f'<input id="share-url" type="text" readonly value="{shared}">' in html
    assert f'<link rel="canonical" href="{shared}">' in html
    assert "127.0.0.1" not in html


@pytest.mark.parametrize("audience", ["customers", "affected"])
def test_a_notice_for_customers_only_offers_no_link_to_pass_on(
    client, make_notice, alice, audience
):
    """Whoever the link is passed to would find a 404 (not signed in, or not affected)."""
    notice = published(make_notice(audience=audience))
    client.force_login(alice.user)
    response = client.get(notice.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-share" not in html and "Pass it on" not in html


def test_titles_are_escaped_everywhere(client, make_notice):
    notice = published(
        make_notice(title='<script>alert("x")</script>', summary='"><img src=x onerror=alert(1)>')
    )
    html = client.get(notice.get_absolute_url()).content.decode()
    assert '<script>alert("x")</script>' not in html and "<img src=x" not in html
    feed = client.get(reverse("notices:feed")).content.decode()
    assert "<script>" not in feed


def test_the_public_page_is_served_from_the_cache(client, make_notice, django_assert_num_queries):
    notice = published(make_notice())
    client.get(notice.get_absolute_url())
    with django_assert_num_queries(0):
        response = client.get(notice.get_absolute_url())
    assert response.status_code == 200 and b"Notice" in response.content
    assert "csrfmiddlewaretoken" not in response.content.decode()


def test_each_page_of_the_index_is_cached_apart_and_noise_is_not_cached(
    client, make_notice, monkeypatch
):
    from portal import public_pages

    stored: list[str] = []
    shared = public_pages.cache

    class RecordingCache:
        get = staticmethod(shared.get)

        @staticmethod
        def set(key, *args, **kwargs):
            stored.append(key)
            shared.set(key, *args, **kwargs)

    monkeypatch.setattr(public_pages, "cache", RecordingCache)
    for n in range(25):
        published(make_notice(title=f"Numbered {n:02d}"))
    index = reverse("notices:index")
    first, second = client.get(index), client.get(index, {"page": 2})
    assert first.content != second.content
    assert client.get(index, {"page": 2}).content == second.content
    assert len(stored) == 2 and stored[0] != stored[1]
    client.get(index, {"utm": "x"})
    client.get(index, {"page": 3, "x": "y"})
    assert len(stored) == 2


def test_atom_feed_lists_public_notices_in_the_language_asked(client, make_notice):
    public = published(make_notice(title="In the feed", title_fr="Dans le flux"))
    hidden = published(make_notice(title="Not in the feed", audience="customers"))
    response = client.get(reverse("notices:feed") + "?lang=fr")
    body = response.content.decode()
    assert response["Content-Type"].startswith("application/atom+xml")
    assert "Dans le flux" in body and f"{public.get_absolute_url()}?lang=fr" in body
    assert hidden.slug not in body and "In the feed" not in body


def test_the_feeds_links_are_our_address_never_the_host_header(client, make_notice, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    notice = published(make_notice())
    body = client.get(reverse("notices:feed"), HTTP_HOST="127.0.0.1").content.decode()
    assert f'href="https://portal.example.com{notice.get_absolute_url()}?lang=en"' in body
    assert 'href="https://portal.example.com/notices/feed.atom"' in body
    assert "127.0.0.1" not in body


def test_unpublished_notice_page_is_404(client, make_notice):
    assert client.get(reverse("notices:notice", args=["nope"])).status_code == 404


def test_exposure_in_another_incident_does_not_open_affected_notices(client, make_notice, bob):
    other = IncidentFactory(slug="elsewhere")
    notice = published(make_notice(audience="affected", incident=other))
    ExposureFactory(incident=IncidentFactory(slug="third"), customer=bob)
    client.force_login(bob.user)
    assert client.get(notice.get_absolute_url()).status_code == 404


def test_customer_pages_pick_their_notices_from_a_short_lived_list(
    client, make_notice, alice, bob, settings, django_assert_num_queries
):
    from notices.templatetags.notices_tags import latest_notices, recent_notices
    from portal import generations

    settings.RECENT_NOTICES_SECONDS = 60
    generations.forget()
    public = published(make_notice(title="For everyone"))
    customers_only = published(make_notice(title="For customers", audience="customers"))
    other = IncidentFactory(slug="elsewhere")
    theirs = published(make_notice(title="For the affected", audience="affected"))
    not_theirs = published(make_notice(title="Other incident", audience="affected", incident=other))
    recent_notices()
    affected = [alice.exposures.get().incident_id]
    with django_assert_num_queries(0):
        visitor = latest_notices({}, None, None, count=10)["notices"]
        customer = latest_notices({}, alice, affected, count=10)["notices"]
    assert set(visitor) == {public}
    assert set(customer) == {public, customers_only, theirs}
    assert not_theirs not in customer


def test_the_feed_costs_the_same_few_queries_however_many_notices_and_is_shared(
    client, make_notice
):
    # Polled by feed readers and newsrooms through a press-release spike: it
    # read each notice's updates with a query of its own, for every poll.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notices.models import NoticeUpdate

    def queries(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("notices:feed"), params).status_code == 200
        return len(captured)

    for n in range(2):
        notice = published(make_notice(title=f"Early {n}"))
        NoticeUpdate.objects.create(notice=notice, body="More.", body_fr="Plus.")
    few = queries(lang="en")
    for n in range(6):
        notice = published(make_notice(title=f"Later {n}"))
        NoticeUpdate.objects.create(notice=notice, body="More.", body_fr="Plus.")
    assert queries(lang="fr") == few
    assert queries(lang="fr") == 0  # the shared copy of the minute

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from notices.models import Campaign, Delivery, DirectFirstOverride, Notice, SuspiciousReport
from notices.references import new_reference
from notices.services.reviews import version
from tests.staff import login_staff

pytestmark = pytest.mark.django_db


def test_incident_page_shows_the_timeline(client, lead, incident, campaign, audience, make_notice):
    for key in ("sms_only", "both"):
        Delivery.objects.create(
            campaign=campaign,
            customer=audience[key],
            channel="sms",
            to="+61400000000",
            status="sent",
            reference=new_reference(),
            sent_at=timezone.now(),
        )
    login_staff(client, lead)
    html = client.get(
        reverse("admin:customers_incident_change", args=[incident.pk])
    ).content.decode()
    assert "Timeline" in html and "First direct message" in html
    assert (
        "2 of 6 affected customers (5 reachable) heard from us directly before the public did"
        in html
    )


def test_an_incident_lead_records_an_override_from_the_incident_page(client, lead, incident):
    login_staff(client, lead)
    url = reverse("admin:customers_incident_override", args=[incident.pk])
    response = client.post(
        url, {"reason": "Records are for sale online; warn everyone now."}, follow=True
    )
    assert "Override recorded." in response.content.decode()
    override = DirectFirstOverride.objects.get()
    assert override.by == lead
    page = client.get(
        reverse("admin:customers_incident_change", args=[incident.pk])
    ).content.decode()
    assert "Records are for sale online" in page


def test_publish_from_the_admin_reports_direct_first(client, lead, make_notice, campaign):
    notice = make_notice()
    login_staff(client, lead)
    response = client.post(
        reverse("admin:notices_notice_publish", args=[notice.pk]),
        {"seen": version(notice)},
        follow=True,
    )
    assert "Direct first" in response.content.decode()
    assert Notice.objects.get(pk=notice.pk).status == "draft"
    customers_notice = make_notice(audience="customers")
    client.post(
        reverse("admin:notices_notice_publish", args=[customers_notice.pk]),
        {"seen": version(customers_notice)},
    )
    assert Notice.objects.get(pk=customers_notice.pk).status == "published"


def test_a_published_notice_cannot_be_edited_only_updated(client, lead, make_notice):
    notice = make_notice(audience="customers", status="published", published_at=timezone.now())
    login_staff(client, lead)
    url = reverse("admin:notices_notice_change", args=[notice.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    assert "body" not in form.fields  # read-only now
    data = {
        "updates-TOTAL_FORMS": 1,
        "updates-INITIAL_FORMS": 0,
        "updates-MIN_NUM_FORMS": 0,
        "updates-MAX_NUM_FORMS": 1000,
        "updates-0-body": "Passports too.",
        "updates-0-body_fr": "Les passeports aussi.",
        "updates-0-notify_affected": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert notice.updates.get().body == "Passports too."


def test_schedule_from_the_admin(client, lead, make_notice):
    notice = make_notice(audience="customers")
    login_staff(client, lead)
    client.post(
        reverse("admin:notices_notice_publish", args=[notice.pk]),
        {"publish_at": "2030-01-01 09:00", "seen": version(notice)},
    )
    notice.refresh_from_db()
    assert notice.status == "scheduled" and notice.publish_at.year == 2030


@pytest.mark.parametrize("when", ["", "2030-01-01 09:00"])
def test_publishing_without_the_version_read_is_refused(client, lead, make_notice, when):
    """A hand-made POST that does not say which version was read publishes nothing."""
    notice = make_notice(audience="customers")
    login_staff(client, lead)
    url = reverse("admin:notices_notice_publish", args=[notice.pk])
    for data in ({"publish_at": when}, {"publish_at": when, "seen": " "}):
        page = client.post(url, data, follow=True).content.decode()
        assert "did not say which version of the notice you read" in page
        assert Notice.objects.get(pk=notice.pk).status == "draft"


def test_staff_see_suspicious_reports(client, lead):
    SuspiciousReport.objects.create(channel="sms", message="Pay now", sender="+61400000001")
    login_staff(client, lead)
    html = client.get(reverse("admin:notices_suspiciousreport_changelist")).content.decode()
    assert "+61400000001" in html


def _notice_form_data(notice, **changes) -> dict:
    data = {
        name: getattr(notice, name if name != "incident" else "incident_id")
        for name in (
            "incident",
            "slug",
            "kind",
            "audience",
            "title",
            "title_fr",
            "summary",
            "summary_fr",
            "body",
            "body_fr",
        )
    }
    data.update(changes)
    data.update(
        {
            "updates-TOTAL_FORMS": 0,
            "updates-INITIAL_FORMS": 0,
            "updates-MIN_NUM_FORMS": 0,
            "updates-MAX_NUM_FORMS": 1000,
        }
    )
    return data


def test_editing_a_scheduled_notice_in_the_admin_needs_scheduling_again(
    client, comms, lead, make_notice
):
    from notices import services

    notice = make_notice(audience="customers")
    services.notice_schedule(notice=notice, at=timezone.now() + timedelta(hours=1), by=lead)
    login_staff(client, comms)
    url = reverse("admin:notices_notice_change", args=[notice.pk])
    response = client.post(
        url, _notice_form_data(notice, body=notice.body + "\nMore."), follow=True
    )
    assert "it is a draft again" in response.content.decode()
    notice.refresh_from_db()
    assert notice.status == "draft" and notice.publish_at is None
    assert notice.body.endswith("More.") and notice.edited_by == comms


def test_saving_a_scheduled_notice_unchanged_keeps_the_schedule(client, comms, lead, make_notice):
    from notices import services

    notice = make_notice(audience="customers")
    services.notice_schedule(notice=notice, at=timezone.now() + timedelta(hours=1), by=lead)
    login_staff(client, comms)
    client.post(reverse("admin:notices_notice_change", args=[notice.pk]), _notice_form_data(notice))
    notice.refresh_from_db()
    assert notice.status == "scheduled" and notice.edited_by is None


def test_a_lead_who_edited_a_notice_cannot_publish_it_from_the_admin(client, lead, make_notice):
    notice = make_notice(audience="customers")
    login_staff(client, lead)
    url = reverse("admin:notices_notice_change", args=[notice.pk])
    client.post(url, _notice_form_data(notice, title="Reworded by the lead"))
    page = client.get(url).content.decode()
    assert "another staff member must publish or schedule it" in page
    assert reverse("admin:notices_notice_publish", args=[notice.pk]) not in page
    response = client.post(
        reverse("admin:notices_notice_publish", args=[notice.pk]),
        {"seen": version(Notice.objects.get(pk=notice.pk))},
        follow=True,
    )
    assert response.status_code == 200  # back on the notice, saying why: not a bare 403
    assert "You wrote or edited this notice" in response.content.decode()
    assert Notice.objects.get(pk=notice.pk).status == "draft"


def test_communications_cannot_add_an_update_to_a_published_notice(client, comms, make_notice):
    notice = make_notice(audience="customers", status="published", published_at=timezone.now())
    login_staff(client, comms)
    url = reverse("admin:notices_notice_change", args=[notice.pk])
    data = {
        "updates-TOTAL_FORMS": 1,
        "updates-INITIAL_FORMS": 0,
        "updates-MIN_NUM_FORMS": 0,
        "updates-MAX_NUM_FORMS": 1000,
        "updates-0-body": "Passports too.",
        "updates-0-body_fr": "Les passeports aussi.",
        "updates-0-notify_affected": "",
    }
    client.post(url, data)
    assert not notice.updates.exists()


def test_an_update_from_the_admin_is_audited(client, lead, make_notice):
    from portal.models import AuditEntry

    notice = make_notice(audience="customers", status="published", published_at=timezone.now())
    login_staff(client, lead)
    data = {
        "updates-TOTAL_FORMS": 1,
        "updates-INITIAL_FORMS": 0,
        "updates-MIN_NUM_FORMS": 0,
        "updates-MAX_NUM_FORMS": 1000,
        "updates-0-body": "Passports too.",
        "updates-0-body_fr": "Les passeports aussi.",
        "updates-0-notify_affected": "",
    }
    client.post(reverse("admin:notices_notice_change", args=[notice.pk]), data)
    assert AuditEntry.objects.filter(actor=lead, action="notice.update").exists()


def test_a_draft_with_a_required_section_left_empty_is_saved_and_names_it(client, comms, incident):
    from tests.notices.conftest import BREACH_BODY, BREACH_BODY_FR

    login_staff(client, comms)
    data = {
        "incident": incident.pk,
        "slug": "breach-notice",
        "kind": "breach",
        "audience": "public",
        "title": "Notice of data breach",
        "title_fr": "Avis de violation de données",
        "summary": "What happened.",
        "summary_fr": "Ce qui s'est passé.",
        "body": BREACH_BODY.replace(
            "## What you can do\nSign in to see what of yours was exposed and what to do.\n",
            "## What you can do\n\n",
        ),
        "body_fr": BREACH_BODY_FR.replace("## Pour plus d'informations\nAppelez-nous.\n", ""),
        "updates-TOTAL_FORMS": 0,
        "updates-INITIAL_FORMS": 0,
        "updates-MIN_NUM_FORMS": 0,
        "updates-MAX_NUM_FORMS": 1000,
    }
    response = client.post(reverse("admin:notices_notice_add"), data)
    assert response.status_code == 302  # a draft is saved, unfinished
    notice = Notice.objects.get(slug="breach-notice")
    page = client.get(reverse("admin:notices_notice_change", args=[notice.pk]))
    problems = page.context["problems"]
    assert (
        "In the EN version, the section “What you can do” is empty: write what it must "
        "tell customers under its heading."
    ) in problems
    assert "The FR version lacks the section “Pour plus d'informations”." in problems


@pytest.mark.parametrize("when", ["", "2030-01-01 09:00"])
def test_a_lead_publishes_only_the_text_they_read(client, comms, lead, make_notice, when):
    """The author rewording the notice after the lead opened it is not published
    (or scheduled) on the strength of the earlier reading."""
    import re

    from notices import services

    notice = make_notice(audience="customers")
    login_staff(client, lead)
    page = client.get(reverse("admin:notices_notice_change", args=[notice.pk])).content.decode()
    seen = re.search(r'name="seen" value="([^"]+)"', page).group(1)
    services.notice_edit(notice=notice, changes={"summary": "Reworded"}, by=comms)
    url = reverse("admin:notices_notice_publish", args=[notice.pk])
    page = client.post(url, {"seen": seen, "publish_at": when}, follow=True).content.decode()
    assert "review it again" in page
    assert Notice.objects.get(pk=notice.pk).status == "draft"
    seen = re.search(r'name="seen" value="([^"]+)"', page).group(1)
    client.post(url, {"seen": seen, "publish_at": when})
    assert Notice.objects.get(pk=notice.pk).status == ("scheduled" if when else "published")


def test_a_notice_with_no_author_says_why_it_cannot_be_published(client, lead, make_notice):
    """No Publish button that can only answer 403: the page says what is wrong."""
    notice = make_notice(audience="customers")
    Notice.objects.filter(pk=notice.pk).update(created_by=None, edited_by=None)
    login_staff(client, lead)
    page = client.get(reverse("admin:notices_notice_change", args=[notice.pk])).content.decode()
    assert (
        "This notice has no author on record: once a staff member edits it, another can publish it."
        in page
    )
    assert reverse("admin:notices_notice_publish", args=[notice.pk]) not in page


def test_the_timeline_shows_when_the_incident_was_announced(client, lead, incident):
    """The public hears at the earlier of the announcement and the public
    notice: the timeline shows both, so the count below it can be checked."""
    from datetime import UTC, datetime

    from customers.models import Incident

    at = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    Incident.objects.filter(pk=incident.pk).update(announced_at=at)
    login_staff(client, lead)
    response = client.get(reverse("admin:customers_incident_change", args=[incident.pk]))
    assert response.context["timeline"].public_heard_at == at
    html = response.content.decode()
    row = re.search(r"<tr><th scope=\"row\">Publicly announced</th><td>([^<]*)</td>", html)
    assert row and row.group(1) != "—"


def test_a_refused_change_says_so_and_not_changed_successfully(
    client, lead, make_notice, monkeypatch
):
    from django.contrib.messages import get_messages
    from django.core.exceptions import ValidationError

    from notices import services

    def refuse(**kwargs):
        raise ValidationError("Refused, for a reason the service gives.")

    monkeypatch.setattr(services, "notice_update_add", refuse)
    notice = make_notice(audience="customers", status="published", published_at=timezone.now())
    login_staff(client, lead)
    url = reverse("admin:notices_notice_change", args=[notice.pk])
    data = {
        "updates-TOTAL_FORMS": 1,
        "updates-INITIAL_FORMS": 0,
        "updates-MIN_NUM_FORMS": 0,
        "updates-MAX_NUM_FORMS": 1000,
        "updates-0-body": "Passports too.",
        "updates-0-body_fr": "Les passeports aussi.",
        "updates-0-notify_affected": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302 and response.url == url  # back to the notice
    sent = [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]
    assert sent == [("error", "Refused, for a reason the service gives.")]


def test_an_update_submitted_twice_is_published_once(client, lead, make_notice, audience):
    # A double click (or a reload that posts again) published the same update
    # twice, each with its own draft alert to every affected customer.
    notice = make_notice(audience="customers", status="published", published_at=timezone.now())
    login_staff(client, lead)
    url = reverse("admin:notices_notice_change", args=[notice.pk])
    data = {
        "updates-TOTAL_FORMS": 1,
        "updates-INITIAL_FORMS": 0,
        "updates-MIN_NUM_FORMS": 0,
        "updates-MAX_NUM_FORMS": 1000,
        "updates-0-body": "Passports too.",
        "updates-0-body_fr": "Les passeports aussi.",
        "updates-0-notify_affected": "on",
    }
    assert client.post(url, data).status_code == 302
    again = client.post(url, data, follow=True)
    assert "already published" in again.content.decode()
    update = notice.updates.get()
    assert update.campaign is not None
    assert Campaign.objects.count() == 1
    # A different update is published as usual.
    data["updates-0-body"] = "Passports and licences too."
    data["updates-0-body_fr"] = "Les passeports et les permis aussi."
    client.post(url, data)
    assert notice.updates.count() == 2


@pytest.fixture
def root_client(client):
    from tests.factories import StaffFactory

    return login_staff(client, StaffFactory(username="root", is_superuser=True))


@pytest.mark.parametrize("status", ["published", "scheduled"])
def test_not_even_a_superuser_deletes_a_notice_that_is_not_a_draft(
    root_client, make_notice, status
):
    notice = make_notice(status=status, published_at=timezone.now())
    url = reverse("admin:notices_notice_delete", args=[notice.pk])
    assert root_client.get(url).status_code == 403
    assert root_client.post(url, {"post": "yes"}).status_code == 403
    assert Notice.objects.filter(pk=notice.pk).exists()


def test_delete_selected_refuses_a_published_notice_among_drafts(root_client, make_notice):
    draft = make_notice()
    published = make_notice(status="published", published_at=timezone.now())
    response = root_client.post(
        reverse("admin:notices_notice_changelist"),
        {"action": "delete_selected", "_selected_action": [draft.pk, published.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert set(Notice.objects.values_list("pk", flat=True)) == {draft.pk, published.pk}


def test_a_draft_notice_can_still_be_deleted(root_client, make_notice):
    drafts = [make_notice(), make_notice()]
    root_client.post(
        reverse("admin:notices_notice_changelist"),
        {"action": "delete_selected", "_selected_action": [n.pk for n in drafts], "post": "yes"},
    )
    root_client.post(
        reverse("admin:notices_notice_delete", args=[make_notice().pk]), {"post": "yes"}
    )
    assert not Notice.objects.exists()


def test_a_notice_published_after_the_check_is_not_deleted_with_the_drafts(rf, make_notice):
    from django.contrib import admin

    make_notice()
    published = make_notice(status="published", published_at=timezone.now())
    admin.site._registry[Notice].delete_queryset(rf.post("/"), Notice.objects.all())
    admin.site._registry[Notice].delete_model(rf.post("/"), published)
    assert list(Notice.objects.all()) == [published]


class _Forms(HTMLParser):
    """Each form of a page, with the submit buttons and named fields a browser
    sends with it. A <form> opened inside another is dropped by the browser's
    parser, and its </form> ends the outer form: the page is then broken."""

    def __init__(self):
        super().__init__()
        self.open: list[dict] = []
        self.forms: list[dict] = []
        self.nested = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.nested = self.nested or bool(self.open)
            self.open.append({"action": attrs.get("action", ""), "fields": set(), "buttons": []})
            self.forms.append(self.open[-1])
        elif self.open and tag in ("input", "textarea", "select", "button"):
            if tag == "button" and attrs.get("type", "submit") == "submit":
                self.open[-1]["buttons"].append(attrs)
            elif attrs.get("name"):
                self.open[-1]["fields"].add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form" and self.open:
            self.open.pop()


def _forms(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


def test_the_publish_form_is_not_inside_the_notice_form(client, lead, make_notice):
    # Nested, a browser sent "Publish now" to the change form, and the notice's
    # fields and its Save button ended up outside any form.
    notice = make_notice()
    login_staff(client, lead)
    page = _forms(
        client.get(reverse("admin:notices_notice_change", args=[notice.pk])).content.decode()
    )
    assert not page.nested
    publish = reverse("admin:notices_notice_publish", args=[notice.pk])
    assert [f for f in page.forms if f["action"] == publish and "seen" in f["fields"]]
    (change,) = [f for f in page.forms if "title" in f["fields"]]
    assert "_save" in {button.get("name") for button in change["buttons"]} | change["fields"]


def test_the_override_form_is_not_inside_the_incident_form(client, lead, incident):
    login_staff(client, lead)
    page = _forms(
        client.get(reverse("admin:customers_incident_change", args=[incident.pk])).content.decode()
    )
    assert not page.nested
    override = reverse("admin:customers_incident_override", args=[incident.pk])
    assert [f for f in page.forms if f["action"] == override and "reason" in f["fields"]]
    (change,) = [f for f in page.forms if "title" in f["fields"]]
    assert "_save" in {button.get("name") for button in change["buttons"]} | change["fields"]


def test_an_override_reason_with_a_nul_character_is_refused_not_a_server_error(
    client, lead, incident
):
    # PostgreSQL takes no NUL in text: the reason reached the database and the
    # lead got a server error instead of the form's answer.
    login_staff(client, lead)
    url = reverse("admin:customers_incident_override", args=[incident.pk])
    reason = "Records are for sale online\x00; warn everyone now."
    response = client.post(url, {"reason": reason}, follow=True)
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not DirectFirstOverride.objects.exists()


def test_the_notice_page_counts_direct_first_once_for_a_while(client, lead, make_notice, audience):
    # The count reads every exposure of the incident (millions): it ran on every
    # view of a public notice's page, where the incident's page keeps it 30 s.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    notice = make_notice()
    login_staff(client, lead)
    url = reverse("admin:notices_notice_change", args=[notice.pk])

    def counts() -> int:
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url).content.decode()
        assert "Direct first: 0 of 5 reachable affected customers" in page
        return sum("FROM customers_exposure e" in q["sql"] for q in captured)

    assert counts() == 1
    assert counts() == 0


def test_view_on_site_is_offered_only_for_a_notice_the_site_shows(client, lead, make_notice):
    # A draft's or a scheduled notice's page is a 404 to everyone: the links to it
    # (ours and the admin's own button) led the lead there to read it.
    login_staff(client, lead)
    draft, published_notice = make_notice(), make_notice(status="published")
    Notice.objects.filter(pk=published_notice.pk).update(published_at=timezone.now())
    for notice, shown in ((draft, False), (published_notice, True)):
        page = client.get(reverse("admin:notices_notice_change", args=[notice.pk])).content
        assert (notice.get_absolute_url().encode() in page) is shown
        assert b"/admin/r/" not in page  # the admin's own button, by way of a redirect
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_writing_a_notice_is_on_the_audit_log(client, comms, incident):
    # Edits were (notice.edit); the text first written was not.
    from portal.models import AuditEntry

    login_staff(client, comms)
    data = {
        "incident": incident.pk,
        "slug": "advisory-one",
        "kind": "advisory",
        "audience": "public",
        "title": "Advisory",
        "title_fr": "Avis",
        "summary": "What happened.",
        "summary_fr": "Ce qui s'est passé.",
        "body": "Text.",
        "body_fr": "Texte.",
        "updates-TOTAL_FORMS": 0,
        "updates-INITIAL_FORMS": 0,
        "updates-MIN_NUM_FORMS": 0,
        "updates-MAX_NUM_FORMS": 1000,
    }
    assert client.post(reverse("admin:notices_notice_add"), data).status_code == 302
    notice = Notice.objects.get(slug="advisory-one")
    entry = AuditEntry.objects.get(action="notice.create")
    assert (entry.actor, entry.target_id) == (comms, str(notice.pk))
    assert {"title", "summary", "body", "body_fr"} <= set(entry.detail["fields"])

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from notices.models import Campaign, SuspiciousReport
from notices.services.reviews import version
from portal.models import AuditAction, AuditEntry
from portal.roles import AUDITOR, INCIDENT_LEAD, SUPPORT_AGENT
from tests.staff import login_staff, staff_with_role

pytestmark = pytest.mark.django_db


def review(client, campaign):
    return client.get(reverse("admin:notices_campaign_review", args=[campaign.pk]))


def act(client, campaign, action):
    # As the review page's buttons do: with the version of the campaign shown.
    seen = version(Campaign.objects.get(pk=campaign.pk))
    return client.post(
        reverse("admin:notices_campaign_act", args=[campaign.pk, action]),
        {"seen": seen},
        follow=True,
    )


def test_review_shows_audience_coverage_and_previews(client, comms, campaign):
    login_staff(client, comms)
    html = review(client, campaign).content.decode()
    assert "6 affected customers in the audience" in html
    assert "none (postal letter)" in html
    assert "Alex" in html and "SMS segment" in html
    assert "Another staff member must approve" in html


def test_author_cannot_approve_but_a_second_person_can(client, comms, lead, campaign):
    login_staff(client, comms)
    act(client, campaign, "approve")
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    login_staff(client, lead)
    response = act(client, campaign, "approve")
    assert "Campaign approved." in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == "approved"


def test_approval_without_the_version_reviewed_is_refused(client, lead, campaign):
    """A hand-made POST that does not say which version was read approves nothing."""
    login_staff(client, lead)
    url = reverse("admin:notices_campaign_act", args=[campaign.pk, "approve"])
    for data in ({}, {"seen": ""}):
        page = client.post(url, data, follow=True).content.decode()
        assert "did not say which version of the campaign you reviewed" in page
        assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_send_pause_resume_cancel_from_the_admin(
    client, lead, campaign, django_capture_on_commit_callbacks
):
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    login_staff(client, lead)
    act(client, campaign, "pause")
    assert Campaign.objects.get(pk=campaign.pk).status == "paused"
    act(client, campaign, "cancel")
    assert Campaign.objects.get(pk=campaign.pk).status == "cancelled"
    response = act(client, campaign, "resume")
    assert "Only a paused campaign can be resumed." in response.content.decode()


def test_actions_need_post(client, lead, campaign):
    login_staff(client, lead)
    url = reverse("admin:notices_campaign_act", args=[campaign.pk, "approve"])
    assert client.get(url).status_code == 405


def test_unreachable_export_is_a_csv_with_formula_injection_neutralised(
    client, lead, campaign, audience
):
    audience["unreachable"].first_name = '=HYPERLINK("http://x")'
    audience["unreachable"].save()
    login_staff(client, lead)
    response = client.get(reverse("admin:notices_campaign_unreachable", args=[campaign.pk]))
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().splitlines()
    assert lines[0] == "customer_ref,first_name,last_name,is_current,language"
    assert lines[1].startswith(audience["unreachable"].customer_ref)
    assert "'=HYPERLINK" in lines[1]


def test_progress_json(client, lead, campaign):
    login_staff(client, lead)
    data = client.get(reverse("admin:notices_campaign_progress", args=[campaign.pk])).json()
    assert data["status"] == "draft" and data["total"] == 0


def test_test_send_goes_to_the_staff_member(
    client, lead, campaign, django_capture_on_commit_callbacks
):
    from django.core import mail

    login_staff(client, lead)
    url = reverse("admin:notices_campaign_test_send", args=[campaign.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"channel": "email", "language": "fr", "to": "dave@example.com"})
    assert mail.outbox[-1].to == ["dave@example.com"]
    assert "Camille" in mail.outbox[-1].body or mail.outbox[-1].body
    test = campaign.test_sends.get()
    assert test.status == "sent" and test.language == "fr"
    assert not campaign.deliveries.exists()
    entry = AuditEntry.objects.get(action=AuditAction.CAMPAIGN_TEST_SEND)
    assert (entry.actor, entry.target_id) == (lead, str(campaign.pk))
    assert entry.detail == {"channel": "email", "language": "fr", "to": "d•••@example.com"}


def _test_send(client, campaign, channel, to):
    url = reverse("admin:notices_campaign_test_send", args=[campaign.pk])
    return client.post(url, {"channel": channel, "language": "en", "to": to}, follow=True)


def test_a_test_send_to_any_other_address_is_refused(
    client, lead, campaign, django_capture_on_commit_callbacks
):
    from django.core import mail

    login_staff(client, lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = _test_send(client, campaign, "email", "someone.else@example.com")
        _test_send(client, campaign, "sms", "+61412345678")
    assert "only to your own verified email address" in response.content.decode()
    assert not campaign.test_sends.exists() and not mail.outbox
    assert not AuditEntry.objects.filter(action=AuditAction.CAMPAIGN_TEST_SEND).exists()


def test_a_test_send_to_ones_own_unverified_email_is_refused(client, lead, campaign):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=lead).update(verified=False)
    login_staff(client, lead)
    _test_send(client, campaign, "email", lead.email)
    assert not campaign.test_sends.exists()


def test_a_test_send_may_go_to_the_allowed_test_addresses(
    client, lead, campaign, settings, django_capture_on_commit_callbacks
):
    settings.TEST_SEND_RECIPIENTS = ["+61 412 345 678", "QA-Team@Example.com"]
    login_staff(client, lead)
    with django_capture_on_commit_callbacks(execute=True):
        _test_send(client, campaign, "sms", "0412 345 678")
        _test_send(client, campaign, "email", "qa-team@example.com")
        _test_send(client, campaign, "sms", "0412 345 679")
    assert sorted(campaign.test_sends.values_list("to", flat=True)) == [
        "+61412345678",
        "qa-team@example.com",
    ]
    details = AuditEntry.objects.filter(action=AuditAction.CAMPAIGN_TEST_SEND).values_list(
        "detail", flat=True
    )
    assert sorted(d["to"] for d in details) == ["q•••@example.com", "•••• ••• 678"]


def test_template_with_a_foreign_link_is_refused_in_the_change_form(client, comms, campaign):
    login_staff(client, comms)
    url = reverse("admin:notices_campaign_change", args=[campaign.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["data_classes"] = []
    templates = list(campaign.templates.order_by("id"))
    data.update(
        {
            "templates-TOTAL_FORMS": len(templates),
            "templates-INITIAL_FORMS": len(templates),
            "templates-MIN_NUM_FORMS": 0,
            "templates-MAX_NUM_FORMS": 1000,
        }
    )
    for i, t in enumerate(templates):
        data.update(
            {
                f"templates-{i}-id": t.pk,
                f"templates-{i}-campaign": campaign.pk,
                f"templates-{i}-channel": t.channel,
                f"templates-{i}-language": t.language,
                f"templates-{i}-subject": t.subject,
                f"templates-{i}-body": t.body,
            }
        )
    data["templates-0-body"] = "Go to http://evil.example.net/login {reference}"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "evil.example.net" in response.content.decode()


def test_default_template_is_added_and_changed_in_the_admin(client, comms, incident):
    from notices.models import IncidentTemplate

    login_staff(client, comms)
    add = reverse("admin:notices_incidenttemplate_add")
    assert client.get(add).status_code == 200
    data = {
        "incident": incident.pk,
        "channel": "sms",
        "language": "en",
        "subject": "",
        "body": "Hi {first_name}, see {portal_url}\r\nRef {reference}",
    }
    response = client.post(add, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    template = IncidentTemplate.objects.get(incident=incident, channel="sms", language="en")
    assert template.body == "Hi {first_name}, see {portal_url}\nRef {reference}"

    again = client.post(add, data)
    assert again.status_code == 200 and IncidentTemplate.objects.count() == 1
    assert again.context["adminform"].form.errors

    change = reverse("admin:notices_incidenttemplate_change", args=[template.pk])
    assert client.get(change).status_code == 200
    foreign = client.post(change, {**data, "body": "Go to http://evil.example.net {reference}"})
    assert foreign.status_code == 200
    assert "evil.example.net" in str(foreign.context["adminform"].form.non_field_errors())
    changed = client.post(change, {**data, "body": "New text {reference}"})
    assert changed.status_code == 302
    template.refresh_from_db()
    assert template.body == "New text {reference}"


def test_the_campaign_form_refuses_an_incident_that_is_not_active(client, comms, incident):
    from customers.models import Incident

    Incident.objects.filter(pk=incident.pk).update(status="closed")
    login_staff(client, comms)
    response = client.post(
        reverse("admin:notices_campaign_add"),
        {
            "incident": incident.pk,
            "name": "Late alert",
            "customer_status": "all",
            "channel_order": "sms",
            "sms_rate": 10,
            "email_rate": 10,
            "push_rate": 10,
            "parallelism": 1,
            "templates-TOTAL_FORMS": 0,
            "templates-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "active incident" in str(response.context["adminform"].form.errors["incident"])
    assert not Campaign.objects.exists()


def _campaign_form_data(campaign, **changes) -> dict:
    data = {
        "incident": campaign.incident_id,
        "name": campaign.name,
        "customer_status": campaign.customer_status,
        "channel_order": campaign.channel_order,
        "sms_rate": campaign.sms_rate,
        "email_rate": campaign.email_rate,
        "push_rate": campaign.push_rate,
        "parallelism": campaign.parallelism,
        "templates-TOTAL_FORMS": 0,
        "templates-INITIAL_FORMS": 0,
        "templates-MIN_NUM_FORMS": 0,
        "templates-MAX_NUM_FORMS": 1000,
    }
    data.update(changes)
    return data


def test_a_lead_who_edited_a_campaign_cannot_approve_it(client, lead, campaign):
    login_staff(client, lead)
    response = client.post(
        reverse("admin:notices_campaign_change", args=[campaign.pk]),
        _campaign_form_data(campaign, name="Reworded by the lead"),
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.edited_by == lead
    page = review(client, campaign).content.decode()
    assert "Another staff member must approve this campaign." in page
    response = act(client, campaign, "approve")
    assert response.status_code == 200  # back on the review page, saying why
    assert "You wrote or edited this campaign" in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_a_refused_approval_brings_the_lead_back_to_the_review_page_saying_why(
    client, lead, campaign
):
    """The service's four-eyes refusal (PermissionDenied) is shown on the review
    page, as a ValidationError is, not as a bare 403 page."""
    from notices.services.reviews import editor_add

    login_staff(client, lead)
    page = review(client, campaign).content.decode()
    seen = re.search(r'name="seen" value="([^"]+)"', page).group(1)
    # Since the page was opened the lead became one of its writers, as copying an
    # incident default message they wrote does (the campaign's version unchanged).
    editor_add(campaign, lead)
    url = reverse("admin:notices_campaign_act", args=[campaign.pk, "approve"])
    response = client.post(url, {"seen": seen})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:notices_campaign_review", args=[campaign.pk])
    page = client.get(response["Location"]).content.decode()
    assert "You wrote or edited this campaign" in page
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_a_role_that_may_not_approve_still_gets_a_403(client, comms, campaign):
    login_staff(client, comms)
    assert act(client, campaign, "approve").status_code == 403


def test_an_approved_campaign_stays_as_approved_in_the_admin(client, comms, lead, campaign):
    from notices import services

    services.campaign_approve(campaign=campaign, by=lead)
    login_staff(client, comms)
    client.post(
        reverse("admin:notices_campaign_change", args=[campaign.pk]),
        _campaign_form_data(campaign, name="Changed after approval", channel_order="email"),
    )
    campaign.refresh_from_db()
    assert campaign.name != "Changed after approval" and campaign.channel_order == "sms,email"
    assert campaign.status == "approved" and campaign.edited_by == campaign.created_by


def _changed_after_the_admin_read_it(monkeypatch, change):
    """The admin reads the campaign, then (before it saves) ``change`` happens
    elsewhere: an approval, a worker's progress."""
    from notices.admin import CampaignAdmin

    read = CampaignAdmin.get_object

    def get_object(self, request, object_id, from_field=None):
        obj = read(self, request, object_id, from_field)
        if request.method == "POST":
            change()
        return obj

    monkeypatch.setattr(CampaignAdmin, "get_object", get_object)


def test_saving_a_sending_campaign_in_the_admin_never_writes_back_what_workers_changed(
    client, lead, campaign, monkeypatch
):
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    campaign.refresh_from_db()
    _changed_after_the_admin_read_it(
        monkeypatch,
        lambda: Campaign.objects.filter(pk=campaign.pk).update(
            status="completed", planning_done=True
        ),
    )
    login_staff(client, lead)
    response = client.post(
        reverse("admin:notices_campaign_change", args=[campaign.pk]),
        _campaign_form_data(campaign),
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.planning_done) == ("completed", True)


def test_an_edit_that_meets_an_approval_is_refused_not_saved_over_it(
    client, comms, lead, campaign, monkeypatch
):
    from notices import services

    _changed_after_the_admin_read_it(
        monkeypatch, lambda: services.campaign_approve(campaign=campaign, by=lead)
    )
    login_staff(client, comms)
    template = campaign.templates.get(channel="sms", language="en")
    data = _campaign_form_data(campaign, name="Reworded as it was approved")
    data.update(
        {
            "templates-TOTAL_FORMS": 1,
            "templates-INITIAL_FORMS": 1,
            "templates-0-id": template.pk,
            "templates-0-campaign": campaign.pk,
            "templates-0-channel": "sms",
            "templates-0-language": "en",
            "templates-0-subject": "",
            "templates-0-body": "Reworded as it was approved. Ref {reference}",
        }
    )
    url = reverse("admin:notices_campaign_change", args=[campaign.pk])
    response = client.post(url, data, follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "Only a draft campaign can be edited." in response.content.decode()
    campaign.refresh_from_db()
    template.refresh_from_db()
    # What the lead approved is what stays, and it stays approved.
    assert campaign.status == "approved" and campaign.approved_by == lead
    assert campaign.name != "Reworded as it was approved"
    assert "Reworded" not in template.body and campaign.edited_by == comms


def test_a_draft_edit_writes_only_the_fields_changed(client, comms, lead, campaign, monkeypatch):
    _changed_after_the_admin_read_it(
        monkeypatch,
        lambda: Campaign.objects.filter(pk=campaign.pk).update(sms_rate=7),
    )
    login_staff(client, lead)
    client.post(
        reverse("admin:notices_campaign_change", args=[campaign.pk]),
        _campaign_form_data(campaign, name="Renamed"),
    )
    campaign.refresh_from_db()
    assert campaign.name == "Renamed" and campaign.sms_rate == 7 and campaign.edited_by == lead


def test_a_lead_approves_only_the_campaign_they_reviewed(client, comms, lead, campaign):
    """Four eyes on what was seen: an edit after the approver opened the review
    page (here a reworded SMS) needs a fresh look, not a silent approval."""
    import re

    from notices import services

    login_staff(client, lead)
    page = review(client, campaign).content.decode()
    seen = re.search(r'name="seen" value="([^"]+)"', page).group(1)
    campaign.templates.filter(channel="sms").update(
        body="Reworded after the review. Ref {reference}"
    )
    services.campaign_edited(campaign=campaign, by=comms)
    url = reverse("admin:notices_campaign_act", args=[campaign.pk, "approve"])
    page = client.post(url, {"seen": seen}, follow=True).content.decode()
    assert "review it again" in page
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    seen = re.search(r'name="seen" value="([^"]+)"', page).group(1)
    page = client.post(url, {"seen": seen}, follow=True).content.decode()
    assert "approved" in page and Campaign.objects.get(pk=campaign.pk).status == "approved"


def test_the_review_page_tells_an_earlier_editor_someone_else_must_approve(
    client, comms, lead, campaign
):
    from notices import services

    services.campaign_edited(campaign=campaign, by=lead)
    services.campaign_edited(campaign=campaign, by=comms)
    login_staff(client, lead)
    page = review(client, campaign).content.decode()
    assert "Another staff member must approve this campaign." in page
    assert reverse("admin:notices_campaign_act", args=[campaign.pk, "approve"]) not in page


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (SUPPORT_AGENT, "Jane, jane.doe@example.com or 0412 345 678"),
        (INCIDENT_LEAD, "j•••@example.com, •••• ••• 678"),
        (AUDITOR, "j•••@example.com, •••• ••• 678"),
    ],
)
def test_a_reporters_contact_is_for_support_only_the_readers_see_it_masked(client, role, shown):
    # The roles that only read the reports (README) saw the member of the
    # public's email and number in full: roles.py gives auditors nothing unmasked.
    report = SuspiciousReport.objects.create(
        channel="sms",
        sender="+61400000000",
        message="Pay now",
        contact="Jane, jane.doe@example.com or 0412 345 678",
    )
    login_staff(client, staff_with_role(role, username="viewer"))
    page = client.get(reverse("admin:notices_suspiciousreport_change", args=[report.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert shown in html
    if role != SUPPORT_AGENT:
        assert "jane.doe" not in html and "345 678" not in html and "Jane," not in html


def test_a_lead_who_wrote_the_default_message_cannot_approve_a_campaign_copying_it(
    client, lead, comms, incident, audience
):
    # Four eyes: the campaign is carol's, but its words are dave's.
    from django.core.exceptions import PermissionDenied

    from notices import services

    login_staff(client, lead)
    response = client.post(
        reverse("admin:notices_incidenttemplate_add"),
        {
            "incident": incident.pk,
            "channel": "sms",
            "language": "en",
            "subject": "",
            "body": "Dave's words. Ref {reference}",
        },
    )
    assert response.status_code == 302
    campaign = services.campaign_create(incident=incident, channels=["sms"], by=comms)
    assert campaign.templates.get(channel="sms", language="en").body.startswith("Dave's words")

    page = review(client, campaign)
    assert page.context["is_author"] and not page.context["can_approve"]
    with pytest.raises(PermissionDenied, match="default message of the incident"):
        services.campaign_approve(campaign=campaign, by=lead)
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"

    other_lead = staff_with_role(INCIDENT_LEAD, username="erin")
    assert services.campaign_approve(campaign=campaign, by=other_lead).status == "approved"


def test_whoever_edits_a_default_message_is_among_its_writers(client, lead, comms, incident):
    from notices.models import IncidentTemplate

    template = IncidentTemplate.objects.create(
        incident=incident, channel="sms", language="en", body="Old. Ref {reference}"
    )
    login_staff(client, lead)
    url = reverse("admin:notices_incidenttemplate_change", args=[template.pk])
    data = {"incident": incident.pk, "channel": "sms", "language": "en", "subject": ""}
    assert client.post(url, {**data, "body": "Old. Ref {reference}"}).status_code == 302
    assert not template.editors.exists()  # saved unchanged: wrote nothing
    assert client.post(url, {**data, "body": "New. Ref {reference}"}).status_code == 302
    assert list(template.editors.all()) == [lead]


def _report(sender: str, reference: str = "") -> SuspiciousReport:
    from notices import services

    return services.suspicious_report_create(
        channel="sms", sender=sender, reference=reference, message="Pay now"
    )


def _search(client, term: str) -> list[SuspiciousReport]:
    login_staff(client, staff_with_role(SUPPORT_AGENT, username="sam"))
    response = client.get(reverse("admin:notices_suspiciousreport_changelist"), {"q": term})
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize(
    ("sender", "term"),
    [
        ("+61 412 345 678", "0412345678"),
        ("0412 345 678", "+61412345678"),
        ("Alerts@Bank-Example.com", "alerts@bank-example.com "),
        ("MyBank  Alerts", "mybank alerts"),
    ],
)
def test_a_report_is_found_by_its_whole_sender_in_any_format(client, sender, term):
    report = _report(sender)
    _report("+61499999999")
    assert _search(client, term) == [report]


@pytest.mark.parametrize("term", ["345", "412 345", "bank-example", "Alerts"])
def test_a_part_of_a_sender_finds_no_report(client, term):
    # A substring search read every report of the table a public form fills.
    _report("+61 412 345 678")
    _report("Alerts@Bank-Example.com")
    assert _search(client, term) == []


@pytest.mark.parametrize("term", ["k7qm-3txp-9hwc", "K7QM3TXP9HWC", "K7QM-3TXP-9HWC"])
def test_a_report_is_found_by_its_reference_as_typed_in_any_case(client, term):
    report = _report("", reference="k7qm-3txp-9hwc")
    assert _search(client, term) == [report]


def test_the_report_search_reads_an_index(rf):
    from django.contrib import admin
    from django.db import connection

    request = rf.get("/")
    model_admin = admin.site._registry[SuspiciousReport]
    queryset, _ = model_admin.get_search_results(
        request, SuspiciousReport.objects.order_by(), "0412 345 678"
    )
    if connection.vendor == "postgresql":
        # An empty table is cheaper to scan: ask whether an index can serve.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    plan = queryset.explain()
    assert "report_sender_key" in plan and "report_reference_upper" in plan, plan


def _data_class_form(data_class, **changes) -> dict:
    fields = ["label", "label_fr", "sensitivity", "explanation", "explanation_fr"]
    return {
        **{name: getattr(data_class, name) for name in fields},
        "is_identity_document": "on" if data_class.is_identity_document else "",
        **changes,
    }


@pytest.mark.parametrize(
    "label",
    [
        "passport number: renew it now at passport-renewal.example",
        "passport number (call us or write to help@scam.example)",
        "passport number, see https://evil.example/renew",
    ],
)
def test_a_data_class_label_that_messages_name_holds_no_foreign_link(
    client, comms, campaign, label
):
    # {exposed_fields} puts the label into every message: changed after a campaign's
    # approval, it sent a link no template may hold to the whole audience.
    from customers.models import DataClass

    passport = DataClass.objects.get(code="passport_number")
    login_staff(client, comms)
    url = reverse("admin:customers_dataclass_change", args=[passport.pk])
    for field in ("label", "label_fr"):
        response = client.post(url, _data_class_form(passport, **{field: label}))
        assert response.status_code == 200
        assert "not an allowed link or address" in response.content.decode()
    passport.refresh_from_db()
    assert "example" not in passport.label + passport.label_fr
    ok = client.post(url, _data_class_form(passport, label="Passport number (and its expiry)"))
    assert ok.status_code == 302


def test_an_incident_title_that_messages_name_holds_no_foreign_link(client, lead, incident):
    login_staff(client, lead)
    url = reverse("admin:customers_incident_change", args=[incident.pk])
    form = {
        "title": incident.title,
        "title_fr": incident.title_fr,
        "slug": incident.slug,
        "summary": incident.summary,
        "status": incident.status,
        "discovered_at_0": "2026-11-01",
        "discovered_at_1": "09:00",
    }
    for field in ("title", "title_fr"):
        response = client.post(url, {**form, field: "Breach: details at breach-info.example"})
        assert response.status_code == 200
        assert "not an allowed link or address" in response.content.decode()
    incident.refresh_from_db()
    assert "example" not in incident.title + incident.title_fr
    assert client.post(url, {**form, "title": "Customer data breach"}).status_code == 302


def test_the_review_page_says_whom_the_campaign_reaches_and_how_fast(client, lead, campaign):
    # The approver approves whom it reaches, not only how many: a campaign
    # narrowed to former customers with their passport exposed read "1 affected
    # customer" and nothing more.
    from customers.models import DataClass

    Campaign.objects.filter(pk=campaign.pk).update(
        customer_status="former", sms_rate=7, email_rate=9, push_rate=11, parallelism=3
    )
    campaign.data_classes.set(DataClass.objects.filter(code="passport_number"))
    login_staff(client, lead)
    html = review(client, campaign).content.decode()
    assert "1 affected customer in the audience" in html
    assert "Former customers only" in html
    assert "with any of these exposed: passport number" in html
    assert "Sending: SMS 7, email 9, push 11 a second; 3 parallel senders." in html

    campaign.data_classes.clear()
    Campaign.objects.filter(pk=campaign.pk).update(customer_status="all")
    html = review(client, campaign).content.decode()
    assert "Current and former customers, every one affected" in html


def test_a_test_message_is_vouched_for_by_the_verify_page(
    client, lead, campaign, django_capture_on_commit_callbacks
):
    # It says "check ref … at /verify": staff trying the whole journey, as a
    # customer would, were told "Not from us" about our own message.
    import re

    from django.core import mail

    login_staff(client, lead)
    url = reverse("admin:notices_campaign_test_send", args=[campaign.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"channel": "email", "language": "en", "to": "dave@example.com"})
    [printed] = re.findall(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b", mail.outbox[-1].body)
    answer = client.post(reverse("notices:verify"), {"reference": printed}).content.decode()
    assert "Yes, we sent this message." in answer
    assert "d•••@example.com" in answer
    assert "dave@example.com" not in answer


def test_the_review_page_reads_its_sample_customer_once(client, lead, campaign):
    # Each preview looked for an audience member again: on an incident of
    # millions with a narrow audience, a long scan per message template.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert campaign.templates.count() == 4
    login_staff(client, lead)
    with CaptureQueriesContext(connection) as captured:
        html = review(client, campaign).content.decode()
    samples = [q["sql"] for q in captured if q["sql"].startswith("SELECT e.fields")]
    assert len(samples) == 1
    assert html.count('class="fh-preview"') == 4


def test_writing_and_editing_a_campaign_in_the_admin_is_on_the_audit_log(
    client, comms, lead, incident, audience
):
    login_staff(client, comms)
    client.post(
        reverse("admin:notices_campaign_add"),
        {
            "incident": incident.pk,
            "name": "First alert",
            "customer_status": "all",
            "channel_order": "sms,email",
            "sms_rate": 100,
            "email_rate": 200,
            "push_rate": 500,
            "parallelism": 4,
            "templates-TOTAL_FORMS": 0,
            "templates-INITIAL_FORMS": 0,
        },
    )
    campaign = Campaign.objects.get(name="First alert")
    created = AuditEntry.objects.get(action=AuditAction.CAMPAIGN_CREATE)
    assert (created.actor, created.target_id) == (comms, str(campaign.pk))

    login_staff(client, lead)
    form = {
        "incident": incident.pk,
        "name": "First alert",
        "customer_status": "former",
        "channel_order": "sms,email",
        "sms_rate": 100,
        "email_rate": 200,
        "push_rate": 500,
        "parallelism": 4,
        "templates-TOTAL_FORMS": 0,
        "templates-INITIAL_FORMS": 0,
        "_continue": "1",
    }
    templates = list(campaign.templates.all())
    form["templates-TOTAL_FORMS"] = form["templates-INITIAL_FORMS"] = len(templates)
    for i, template in enumerate(templates):
        for name in ("id", "channel", "language", "subject", "body"):
            value = getattr(template, name)
            form[f"templates-{i}-{name}"] = value if name != "id" else template.pk
        form[f"templates-{i}-campaign"] = campaign.pk
    client.post(reverse("admin:notices_campaign_change", args=[campaign.pk]), form)
    assert Campaign.objects.get(pk=campaign.pk).customer_status == "former"
    edited = AuditEntry.objects.get(action=AuditAction.CAMPAIGN_EDIT)
    assert (edited.actor, edited.target_id) == (lead, str(campaign.pk))
    assert edited.detail == {"fields": ["customer_status"]}


def _change_form_as_a_browser_posts_it(campaign) -> dict:
    """Every field as stored, text as a browser sends a textarea: CRLF newlines."""
    form = {
        "incident": campaign.incident_id,
        "name": campaign.name,
        "customer_status": campaign.customer_status,
        "channel_order": campaign.channel_order,
        "sms_rate": campaign.sms_rate,
        "email_rate": campaign.email_rate,
        "push_rate": campaign.push_rate,
        "parallelism": campaign.parallelism,
        "_continue": "1",
    }
    templates = list(campaign.templates.order_by("pk"))
    form["templates-TOTAL_FORMS"] = form["templates-INITIAL_FORMS"] = len(templates)
    for i, template in enumerate(templates):
        form[f"templates-{i}-id"] = template.pk
        form[f"templates-{i}-campaign"] = campaign.pk
        for name in ("channel", "language", "subject", "body"):
            form[f"templates-{i}-{name}"] = getattr(template, name).replace("\n", "\r\n")
    return form


def test_saving_a_campaign_unchanged_is_no_edit(client, lead, campaign):
    # The email texts end with a newline, which the form strips: saving the page
    # as it was counted as changing them, and its saver could no longer approve.
    assert campaign.templates.get(channel="email", language="en").body.endswith("\n")
    before = Campaign.objects.get(pk=campaign.pk).updated_at
    login_staff(client, lead)
    url = reverse("admin:notices_campaign_change", args=[campaign.pk])
    client.post(url, _change_form_as_a_browser_posts_it(campaign))
    assert Campaign.objects.get(pk=campaign.pk).updated_at == before
    assert not campaign.editors.filter(pk=lead.pk).exists()
    assert not AuditEntry.objects.filter(action=AuditAction.CAMPAIGN_EDIT).exists()
    assert "Campaign approved." in act(client, campaign, "approve").content.decode()


def test_the_sms_counter_sizes_each_message_at_its_longest_as_saving_does(client, comms, campaign):
    # The counter was given a bare marker: it counted "{first_name}" as twelve
    # characters and called that the longest, one segment where saving then
    # refused five.
    import json
    from html.parser import HTMLParser

    from notices.templating import worst_case_values

    class Counters(HTMLParser):
        found: dict = {}
        ids: dict = {}

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "textarea" and "data-sms-counter" in attrs:
                self.found[attrs["name"]] = attrs["data-sms-counter"]
            elif (
                tag == "input" and (attrs.get("name") or "").endswith("-id") and attrs.get("value")
            ):
                self.ids[int(attrs["value"])] = attrs["name"].removesuffix("-id")

    login_staff(client, comms)
    page = Counters()
    page.feed(
        client.get(reverse("admin:notices_campaign_change", args=[campaign.pk])).content.decode()
    )
    by_language = {
        template.language: page.found[f"{page.ids[template.pk]}-body"]
        for template in campaign.templates.filter(channel="sms")
    }
    assert set(by_language) == {"en", "fr"}
    for language, attribute in by_language.items():
        assert json.loads(attribute) == worst_case_values(language)
    added = json.loads(page.found["templates-__prefix__-body"])
    assert added["first_name"] == worst_case_values("en")["first_name"]
    assert len(added["exposed_fields"]) >= len(worst_case_values("fr")["exposed_fields"])


def _step_form(step, **changes) -> dict:
    fields = ["title", "title_fr", "body", "body_fr", "link_url", "priority"]
    return {
        **{name: getattr(step, name) for name in fields},
        "data_classes": [dc.pk for dc in step.data_classes.all()],
        **changes,
    }


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/renew",
        "evil.example/renew",  # https assumed: still another host
        "http://www.oaic.gov.au/",  # an allowed host, but not over https
        "https://www.oaic.gov.au.evil.example/",
        "https://www.oaic.gov.au@evil.example/",
        "javascript:alert(1)",
        "java\tscript:alert(1)",
        "help/",  # a page of the portal is written from the root
        "//evil.example/",
        "ftp://www.oaic.gov.au/",
    ],
)
def test_a_step_links_only_to_the_portal_or_a_notice_host(client, comms, settings, link):
    # The dashboard shows the step's link to every customer who had its data exposed.
    from customers.models import Step

    settings.NOTICE_LINK_HOSTS = ["www.oaic.gov.au"]
    step = Step.objects.get(code="passport-decide-replace")
    before = step.link_url
    login_staff(client, comms)
    url = reverse("admin:customers_step_change", args=[step.pk])
    response = client.post(url, _step_form(step, link_url=link))
    assert response.status_code == 200
    assert "may only link to" in response.content.decode()
    step.refresh_from_db()
    assert step.link_url == before


@pytest.mark.parametrize(
    "link", ["https://www.oaic.gov.au/privacy", "http://localhost:8000/dashboard/", ""]
)
def test_a_step_may_link_to_the_portal_or_a_notice_host(client, comms, settings, link):
    from customers.models import Step

    settings.NOTICE_LINK_HOSTS = ["www.oaic.gov.au"]
    settings.PORTAL_BASE_URL = "http://localhost:8000"
    step = Step.objects.get(code="passport-decide-replace")
    login_staff(client, comms)
    url = reverse("admin:customers_step_change", args=[step.pk])
    assert client.post(url, _step_form(step, link_url=link)).status_code == 302
    step.refresh_from_db()
    assert step.link_url == link


@pytest.mark.parametrize(
    "link",
    ["/help/", "/notices/?incident=x#steps", "mailto:privacy@example.com", "tel:+61299990000"],
)
def test_a_step_may_link_to_a_page_of_the_portal_or_a_contact(client, comms, link):
    # The rule allows them: the field must not refuse them as "not a URL" first.
    from customers.models import Step

    step = Step.objects.get(code="passport-decide-replace")
    login_staff(client, comms)
    url = reverse("admin:customers_step_change", args=[step.pk])
    assert client.post(url, _step_form(step, link_url=link)).status_code == 302
    step.refresh_from_db()
    assert step.link_url == link


def test_a_step_already_linking_elsewhere_still_shows(alice, settings):
    # Checked when staff save it: a step stored before the rule is not hidden.
    from customers.models import Step
    from customers.selectors import dashboard_for_customer

    Step.objects.filter(code="passport-decide-replace").update(link_url="https://old.example/")
    links = {
        item.step.link_url
        for status in dashboard_for_customer(alice)
        for card in status.cards
        for item in card.steps
    }
    assert "https://old.example/" in links


def test_marking_reports_reviewed_is_on_the_audit_log(client):
    # Support's handling of what the public reported is on record, like its other actions.
    first, second, done = (
        SuspiciousReport.objects.create(channel="sms", sender=f"+6140000000{n}", message="Pay")
        for n in range(3)
    )
    SuspiciousReport.objects.filter(pk=done.pk).update(reviewed=True)
    sam = staff_with_role(SUPPORT_AGENT, username="sam")
    login_staff(client, sam)
    client.post(
        reverse("admin:notices_suspiciousreport_changelist"),
        {"action": "mark_reviewed", "_selected_action": [first.pk, second.pk, done.pk]},
    )
    assert SuspiciousReport.objects.filter(reviewed=True).count() == 3
    entries = AuditEntry.objects.filter(action=AuditAction.REPORT_REVIEW)
    assert {(e.actor, e.target_type, e.target_id) for e in entries} == {
        (sam, "suspiciousreport", str(first.pk)),
        (sam, "suspiciousreport", str(second.pk)),
    }


def test_reviewing_a_report_on_its_page_is_on_the_audit_log(client):
    report = SuspiciousReport.objects.create(channel="sms", sender="+61400000000", message="Pay")
    login_staff(client, staff_with_role(SUPPORT_AGENT, username="sam"))
    url = reverse("admin:notices_suspiciousreport_change", args=[report.pk])
    assert client.post(url, {"reviewed": "on"}).status_code == 302
    entry = AuditEntry.objects.get(action=AuditAction.REPORT_REVIEW)
    assert (entry.target_id, entry.detail["reviewed"]) == (str(report.pk), True)


def test_edits_to_data_classes_and_incidents_are_on_the_audit_log(client, comms, lead, incident):
    # Labels, explanations, titles and summaries reach every affected customer.
    from customers.models import DataClass

    login_staff(client, comms)
    passport = DataClass.objects.get(code="passport_number")
    url = reverse("admin:customers_dataclass_change", args=[passport.pk])
    form = _data_class_form(passport, explanation="Rewritten.")
    assert client.post(url, form).status_code == 302
    entry = AuditEntry.objects.get(action=AuditAction.DATA_CLASS_EDIT)
    assert (entry.actor, entry.target_id, entry.detail["fields"]) == (
        comms,
        str(passport.pk),
        ["explanation"],
    )
    assert client.post(url, form).status_code == 302  # nothing changed: nothing recorded
    assert AuditEntry.objects.filter(action=AuditAction.DATA_CLASS_EDIT).count() == 1

    login_staff(client, lead)
    url = reverse("admin:customers_incident_change", args=[incident.pk])
    incident_form = {
        "title": "Customer data breach",
        "title_fr": incident.title_fr,
        "slug": incident.slug,
        "summary": "A new summary.",
        "status": incident.status,
        "discovered_at_0": "2026-11-01",
        "discovered_at_1": "09:00",
    }
    assert client.post(url, incident_form).status_code == 302
    entry = AuditEntry.objects.get(action=AuditAction.INCIDENT_EDIT)
    assert entry.target_id == str(incident.pk)
    assert {"title", "summary"} <= set(entry.detail["fields"])
    assert "title_fr" not in entry.detail["fields"]


def test_default_messages_are_on_the_audit_log(client, comms, incident):
    # Campaigns copy them to every affected customer.
    from notices.models import IncidentTemplate

    login_staff(client, comms)
    data = {"incident": incident.pk, "channel": "sms", "language": "en", "subject": ""}
    data["body"] = "Hi {first_name}, see {portal_url} {reference}"
    assert client.post(reverse("admin:notices_incidenttemplate_add"), data).status_code == 302
    template = IncidentTemplate.objects.get(incident=incident, channel="sms", language="en")
    added = AuditEntry.objects.get(action=AuditAction.INCIDENT_TEMPLATE_ADD)
    assert (added.actor, added.target_id) == (comms, str(template.pk))
    change = reverse("admin:notices_incidenttemplate_change", args=[template.pk])
    assert client.post(change, {**data, "body": "New text {reference}"}).status_code == 302
    edited = AuditEntry.objects.get(action=AuditAction.INCIDENT_TEMPLATE_EDIT)
    assert (edited.actor, edited.detail["fields"]) == (comms, ["body"])

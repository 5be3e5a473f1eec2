"""The audit log: append-only, written for each audited action, exported safely."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notices import services
from portal.audit import audit, audit_purge_allowed
from portal.csv_export import safe_cell
from portal.models import AuditAction, AuditEntry
from portal.roles import AUDITOR, INCIDENT_LEAD, SUPPORT_AGENT
from tests.staff import login_staff, staff_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_purge():
    """Undo the test settings' purge allowance (tests/conftest.py) for one transaction."""

    def off(cursor):
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL firsthand.audit_purge = 'off'")
        else:
            connection.audit_purge = False

    yield off
    if connection.vendor == "sqlite":
        connection.audit_purge = True


@pytest.fixture
def entry(alice, lead):
    return audit(AuditAction.CUSTOMER_VIEW, actor=lead, target=alice)


# --- append-only ------------------------------------------------------------------


def test_entries_cannot_be_changed_or_deleted_through_django(entry):
    entry.reason = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().update(reason="tampered")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


@pytest.mark.parametrize(
    "sql",
    ["UPDATE portal_auditentry SET reason = 'x'", "DELETE FROM portal_auditentry"],
)
def test_the_database_refuses_changes_from_any_client(entry, sql, no_purge):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        no_purge(cursor)
        cursor.execute(sql)
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""


@pytest.mark.postgres
def test_postgres_refuses_truncate(entry, no_purge):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        no_purge(cursor)
        cursor.execute("TRUNCATE portal_auditentry")
    assert AuditEntry.objects.exists()


def test_the_retention_purge_alone_may_delete(entry, no_purge):
    with transaction.atomic(), connection.cursor() as cursor:
        no_purge(cursor)
        with audit_purge_allowed(), connection.cursor() as inner:
            inner.execute("DELETE FROM portal_auditentry")
    assert not AuditEntry.objects.exists()


def test_an_entry_names_the_customer_by_reference_only(entry, alice, lead):
    assert entry.target_label == alice.customer_ref
    assert alice.email not in str(entry.__dict__)
    assert alice.first_name not in str(entry.__dict__)
    assert entry.actor_label == lead.email


# --- actions that write entries ---------------------------------------------------


def test_approving_sending_and_cancelling_a_campaign_are_audited(campaign, comms, lead):
    services.campaign_approve(campaign=campaign, by=lead)
    services.campaign_cancel(campaign=campaign, by=lead)
    actions = list(
        AuditEntry.objects.filter(action__startswith="campaign.")
        .order_by("id")
        .values_list("action", "actor", "target_id")
    )
    assert actions == [
        ("campaign.create", comms.pk, str(campaign.pk)),
        ("campaign.approve", lead.pk, str(campaign.pk)),
        ("campaign.cancel", lead.pk, str(campaign.pk)),
    ]


def test_each_sending_action_is_audited(campaign, lead):
    services.campaign_approve(campaign=campaign, by=lead)
    services.campaign_send(campaign=campaign, by=lead)  # workers start after the commit
    services.campaign_pause(campaign=campaign, by=lead)
    services.campaign_resume(campaign=campaign, by=lead)
    actions = list(
        AuditEntry.objects.filter(action__startswith="campaign.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "campaign.create",
        "campaign.approve",
        "campaign.send",
        "campaign.pause",
        "campaign.resume",
    ]


def test_scheduling_a_notice_is_audited(make_notice, lead):
    from datetime import timedelta

    from django.utils import timezone

    at = timezone.now() + timedelta(hours=1)
    services.notice_schedule(notice=make_notice(audience="all"), at=at, by=lead)
    entry = AuditEntry.objects.get(action="notice.schedule")
    assert entry.actor == lead and entry.detail == {"at": at.isoformat()}


def test_publishing_and_overriding_are_audited(make_notice, lead, incident):
    notice = make_notice(audience="all")
    services.notice_publish(notice=notice, by=lead)
    services.direct_first_override(
        incident=incident, reason="The press has the story; customers must hear now.", by=lead
    )
    publish, override = AuditEntry.objects.exclude(action="staff.roles_change").order_by("id")
    assert (publish.action, publish.target_type) == ("notice.publish", "notice")
    assert (override.action, override.target_type) == ("incident.override", "incident")
    assert override.reason.startswith("The press has the story")


def test_a_scheduled_publication_by_beat_is_recorded_in_the_schedulers_name(make_notice, lead):
    from datetime import timedelta

    from django.utils import timezone

    at = timezone.now()
    notice = services.notice_schedule(notice=make_notice(audience="all"), at=at, by=lead)
    assert services.notices_publish_due(timezone.now() + timedelta(seconds=1)) == 1
    entry = AuditEntry.objects.get(action="notice.publish")
    assert (entry.actor, entry.target_id) == (lead, str(notice.pk))
    assert entry.detail == {"scheduled_for": at.isoformat()}


def test_the_unreachable_export_is_audited_and_neutralises_formulas(
    client, campaign, lead, audience
):
    audience["unreachable"].first_name = '=HYPERLINK("http://evil")'
    audience["unreachable"].save()
    login_staff(client, lead)
    response = client.get(reverse("admin:notices_campaign_unreachable", args=[campaign.pk]))
    body = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in body
    entry = AuditEntry.objects.get(action="export")
    assert (entry.actor, entry.target_type) == (lead, "campaign")


def test_role_changes_are_audited(alice):
    from django.contrib.auth.models import Group

    alice.user.groups.add(Group.objects.get(name=SUPPORT_AGENT))
    entry = AuditEntry.objects.get(action="staff.roles_change")
    assert entry.detail == {"change": "add", "groups": [SUPPORT_AGENT]}
    assert entry.target_label == alice.user.username


# --- the admin and the export -----------------------------------------------------------


def test_auditors_and_leads_read_the_log_support_cannot(client, entry):
    url = reverse("admin:portal_auditentry_changelist")
    for role, status in [(AUDITOR, 200), (INCIDENT_LEAD, 200), (SUPPORT_AGENT, 403)]:
        login_staff(client, staff_with_role(role))
        assert client.get(url).status_code == status, role
    change = reverse("admin:portal_auditentry_change", args=[entry.pk])
    login_staff(client, staff_with_role(AUDITOR))
    response = client.post(change, {"reason": "changed"})
    assert response.status_code in (403, 200)
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""


def test_the_export_neutralises_formulas_is_filtered_and_is_itself_audited(client, alice):
    audit(
        AuditAction.CUSTOMER_REVEAL,
        actor=alice.user,
        target=alice,
        field="phone",
        reason='=cmd|" /C calc"!A0',
    )
    audit(AuditAction.NOTE_ADD, actor=alice.user, target=alice, reason="+1 called back")
    auditor = staff_with_role(AUDITOR, username="audrey")
    login_staff(client, auditor)
    url = reverse("admin:portal_auditentry_export")
    response = client.get(url, {"action__exact": "customer.reveal"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["when", "who", "action"]
    assert len(rows) == 2  # the filter applies
    assert rows[1][2] == "customer.reveal"
    assert rows[1][7] == '\'=cmd|" /C calc"!A0'
    export = AuditEntry.objects.get(action="export")
    assert export.actor == auditor and export.detail["what"] == "audit log"


def test_only_roles_with_the_export_permission_export(client, entry):
    login_staff(client, staff_with_role(SUPPORT_AGENT))
    assert client.get(reverse("admin:portal_auditentry_export")).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"created_at__year": "abc"},
        {"created_at__year": "10000"},
        {"created_at__year": "99999999999999999999"},
        # A DataError on PostgreSQL.
        {"action__exact": "customer.view\x00"},
    ],
)
def test_a_bad_filter_is_refused_by_the_list_and_the_export(client, entry, params):
    login_staff(client, staff_with_role(AUDITOR))
    changelist = reverse("admin:portal_auditentry_changelist")
    listed = client.get(changelist, params)
    assert listed.status_code == 302 and listed["Location"].endswith("?e=1")
    export = client.get(reverse("admin:portal_auditentry_export"), params)
    assert export.status_code == 302 and export["Location"] == f"{changelist}?e=1"
    page = client.get(export["Location"])
    assert "Those filters are not valid." in page.content.decode()
    assert not AuditEntry.objects.filter(action="export").exists()


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_starts_are_neutralised(value):
    assert safe_cell(value) == "'" + value


def test_plain_values_are_left_alone():
    assert [safe_cell(v) for v in ["a=b", "1", None, 3]] == ["a=b", "1", "", "3"]


def test_the_export_streams_one_bounded_query_a_chunk(client, alice, monkeypatch):
    from django.test.utils import CaptureQueriesContext

    from portal import admin as portal_admin

    monkeypatch.setattr(portal_admin, "EXPORT_CHUNK", 3)
    # Entries written in the same instant: ties on created_at are broken by id.
    with time_machine.travel("2025-06-01 12:00:00+00:00", tick=False):
        for n in range(7):
            audit(AuditAction.NOTE_ADD, actor=alice.user, target=alice, reason=f"note {n}")
    login_staff(client, staff_with_role(AUDITOR))
    response = client.get(
        reverse("admin:portal_auditentry_export"), {"action__exact": AuditAction.NOTE_ADD}
    )
    lines = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as queries:
        first = [next(lines), next(lines)]  # the header and the first entry
        assert len(queries) == 1 and "LIMIT 3" in queries[0]["sql"]
        rest = list(lines)
    assert len(queries) == 3  # chunks of 3, 3 and 1: never one query for everything
    assert all("LIMIT" in q["sql"] for q in queries)
    rows = list(csv.reader(io.StringIO(b"".join(first + rest).decode())))
    assert [row[7] for row in rows[1:]] == [f"note {n}" for n in range(7)]


def test_the_lists_filters_read_nothing_of_the_whole_log(client, alice, campaign):
    # Django's date hierarchy and its filter for a plain column each ran a
    # SELECT DISTINCT over every entry, on every page of the list.
    audit(AuditAction.CUSTOMER_VIEW, actor=alice.user, target=alice)
    audit(AuditAction.CAMPAIGN_APPROVE, actor=alice.user, target=campaign)
    login_staff(client, staff_with_role(AUDITOR))
    url = reverse("admin:portal_auditentry_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    log_reads = [q["sql"] for q in queries if "portal_auditentry" in q["sql"]]
    assert not [sql for sql in log_reads if "DISTINCT" in sql or "MIN(" in sql], log_reads
    assert "?target_type__exact=campaign" in response.content.decode()
    listed = client.get(url, {"target_type__exact": "campaign"}).context["cl"].result_list
    assert {e.target_type for e in listed} == {"campaign"}
    assert client.get(url, {"created_at__year": "2026"}).status_code == 200


def test_making_someone_superuser_or_giving_a_permission_is_audited(client, alice):
    from django.contrib.auth.models import Permission

    root = staff_with_role(INCIDENT_LEAD, username="root", is_superuser=True)
    login_staff(client, root)
    target = alice.user
    reveal = Permission.objects.get(codename="reveal_customer_data")
    response = client.post(
        reverse("admin:customers_user_change", args=[target.pk]),
        {
            "username": target.username,
            "email": target.email,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "user_permissions": [reveal.pk],
        },
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.is_superuser and target.user_permissions.filter(pk=reveal.pk).exists()
    entries = AuditEntry.objects.filter(action="staff.roles_change", target_label=target.username)
    details = sorted((e.detail for e in entries), key=lambda d: sorted(d))
    assert {"change": "flags", "is_staff": True, "is_superuser": True} in details
    assert {"change": "add", "permissions": ["customers.reveal_customer_data"]} in details
    assert all(e.actor == root for e in entries)


def test_a_role_change_from_the_groups_side_is_audited_per_person(alice, bob):
    # group.user_set.add(...) sends the signal with the group as its instance:
    # the receiver took it for a user (AttributeError: no get_username).
    from django.contrib.auth.models import Group

    group = Group.objects.get(name=SUPPORT_AGENT)
    group.user_set.add(alice.user, bob.user)
    group.user_set.remove(bob.user)
    group.user_set.clear()
    entries = AuditEntry.objects.filter(action="staff.roles_change").order_by("id")
    assert [(e.target_label, e.detail) for e in entries] == [
        ("alice", {"change": "add", "groups": [SUPPORT_AGENT]}),
        ("bob", {"change": "add", "groups": [SUPPORT_AGENT]}),
        ("bob", {"change": "remove", "groups": [SUPPORT_AGENT]}),
        ("alice", {"change": "clear", "groups": [SUPPORT_AGENT]}),
    ]


def test_a_change_to_what_a_role_may_do_is_audited(client):
    from django.contrib.auth.models import Group, Permission

    root = staff_with_role(INCIDENT_LEAD, username="root", is_superuser=True)
    login_staff(client, root)
    support = Group.objects.get(name=SUPPORT_AGENT)
    export = Permission.objects.get(codename="export_auditentry")
    perms = [*support.permissions.values_list("pk", flat=True), export.pk]
    response = client.post(
        reverse("admin:auth_group_change", args=[support.pk]),
        {"name": support.name, "permissions": perms},
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="staff.roles_change", target_type="group")
    assert entry.actor == root and entry.target_label == SUPPORT_AGENT
    assert entry.detail == {
        "change": "add",
        "role": SUPPORT_AGENT,
        "permissions": ["portal.export_auditentry"],
    }


def test_the_log_is_searched_by_its_indexes_not_its_label_columns(client, alice, bob):
    # "=target_label" / "=actor_label" (no index) read every entry of the log.
    auditor = staff_with_role(AUDITOR, username="audrey", email="audrey@firsthand.test")
    agent = staff_with_role(SUPPORT_AGENT, username="sam", email="sam@firsthand.test")
    audit(AuditAction.CUSTOMER_VIEW, actor=agent, target=alice)
    audit(AuditAction.CUSTOMER_VIEW, actor=agent, target=bob)
    audit(AuditAction.CUSTOMER_VIEW, actor=auditor, target=bob)
    login_staff(client, auditor)
    url = reverse("admin:portal_auditentry_changelist")

    def found(term):
        with CaptureQueriesContext(connection) as queries:
            listed = client.get(url, {"q": term}).context["cl"].result_list
        log_reads = [q["sql"] for q in queries if 'FROM "portal_auditentry"' in q["sql"]]
        assert not [sql for sql in log_reads if "_label" in sql.split("WHERE", 1)[-1]]
        return {(e.actor_label, e.target_label) for e in listed if e.action == "customer.view"}

    assert found(alice.customer_ref) == {("sam@firsthand.test", alice.customer_ref)}
    assert found(bob.customer_ref.lower()) == {
        ("sam@firsthand.test", bob.customer_ref),
        ("audrey@firsthand.test", bob.customer_ref),
    }
    assert found("SAM@firsthand.test") == {
        ("sam@firsthand.test", alice.customer_ref),
        ("sam@firsthand.test", bob.customer_ref),
    }
    assert found("nobody@example.com") == set()

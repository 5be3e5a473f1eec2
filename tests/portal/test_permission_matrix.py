"""Every cell of the README's staff-role table, checked against the admin.

README, "Staff: roles, MFA and the audit log", documents what each role may do:

    |                                                   | Support | Comms | Lead | Auditor |
    | find a customer, see their page (masked)          |    ✓    |       |      | ✓ (ro)  |
    | reveal a masked value, giving a reason            |    ✓    |       |      |         |
    | correct a contact, note, claim code, resend       |    ✓    |       |      |         |
    | suspicious-message reports                        |    ✓    |       | view |  view   |
    | recommended steps and data-class texts            |  view   | edit  | edit |  view   |
    | notices and campaigns: compose, test-send         |         |   ✓   |  ✓   |  view   |
    | approve a campaign (never one's own), send, …     |         |       |  ✓   |         |
    | publish or schedule a notice, override direct 1st |         |       |  ✓   |         |
    | incidents                                         |  view   | view  | edit |  view   |
    | bulk imports                                      |         |       |  ✓   |  view   |
    | export (unreachable customers, import reports)    |         |       |  ✓   |         |
    | audit log: view and export                        |         |       |  ✓   |    ✓    |
    | staff logins, sessions, authenticators            |         |       |      |         |

Superusers can do everything (but, like anyone, never approve their own campaign).

``MATRIX`` below turns each row into concrete checks: a page (GET) or an action
(POST), with the set of roles allowed to use it. Every (check, role) pair is a
test, signed in with MFA as the admin requires:

* allowed GET: 200;  allowed POST: 200 or a redirect, and the action took effect
  (the row changed, the audit entry exists);
* refused: 403 (a few checks name another refusal, e.g. Django's "no such action"
  redirect), nothing changed, and nothing of the actor's on the audit log.

Where the app contradicts the README the cell is marked ``xfail(strict=True)``
in ``DISCREPANCIES`` so that fixing the app makes the test say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from customers.models import (
    ClaimCode,
    ContactNote,
    Customer,
    DataClass,
    ImportJob,
    Incident,
    Step,
    User,
)
from notices.models import (
    Campaign,
    Delivery,
    DirectFirstOverride,
    Notice,
    SuspiciousReport,
)
from notices.references import new_reference
from notices.services import campaign_create
from notices.services.reviews import version
from portal.models import AuditAction, AuditEntry
from portal.roles import AUDITOR, COMMUNICATIONS, INCIDENT_LEAD, SUPPORT_AGENT
from tests.factories import CustomerFactory, ExposureFactory, StaffFactory
from tests.staff import login_staff, staff_with_role

pytestmark = pytest.mark.django_db

S, C, L, A = SUPPORT_AGENT, COMMUNICATIONS, INCIDENT_LEAD, AUDITOR
SU = "Superuser"
ROLES = [S, C, L, A, SU]


# --- the objects every check works on ---------------------------------------------


@dataclass
class World:
    """One of everything the admin pages and actions act on."""

    actor: User
    incident: Incident
    customer: Customer
    campaign: Campaign  # a draft written by another communications officer
    alert: Campaign  # the campaign the customer was sent (for resends)
    notice: Notice  # a draft advisory for signed-in customers (no direct-first hold)
    step: Step
    data_class: DataClass
    import_job: ImportJob  # failed, with a report to download
    report: SuspiciousReport
    own_campaign: Campaign | None = None


def make_actor(role: str) -> User:
    if role == SU:
        return StaffFactory(is_superuser=True)
    return staff_with_role(role)


def build_world(actor: User) -> World:
    incident = Incident.objects.create(
        slug="matrix-incident",
        title="Records accessed",
        title_fr="Dossiers consultés",
        summary="Someone read our customer records.",
        status=Incident.Status.ACTIVE,
        discovered_at=timezone.now(),
    )
    customer = CustomerFactory(
        customer_ref="M0000001", email="jane@example.com", phone="+61411222333"
    )
    ExposureFactory(incident=incident, customer=customer)
    author = staff_with_role(COMMUNICATIONS)
    alert = campaign_create(incident=incident, channels=["sms"], by=author, name="First alert")
    Campaign.objects.filter(pk=alert.pk).update(status=Campaign.Status.COMPLETED)
    Delivery.objects.create(
        campaign=alert,
        customer=customer,
        channel="sms",
        to=customer.phone,
        status="sent",
        reference=new_reference(),
        sent_at=timezone.now(),
    )
    notice = Notice.objects.create(
        incident=incident,
        slug="matrix-advisory",
        kind=Notice.Kind.ADVISORY,
        audience=Notice.Audience.CUSTOMERS,
        title="Beware of scam calls",
        title_fr="Attention aux faux appels",
        summary="We never ask for your password.",
        summary_fr="Nous ne demandons jamais votre mot de passe.",
        body="We never ask for your password by phone.",
        body_fr="Nous ne demandons jamais votre mot de passe par téléphone.",
        created_by=author,
    )
    import_job = ImportJob.objects.create(
        kind=ImportJob.Kind.CUSTOMERS,
        file=ContentFile(b"customer_ref,email\nNOPE\n", name="upload.csv"),
        report=ContentFile(b"line,field,problem\n2,email,missing\n", name="report.csv"),
        status=ImportJob.Status.FAILED,
        created_by=author,
    )
    return World(
        actor=actor,
        incident=incident,
        customer=customer,
        campaign=campaign_create(
            incident=incident, channels=["sms", "email"], by=author, name="Second alert"
        ),
        alert=alert,
        notice=notice,
        step=Step.objects.order_by("pk").first(),  # seeded by a migration
        data_class=DataClass.objects.order_by("pk").first(),
        import_job=import_job,
        report=SuspiciousReport.objects.create(
            channel="sms", message="Pay now", sender="+61400000001"
        ),
    )


def audited(w: World, action: str, **fields) -> bool:
    return AuditEntry.objects.filter(actor=w.actor, action=action, **fields).exists()


def change_form(obj, **changes) -> dict:
    """POST data for ``obj``'s admin change form, with ``changes`` applied."""
    data = {}
    for name, value in {**model_to_dict(obj), **changes}.items():
        if value is None:
            data[name] = ""
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif hasattr(value, "tzinfo"):  # the admin splits a datetime in two inputs
            local = timezone.localtime(value)
            data[f"{name}_0"] = local.date().isoformat()
            data[f"{name}_1"] = local.strftime("%H:%M:%S")
        elif isinstance(value, list):
            data[name] = [getattr(v, "pk", v) for v in value]
        else:
            data[name] = value
    return data


def management_form(prefix: str) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": 0,
        f"{prefix}-INITIAL_FORMS": 0,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


def set_status(status: str) -> Callable[[World], None]:
    def prepare(w: World) -> None:
        Campaign.objects.filter(pk=w.campaign.pk).update(status=status)

    return prepare


def campaign_is(status: str, action: str) -> Callable[[World], bool]:
    def took_effect(w: World) -> bool:
        return Campaign.objects.get(pk=w.campaign.pk).status == status and audited(w, action)

    return took_effect


def write_own_campaign(w: World) -> None:
    # Written as the actor (roles that may not write one too: the draft is the setting).
    w.own_campaign = Campaign.objects.create(
        incident=w.incident, name="Mine", channel_order="sms", created_by=w.actor, edited_by=w.actor
    )


# --- the checks -------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    url: Callable[[World], str]
    method: str = "get"
    data: Callable[[World], dict] = lambda w: {}
    prepare: Callable[[World], None] | None = None
    took_effect: Callable[[World], bool] | None = None
    # A refusal is a 403 unless the admin has another way of saying no.
    refused_with: tuple[int, ...] = (403,)


def admin(name: str, *args: Callable[[World], object]) -> Callable[[World], str]:
    return lambda w: reverse(f"admin:{name}", args=[a(w) for a in args])


def customer_action(action: str) -> Callable[[World], str]:
    return lambda w: reverse(
        "admin:customers_customer_support_action", args=[w.customer.pk, action]
    )


def campaign_act(action: str) -> Callable[[World], str]:
    return lambda w: reverse("admin:notices_campaign_act", args=[w.campaign.pk, action])


def pk_of(name: str) -> Callable[[World], int]:
    return lambda w: getattr(w, name).pk


ADVISORY = {
    "kind": "advisory",
    "audience": "customers",
    "title": "Composed",
    "title_fr": "Rédigé",
    "summary": "A short summary.",
    "summary_fr": "Un court résumé.",
    "body": "Some text.",
    "body_fr": "Du texte.",
}

MATRIX: list[tuple[str, Check, set[str]]] = [
    # README row, the check, the roles allowed (superuser explicit: see "own campaign")
    (
        "find a customer",
        Check("customer list", lambda w: reverse("admin:customers_customer_changelist") + "?q=M00"),
        {S, A, SU},
    ),
    (
        "find a customer",
        Check(
            "customer page",
            admin("customers_customer_change", pk_of("customer")),
            took_effect=lambda w: audited(w, AuditAction.CUSTOMER_VIEW, target_label="M0000001"),
        ),
        {S, A, SU},
    ),
    (
        "reveal",
        Check(
            "reveal",
            customer_action("reveal"),
            method="post",
            data=lambda w: {"field": "phone", "reason": "Caller asked us to read it back"},
            took_effect=lambda w: audited(w, AuditAction.CUSTOMER_REVEAL, field="phone"),
        ),
        {S, SU},
    ),
    (
        "act for a customer",
        Check(
            "correct contact",
            customer_action("contact"),
            method="post",
            data=lambda w: {
                "field": "email",
                "value": "jane.new@example.com",
                "reason": "Customer rang with a new address",
            },
            took_effect=lambda w: (
                Customer.objects.get(pk=w.customer.pk).email == "jane.new@example.com"
                and audited(w, AuditAction.CONTACT_CHANGE, field="email")
            ),
        ),
        {S, SU},
    ),
    (
        "act for a customer",
        Check(
            "note a contact",
            customer_action("note"),
            method="post",
            data=lambda w: {"kind": "call", "text": "Rang about the alert."},
            took_effect=lambda w: (
                ContactNote.objects.filter(customer=w.customer, author=w.actor).exists()
                and audited(w, AuditAction.NOTE_ADD)
            ),
        ),
        {S, SU},
    ),
    (
        "act for a customer",
        Check(
            "issue a claim code",
            customer_action("claim-code"),
            method="post",
            data=lambda w: {"send": "screen"},
            took_effect=lambda w: (
                ClaimCode.objects.filter(customer=w.customer, issued_by=w.actor).exists()
                and audited(w, AuditAction.CLAIM_CODE_ISSUE)
            ),
        ),
        {S, SU},
    ),
    (
        "act for a customer",
        Check(
            "resend the latest alert",
            customer_action("resend"),
            method="post",
            data=lambda w: {"channel": "sms"},
            took_effect=lambda w: (
                Delivery.objects.filter(customer=w.customer, resent_by=w.actor).exists()
                and audited(w, AuditAction.DELIVERY_RESEND)
            ),
        ),
        {S, SU},
    ),
    (
        "suspicious reports",
        Check("suspicious report list", admin("notices_suspiciousreport_changelist")),
        {S, L, A, SU},
    ),
    (
        "suspicious reports",
        Check(
            "mark a report reviewed",
            admin("notices_suspiciousreport_changelist"),
            method="post",
            data=lambda w: {"action": "mark_reviewed", "_selected_action": [w.report.pk]},
            took_effect=lambda w: SuspiciousReport.objects.get(pk=w.report.pk).reviewed,
            # A view-only user is not offered the action: Django answers "no action
            # selected" (the list again, 200) or redirects back; nothing changes.
            refused_with=(403, 302, 200),
        ),
        {S, SU},
    ),
    ("steps and data classes", Check("step list", admin("customers_step_changelist")), set(ROLES)),
    (
        "steps and data classes",
        Check(
            "edit a step",
            admin("customers_step_change", pk_of("step")),
            method="post",
            data=lambda w: change_form(w.step, title="Edited title"),
            took_effect=lambda w: Step.objects.get(pk=w.step.pk).title == "Edited title",
        ),
        {C, L, SU},
    ),
    (
        "steps and data classes",
        Check("data class list", admin("customers_dataclass_changelist")),
        set(ROLES),
    ),
    (
        "steps and data classes",
        Check(
            "edit a data class",
            admin("customers_dataclass_change", pk_of("data_class")),
            method="post",
            data=lambda w: change_form(w.data_class, label="Edited label"),
            took_effect=lambda w: DataClass.objects.get(pk=w.data_class.pk).label == "Edited label",
        ),
        {C, L, SU},
    ),
    (
        "notices and campaigns",
        Check("campaign list", admin("notices_campaign_changelist")),
        {C, L, A, SU},
    ),
    (
        "notices and campaigns",
        Check("campaign add page", admin("notices_campaign_add")),
        {C, L, SU},
    ),
    (
        "notices and campaigns",
        Check(
            "compose a campaign",
            admin("notices_campaign_add"),
            method="post",
            data=lambda w: {
                "incident": w.incident.pk,
                "name": "Composed",
                "customer_status": "all",
                "channel_order": "sms,email",
                "sms_rate": 100,
                "email_rate": 200,
                "push_rate": 500,
                "parallelism": 4,
                **management_form("templates"),
            },
            took_effect=lambda w: (
                Campaign.objects.filter(name="Composed", created_by=w.actor)
                .exclude(templates=None)
                .exists()
            ),
        ),
        {C, L, SU},
    ),
    (
        "notices and campaigns",
        Check("campaign review", admin("notices_campaign_review", pk_of("campaign"))),
        {C, L, A, SU},
    ),
    (
        "notices and campaigns",
        Check(
            "test-send",
            admin("notices_campaign_test_send", pk_of("campaign")),
            method="post",
            data=lambda w: {"channel": "email", "language": "en", "to": w.actor.email},
            took_effect=lambda w: w.campaign.test_sends.filter(requested_by=w.actor).exists(),
        ),
        {C, L, SU},
    ),
    (
        "notices and campaigns",
        Check("notice list", admin("notices_notice_changelist")),
        {C, L, A, SU},
    ),
    (
        "notices and campaigns",
        Check("notice page", admin("notices_notice_change", pk_of("notice"))),
        {C, L, A, SU},
    ),
    ("notices and campaigns", Check("notice add page", admin("notices_notice_add")), {C, L, SU}),
    (
        "notices and campaigns",
        Check(
            "compose a notice",
            admin("notices_notice_add"),
            method="post",
            data=lambda w: {
                "incident": w.incident.pk,
                "slug": "composed",
                **ADVISORY,
                **management_form("updates"),
            },
            took_effect=lambda w: Notice.objects.filter(
                slug="composed", created_by=w.actor
            ).exists(),
        ),
        {C, L, SU},
    ),
    (
        "approve, send, pause, cancel",
        Check(
            "approve a campaign someone else wrote",
            campaign_act("approve"),
            method="post",
            data=lambda w: {"seen": version(Campaign.objects.get(pk=w.campaign.pk))},
            took_effect=campaign_is("approved", AuditAction.CAMPAIGN_APPROVE),
        ),
        {L, SU},
    ),
    (
        "approve, send, pause, cancel",
        Check(
            "approve one's own campaign",
            lambda w: reverse("admin:notices_campaign_act", args=[w.own_campaign.pk, "approve"]),
            method="post",
            data=lambda w: {"seen": version(Campaign.objects.get(pk=w.own_campaign.pk))},
            prepare=write_own_campaign,
            took_effect=lambda w: Campaign.objects.get(pk=w.own_campaign.pk).status != "draft",
            # A lead is sent back to the review page saying why; other roles get a 403.
            refused_with=(403, 302),
        ),
        set(),  # nobody, superusers included
    ),
    (
        "approve, send, pause, cancel",
        Check(
            "send",
            campaign_act("send"),
            method="post",
            prepare=set_status("approved"),
            took_effect=campaign_is("sending", AuditAction.CAMPAIGN_SEND),
        ),
        {L, SU},
    ),
    (
        "approve, send, pause, cancel",
        Check(
            "pause",
            campaign_act("pause"),
            method="post",
            prepare=set_status("sending"),
            took_effect=campaign_is("paused", AuditAction.CAMPAIGN_PAUSE),
        ),
        {L, SU},
    ),
    (
        "approve, send, pause, cancel",
        Check(
            "resume",
            campaign_act("resume"),
            method="post",
            prepare=set_status("paused"),
            took_effect=campaign_is("sending", AuditAction.CAMPAIGN_RESUME),
        ),
        {L, SU},
    ),
    (
        "approve, send, pause, cancel",
        Check(
            "cancel",
            campaign_act("cancel"),
            method="post",
            prepare=set_status("approved"),
            took_effect=campaign_is("cancelled", AuditAction.CAMPAIGN_CANCEL),
        ),
        {L, SU},
    ),
    (
        "publish, schedule, override",
        Check(
            "publish a notice",
            admin("notices_notice_publish", pk_of("notice")),
            method="post",
            data=lambda w: {"seen": version(Notice.objects.get(pk=w.notice.pk))},
            took_effect=lambda w: (
                Notice.objects.get(pk=w.notice.pk).status == "published"
                and audited(w, AuditAction.NOTICE_PUBLISH)
            ),
        ),
        {L, SU},
    ),
    (
        "publish, schedule, override",
        Check(
            "schedule a notice",
            admin("notices_notice_publish", pk_of("notice")),
            method="post",
            data=lambda w: {
                "publish_at": "2030-01-01 09:00",
                "seen": version(Notice.objects.get(pk=w.notice.pk)),
            },
            took_effect=lambda w: (
                Notice.objects.get(pk=w.notice.pk).status == "scheduled"
                and audited(w, AuditAction.NOTICE_SCHEDULE)
            ),
        ),
        {L, SU},
    ),
    (
        "publish, schedule, override",
        Check(
            "override direct first",
            admin("customers_incident_override", pk_of("incident")),
            method="post",
            data=lambda w: {"reason": "Records are for sale online; warn everyone now."},
            took_effect=lambda w: (
                DirectFirstOverride.objects.filter(incident=w.incident, by=w.actor).exists()
                and audited(w, AuditAction.DIRECT_FIRST_OVERRIDE)
            ),
        ),
        {L, SU},
    ),
    ("incidents", Check("incident list", admin("customers_incident_changelist")), set(ROLES)),
    (
        "incidents",
        Check("incident page", admin("customers_incident_change", pk_of("incident"))),
        set(ROLES),
    ),
    ("incidents", Check("incident add page", admin("customers_incident_add")), {L, SU}),
    (
        "incidents",
        Check(
            "edit an incident",
            admin("customers_incident_change", pk_of("incident")),
            method="post",
            data=lambda w: change_form(w.incident, title_fr="Titre corrigé"),
            took_effect=lambda w: (
                Incident.objects.get(pk=w.incident.pk).title_fr == "Titre corrigé"
            ),
        ),
        {L, SU},
    ),
    ("bulk imports", Check("import list", admin("customers_importjob_changelist")), {L, A, SU}),
    (
        "bulk imports",
        Check("import page", admin("customers_importjob_change", pk_of("import_job"))),
        {L, A, SU},
    ),
    (
        "bulk imports",
        Check(
            "import progress",
            admin("customers_importjob_progress", pk_of("import_job")),
            refused_with=(403, 404),
        ),
        {L, A, SU},
    ),
    ("bulk imports", Check("import upload page", admin("customers_importjob_add")), {L, SU}),
    (
        "bulk imports",
        Check(
            "upload an import",
            admin("customers_importjob_add"),
            method="post",
            data=lambda w: {
                "kind": "customers",
                "file": SimpleUploadedFile("c.csv", b"customer_ref,email\nUP0001,a@example.com\n"),
            },
            took_effect=lambda w: ImportJob.objects.filter(created_by=w.actor).exists(),
        ),
        {L, SU},
    ),
    (
        "export",
        Check(
            "unreachable customers CSV",
            admin("notices_campaign_unreachable", pk_of("campaign")),
            took_effect=lambda w: audited(
                w, AuditAction.EXPORT, detail__what="customers no channel reaches"
            ),
        ),
        {L, SU},
    ),
    (
        "export",
        Check(
            "import report CSV",
            admin("customers_importjob_report", pk_of("import_job")),
            took_effect=lambda w: audited(w, AuditAction.EXPORT, detail__what="import report"),
            # The view answers 404 to those who may not see imports at all.
            refused_with=(403, 404),
        ),
        {L, SU},
    ),
    ("audit log", Check("audit log", admin("portal_auditentry_changelist")), {L, A, SU}),
    (
        "audit log",
        Check(
            "audit log CSV",
            admin("portal_auditentry_export"),
            took_effect=lambda w: audited(w, AuditAction.EXPORT, target_label="audit log"),
        ),
        {L, A, SU},
    ),
    ("staff", Check("staff logins", admin("customers_user_changelist")), {SU}),
    ("staff", Check("staff emails", admin("account_emailaddress_changelist")), {SU}),
    ("staff", Check("sessions", admin("usersessions_usersession_changelist")), {SU}),
    ("staff", Check("authenticators", admin("mfa_authenticator_changelist")), {SU}),
]

# Cells where the app does not do what the README says (see the report in each reason).
DISCREPANCIES: dict[tuple[str, str], str] = {}


def cells() -> list:
    """One test per (check, role): the role allowed or not, xfail where the app disagrees."""
    params = []
    for _row, check, allowed in MATRIX:
        for role in ROLES:
            reason = DISCREPANCIES.get((check.name, role))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(
                pytest.param(check, role, role in allowed, id=f"{check.name} | {role}", marks=marks)
            )
    return params


def consume(response) -> None:
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)


@pytest.fixture
def world_for(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return lambda role: build_world(make_actor(role))


@pytest.mark.parametrize(("check", "role", "allowed"), cells())
def test_permission_matrix(client, world_for, check: Check, role: str, allowed: bool):
    w = world_for(role)
    if check.prepare:
        check.prepare(w)
    login_staff(client, w.actor)
    response = getattr(client, check.method)(check.url(w), check.data(w))
    consume(response)
    if allowed:
        expected = (200,) if check.method == "get" else (200, 302)
        assert response.status_code in expected
        if check.took_effect:
            assert check.took_effect(w), "allowed, but the action did not take effect"
    else:
        assert response.status_code in check.refused_with
        if check.took_effect:
            assert not check.took_effect(w), "refused, yet the action took effect"
        written = AuditEntry.objects.filter(actor=w.actor).exclude(action=AuditAction.STAFF_SIGN_IN)
        assert not written.exists(), list(written.values_list("action", flat=True))


def test_the_matrix_refuses_something_of_every_kind_to_every_role():
    """Without refused cells the matrix could not catch a permission wrongly granted."""
    for role in (S, C, L, A):
        for method in ("get", "post"):
            refused = [c for _, c, allowed in MATRIX if c.method == method and role not in allowed]
            assert refused, (role, method)
        assert any(role in allowed for _, _, allowed in MATRIX), role
    assert all(SU in allowed for _, c, allowed in MATRIX if c.name != "approve one's own campaign")


# --- the customer page, role by role ------------------------------------------------

PAGE_ACTIONS = ("can_reveal", "can_correct", "can_note", "can_claim", "can_resend")


@pytest.mark.parametrize(("role", "acts"), [(S, True), (A, False), (SU, True)], ids=[S, A, SU])
def test_customer_page_is_read_only_for_the_auditor_and_logged_for_all(
    client, world_for, role, acts
):
    w = world_for(role)
    login_staff(client, w.actor)
    response = client.get(reverse("admin:customers_customer_change", args=[w.customer.pk]))
    assert response.status_code == 200
    assert {name: response.context[name] for name in PAGE_ACTIONS} == dict.fromkeys(
        PAGE_ACTIONS, acts
    )
    html = response.content.decode()
    assert "jane@example.com" not in html and "+61411222333" not in html
    entry = AuditEntry.objects.get(actor=w.actor, action=AuditAction.CUSTOMER_VIEW)
    assert (entry.target_type, entry.target_label) == ("customer", "M0000001")


def test_an_auditor_sees_the_customer_but_cannot_reveal(client, world_for):
    w = world_for(A)
    login_staff(client, w.actor)
    page = reverse("admin:customers_customer_change", args=[w.customer.pk])
    assert client.get(page).status_code == 200
    response = client.post(
        reverse("admin:customers_customer_support_action", args=[w.customer.pk, "reveal"]),
        {"field": "phone", "reason": "Checking the record for an audit"},
    )
    assert response.status_code == 403
    assert "+61411222333" not in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.CUSTOMER_REVEAL).exists()


def test_a_support_agent_reveals_once_for_a_reason(client, world_for):
    w = world_for(S)
    login_staff(client, w.actor)
    url = reverse("admin:customers_customer_support_action", args=[w.customer.pk, "reveal"])
    short = client.post(url, {"field": "phone", "reason": "because"}, follow=True)
    assert "+61411222333" not in short.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.CUSTOMER_REVEAL).exists()
    response = client.post(url, {"field": "phone", "reason": "Caller asked us to read it back"})
    assert response.status_code == 200 and "+61411222333" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action=AuditAction.CUSTOMER_REVEAL)
    assert (entry.actor, entry.field) == (w.actor, "phone")


@pytest.mark.parametrize("role", [C, L], ids=[C, L])
def test_roles_without_customer_access_leave_no_trace_on_the_customer(client, world_for, role):
    w = world_for(role)
    login_staff(client, w.actor)
    response = client.get(reverse("admin:customers_customer_change", args=[w.customer.pk]))
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.CUSTOMER_VIEW).exists()

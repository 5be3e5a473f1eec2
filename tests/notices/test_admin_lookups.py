"""Admin lists filter only by their own filters: no URL lookup can find a
masked email, phone or name one character at a time."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from notices.models import Delivery
from portal.admin_lookups import FilterLookupsOnly
from portal.models import AuditEntry
from portal.paginators import EstimatedCountPaginator
from portal.roles import AUDITOR
from tests.factories import CustomerFactory, ExposureFactory
from tests.staff import login_staff, staff_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor_client(client):
    return login_staff(client, staff_with_role(AUDITOR, username="aud"))


@pytest.mark.parametrize(
    "params",
    [
        {"email__regex": "^victim"},
        {"email__startswith": "victim"},
        {"first_name__startswith": "Zeb"},
        {"phone__contains": "412"},
        {"user__email__startswith": "v"},
        {"is_current__regex": "."},
    ],
)
def test_customer_list_refuses_lookups_that_are_not_its_filters(auditor_client, params):
    CustomerFactory(email="victim@example.com", first_name="Zebedee", phone="+61412345678")
    response = auditor_client.get(reverse("admin:customers_customer_changelist"), params)
    assert response.status_code == 400
    assert b"victim" not in response.content and b"Zebedee" not in response.content
    assert not AuditEntry.objects.filter(action__startswith="customer.").exists()


def test_a_delivery_cannot_be_found_by_the_beginning_of_its_address(
    auditor_client, campaign, audience
):
    Delivery.objects.create(
        campaign=campaign,
        customer=audience["email_only"],
        channel="email",
        to="e1@example.com",
        status="sent",
        reference="EMAILREF2345",
    )
    url = reverse("admin:notices_delivery_changelist")
    assert auditor_client.get(url, {"to__startswith": "e1@"}).status_code == 400
    assert auditor_client.get(url, {"customer__email__exact": "e1@example.com"}).status_code == 400


def test_the_lists_own_filters_still_work(auditor_client, incident, campaign, audience):
    ExposureFactory(incident=incident)
    cases = [
        ("admin:customers_customer_changelist", {"is_current__exact": "1"}),
        ("admin:customers_customer_changelist", {"preferred_channel__exact": "sms"}),
        ("admin:customers_exposure_changelist", {"incident__id__exact": str(incident.pk)}),
        ("admin:notices_delivery_changelist", {"status__exact": "sent", "in_doubt__exact": "0"}),
        ("admin:notices_campaign_changelist", {"incident__id__exact": str(incident.pk)}),
        ("admin:portal_auditentry_changelist", {"created_at__year": "2026"}),
        ("admin:portal_auditentry_changelist", {"action__exact": "customer.reveal"}),
    ]
    for name, params in cases:
        assert auditor_client.get(reverse(name), params).status_code == 200, (name, params)


def test_every_admin_on_the_site_is_restricted_allauths_included():
    assert admin.site._registry
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, FilterLookupsOnly), model


@pytest.mark.parametrize("ticked", ["abc", "1\x00", "9223372036854775808", "-9223372036854775809"])
def test_an_action_on_ticked_boxes_that_are_not_keys_is_refused(client, ticked):
    # Django filtered pk__in on them as posted: a ValueError (or, on PostgreSQL,
    # a DataError) and a 500.
    from django.contrib.auth.models import Group

    from tests.factories import StaffFactory

    login_staff(client, StaffFactory(is_superuser=True))
    groups = Group.objects.count()
    response = client.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [ticked], "index": "0"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 302
    assert Group.objects.count() == groups
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="fr")
    assert "sélectionnez-les à nouveau" in page.content.decode()


def test_an_autocomplete_term_with_a_nul_finds_nothing(client, alice):
    # It reached the search query: a DataError and a 500 on PostgreSQL.
    from tests.factories import StaffFactory

    login_staff(client, StaffFactory(is_superuser=True))
    params = {"app_label": "customers", "model_name": "customer", "field_name": "user"}
    response = client.get(reverse("admin:autocomplete"), {**params, "term": "ali\x00"})
    assert response.status_code == 200 and response.json()["results"] == []
    response = client.get(reverse("admin:autocomplete"), {**params, "term": "alice"})
    assert response.status_code == 200 and response.json()["results"]


@pytest.mark.parametrize(
    ("name", "orderings"),
    [
        ("customers_customer", {"customer_ref", "-customer_ref", "-pk"}),
        ("customers_user", {"username", "-username"}),
        ("customers_exposure", {"-pk"}),
        ("customers_stepprogress", {"-pk"}),
        ("customers_claimcode", {"-pk"}),
        ("customers_contactnote", {"-pk"}),
        ("notices_delivery", {"-pk"}),
        ("portal_auditentry", {"created_at", "-created_at", "-id", "-pk"}),
    ],
)
def test_a_list_of_millions_sorts_only_by_an_indexed_column(client, name, orderings):
    # ?o= sorted by any column shown, whatever the headers offered: on millions
    # of rows an unindexed sort (is_current, status, sent_at…) reads them all.
    root = staff_with_role(AUDITOR, username="root", is_superuser=True)
    login_staff(client, root)
    url = reverse(f"admin:{name}_changelist")
    model = apps.get_model(*name.split("_", 1))
    columns = len(admin.site.get_model_admin(model).list_display)
    for column in range(columns + 1):
        for sign in ("", "-"):
            response = client.get(url, {"o": f"{sign}{column}"})
            assert response.status_code == 200, (name, column)
            used = set(map(str, response.context["cl"].queryset.query.order_by))
            assert used <= orderings, (name, column, used)


@pytest.mark.parametrize(
    "name",
    [
        "customers_stepprogress",
        "customers_contactnote",
        "notices_suspiciousreport",
        "customers_user",
    ],
)
def test_a_big_list_counts_its_rows_once_and_by_estimate(client, name):
    # Each page counted the whole table twice (the page links and "N total").
    login_staff(client, staff_with_role(AUDITOR, username="root", is_superuser=True))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1, counts
    assert isinstance(response.context["cl"].paginator, EstimatedCountPaginator)


def test_a_filtered_big_list_counts_up_to_a_limit_and_serves_no_deep_page(client, monkeypatch):
    # A sidebar filter (is_current, a status) counted every matching row of
    # millions, and ?p=90000 made the database read 9 million rows to skip them.
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 4)
    monkeypatch.setattr(admin.site.get_model_admin(Customer), "list_per_page", 2)
    CustomerFactory.create_batch(7, is_current=True)
    login_staff(client, staff_with_role(AUDITOR, username="root", is_superuser=True))
    url = reverse("admin:customers_customer_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"is_current__exact": "1"})
    [count] = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert "LIMIT 5" in count
    assert response.context["cl"].result_count == 5
    assert client.get(url, {"is_current__exact": "1", "p": "2"}).status_code == 200
    deep = client.get(url, {"is_current__exact": "1", "p": "3"})
    assert deep.status_code == 302 and deep["Location"].endswith("?e=1")
    assert client.get(url, {"p": "3"})["Location"].endswith("?e=1")


def test_a_delivery_is_found_by_its_reference_as_the_message_prints_it(
    auditor_client, campaign, audience
):
    customer = audience["email_only"]
    delivery = Delivery.objects.create(
        campaign=campaign,
        customer=customer,
        channel="email",
        to="e1@example.com",
        status="sent",
        reference="K7QM3TXP9HWC",
        provider_id="SM123",
    )
    url = reverse("admin:notices_delivery_changelist")
    for term in [
        "K7QM-3TXP-9HWC",
        "k7qm 3txp 9hwc",
        "K7QM3TXP9HWC",
        "SM123",
        customer.customer_ref,
    ]:
        listed = auditor_client.get(url, {"q": term}).context["cl"].result_list
        assert list(listed) == [delivery], term
    assert not auditor_client.get(url, {"q": "K7QM-3TXP-9HWD"}).context["cl"].result_list

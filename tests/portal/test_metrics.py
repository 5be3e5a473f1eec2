"""GET /metrics: who may read it, and what it says after real work."""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from customers.models import ImportJob
from notices import channels
from notices.channels import locmem
from notices.channels.base import ChannelError, OutgoingMessage
from notices.models import Campaign, Delivery
from portal.observability import workers
from portal.roles import SUPPORT_AGENT
from tests.factories import CustomerFactory, StaffFactory
from tests.staff import login_staff, staff_with_role

pytestmark = pytest.mark.django_db

URL = "/metrics"
TOKEN = "metrics-token-7f3a9c"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[str, dict[tuple, float]]:
    """family name → {sorted label pairs of a sample (with its name) → value}."""
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    families = {}
    for family in text_string_to_metric_families(response.content.decode()):
        families[family.name] = {
            (sample.name, *sorted(sample.labels.items())): sample.value for sample in family.samples
        }
    return families


def value(families, family: str, sample: str | None = None, **labels) -> float:
    key = (sample or family, *sorted(labels.items()))
    return families.get(family, {}).get(key, 0.0)


# --- who may read it ----------------------------------------------------------


def test_the_bearer_token_is_enough(client):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert b"firsthand_deliveries" in response.content
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.parametrize(
    "header", [f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", "Bearer metrics-token"]
)
def test_a_wrong_token_is_refused_and_learns_nothing(client, header):
    response = client.get(URL, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.content == b""
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_token_is_accepted_when_none_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_anonymous_visitors_are_refused(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.content == b""


def test_a_customer_is_refused(alice_client):
    response = alice_client.get(URL)
    assert response.status_code == 403
    assert response.content == b""


def test_staff_must_have_used_mfa(client):
    client.force_login(StaffFactory())
    assert client.get(URL).status_code == 403


def test_staff_signed_in_with_mfa_may_read_it(client):
    login_staff(client, staff_with_role(SUPPORT_AGENT))
    response = client.get(URL)
    assert response.status_code == 200
    assert b"# TYPE firsthand_queue_depth gauge" in response.content


# --- what it says -------------------------------------------------------------


def _campaign(incident, status, **fields):
    return Campaign.objects.create(incident=incident, name=f"c-{status}", status=status, **fields)


def _deliveries(campaign, channel, status, n, **fields):
    for _ in range(n):
        Delivery.objects.create(
            campaign=campaign, customer=CustomerFactory(), channel=channel, status=status, **fields
        )


def test_delivery_counts_by_campaign_channel_and_status(client, incident):
    sending = _campaign(incident, "sending")
    _deliveries(sending, "sms", "sent", 3)
    _deliveries(sending, "sms", "pending", 2)
    _deliveries(sending, "email", "failed", 1)
    recent = _campaign(incident, "completed", completed_at=timezone.now() - timedelta(days=1))
    _deliveries(recent, "email", "delivered", 2)
    # Finished long ago: left out, so its rows cost nothing at scrape time.
    old = _campaign(incident, "completed", completed_at=timezone.now() - timedelta(days=30))
    _deliveries(old, "sms", "sent", 1)

    families = scrape(client)
    counts = families["firsthand_deliveries"]
    assert counts == {
        ("firsthand_deliveries", ("campaign", str(sending.pk)), ("channel", "sms"), ("status", "sent")): 3,
        ("firsthand_deliveries", ("campaign", str(sending.pk)), ("channel", "sms"), ("status", "pending")): 2,
        ("firsthand_deliveries", ("campaign", str(sending.pk)), ("channel", "email"), ("status", "failed")): 1,
        ("firsthand_deliveries", ("campaign", str(recent.pk)), ("channel", "email"), ("status", "delivered")): 2,
    }  # fmt: skip
    assert value(families, "firsthand_campaigns", status="completed") == 2
    assert value(families, "firsthand_campaigns", status="sending") == 1


def test_deliveries_left_sending_by_a_dead_worker(client, incident, settings):
    settings.DELIVERY_IN_DOUBT_AFTER = 300
    campaign = _campaign(incident, "sending")
    _deliveries(campaign, "sms", "sending", 2, claimed_at=timezone.now() - timedelta(minutes=10))
    _deliveries(campaign, "sms", "sending", 1, claimed_at=timezone.now())
    assert value(scrape(client), "firsthand_deliveries_left_sending") == 2


def test_queue_depth_per_queue_on_the_file_broker(client, file_broker):
    with Connection("filesystem://", transport_options=file_broker) as conn:
        bulk = conn.SimpleQueue("bulk")
        bulk.put({"n": 1})
        bulk.put({"n": 2})
        conn.SimpleQueue("transactional").put({"n": 3})
    families = scrape(client)
    assert value(families, "firsthand_broker_up") == 1
    assert value(families, "firsthand_queue_depth", queue="bulk") == 2
    assert value(families, "firsthand_queue_depth", queue="transactional") == 1
    assert value(families, "firsthand_queue_depth", queue="imports") == 0


def test_an_unreachable_broker_is_reported_not_fatal(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    families = scrape(client)
    assert value(families, "firsthand_broker_up") == 0
    assert families["firsthand_queue_depth"] == {}


def test_import_progress(client):
    from django.core.cache import cache

    job = ImportJob.objects.create(
        kind="customers", file="imports/x.csv", status="running", bytes_total=1000
    )
    ImportJob.objects.create(kind="customers", file="imports/y.csv", status="done")
    cache.set(f"import-progress:{job.pk}", 250)
    families = scrape(client)
    labels = {"job": str(job.pk), "kind": "customers"}
    assert value(families, "firsthand_import_bytes_read", **labels) == 250
    assert value(families, "firsthand_import_file_bytes", **labels) == 1000
    assert value(families, "firsthand_import_jobs", status="running") == 1
    assert value(families, "firsthand_import_jobs", status="done") == 1


def test_workers_seen_recently(client, settings):
    settings.WORKER_HEARTBEAT_SECONDS = 30
    workers.heartbeat(hostname="bulk@a", queues=["bulk"])
    workers.heartbeat(hostname="fast@b", queues=["default"], now=timezone.now().timestamp() - 600)
    assert value(scrape(client), "firsthand_workers_seen") == 1


def test_provider_sends_errors_and_latency(client):
    sms = "firsthand_provider_send_seconds"
    before = scrape(client)
    backend = channels.get_backend("sms")
    backend.send(OutgoingMessage(reference="R1", to="+61411000001", body="hello"))
    locmem.invalid_numbers.add("+61411000002")
    with pytest.raises(ChannelError):
        backend.send(OutgoingMessage(reference="R2", to="+61411000002", body="hello"))
    after = scrape(client)

    def delta(family, sample=None, **labels):
        return value(after, family, sample, **labels) - value(before, family, sample, **labels)

    labels = {"channel": "sms", "provider": "primary"}
    assert delta("firsthand_provider_sends", "firsthand_provider_sends_total", **labels) == 1
    assert (
        delta(
            "firsthand_provider_errors",
            "firsthand_provider_errors_total",
            kind="permanent",
            **labels,
        )
        == 1
    )
    assert delta(sms, f"{sms}_count", **labels) == 2


def test_sign_ins_and_failures(client, alice):
    before = scrape(client)
    client.post(reverse("account_login"), {"login": "alice@example.com", "password": "wrong-one-x"})
    client.post(
        reverse("account_login"),
        {"login": "alice@example.com", "password": "correct-horse-battery"},
    )
    after = scrape(client)
    signed_in = "firsthand_sign_ins", "firsthand_sign_ins_total"
    failed = "firsthand_sign_in_failures", "firsthand_sign_in_failures_total"
    assert value(after, *signed_in, who="customer") - value(before, *signed_in, who="customer") == 1
    assert value(after, *failed, reason="password") - value(before, *failed, reason="password") == 1


def test_staff_sign_ins_and_wrong_second_factors(client):
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.portal.test_staff_auth import SECRET, sign_in, totp_now

    staff = staff_with_role(SUPPORT_AGENT)
    TOTP.activate(staff, SECRET)
    before = scrape(client)
    sign_in(client, staff)
    client.post(reverse("mfa_authenticate"), {"code": "000000"})
    client.post(reverse("mfa_authenticate"), {"code": totp_now()})
    after = scrape(client)
    signed_in = "firsthand_sign_ins", "firsthand_sign_ins_total"
    failed = "firsthand_sign_in_failures", "firsthand_sign_in_failures_total"
    assert value(after, *signed_in, who="staff") - value(before, *signed_in, who="staff") == 1
    assert value(after, *failed, reason="mfa") - value(before, *failed, reason="mfa") == 1


def test_wrong_one_time_codes(client, alice, django_capture_on_commit_callbacks):
    failed = "firsthand_sign_in_failures", "firsthand_sign_in_failures_total"
    before = value(scrape(client), *failed, reason="code")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_request_login_code"), {"email": "alice@example.com"})
    client.post(reverse("account_confirm_login_code"), {"code": "WRONG-CODE"})
    assert value(scrape(client), *failed, reason="code") - before == 1


def test_rate_limit_refusals_by_route(client, settings):
    settings.VERIFY_RATE_PER_IP = "1/m"
    name = "firsthand_rate_limit_refusals"
    before = value(scrape(client), name, f"{name}_total", route="notices:verify")
    assert client.post("/verify", {"reference": "ABCD-EFGH-JKLM"}).status_code != 429
    assert client.post("/verify", {"reference": "ABCD-EFGH-JKLM"}).status_code == 429
    after = value(scrape(client), name, f"{name}_total", route="notices:verify")
    assert after - before == 1


def test_a_worker_host_serves_its_metrics(settings):
    from portal.observability.celery_hooks import start_worker_metrics

    settings.WORKER_METRICS_PORT = 0  # off
    assert start_worker_metrics() is None
    settings.WORKER_METRICS_PORT = _free_port()
    server = start_worker_metrics()
    try:
        url = f"http://127.0.0.1:{settings.WORKER_METRICS_PORT}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read().decode()
        assert "firsthand_provider_sends" in body
        # Only this process's own counters: no database figures on a worker host.
        assert "firsthand_deliveries" not in body
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prometheus_scrapes_each_web_machine_at_its_own_address(client, settings):
    """Each machine's counters are its own: Prometheus scrapes each at its address,
    over plain HTTP. Production settings answered with a 400 (a host not in
    ALLOWED_HOSTS), or a 301 to the public address, where the load balancer
    hands the scrape to a machine at random."""
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    for host in ["10.0.3.7:8000", "portal.example.com"]:
        response = client.get(URL, HTTP_HOST=host, **bearer)
        assert response.status_code == 200, (host, response.status_code)
        assert b"firsthand_deliveries" in response.content
    wrong = client.get(URL, HTTP_HOST="10.0.3.7:8000", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401 and wrong.content == b""
    # Without a token (a staff member's browser) it is an ordinary page of the site.
    assert client.get(URL, HTTP_HOST="10.0.3.7:8000").status_code == 400
    assert client.get(URL, HTTP_HOST="portal.example.com").status_code == 301

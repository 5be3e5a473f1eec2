"""The admin's pipeline health page, and the readings behind it."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu import Connection

from notices.models import Campaign, Delivery, DeliveryEvent
from portal.observability import pipeline, workers
from portal.observability.workers import Heartbeat
from portal.roles import AUDITOR, SUPPORT_AGENT
from tests.factories import CustomerFactory, StaffFactory
from tests.staff import login_staff, staff_with_role

pytestmark = pytest.mark.django_db

URL = "/admin/pipeline/"


@pytest.fixture
def staff_client(client):
    return login_staff(client, staff_with_role(SUPPORT_AGENT))


def _delivery(campaign, channel="sms", provider="primary", **fields):
    return Delivery.objects.create(
        campaign=campaign, customer=CustomerFactory(), channel=channel, provider=provider, **fields
    )


def _event(delivery, status, detail="", source="dispatch"):
    return DeliveryEvent.objects.create(
        delivery=delivery, source=source, status=status, detail=detail
    )


# --- who may see it -------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_customer_is_refused(alice_client):
    response = alice_client.get(URL, follow=True)
    assert response.status_code == 403


def test_staff_without_mfa_must_pass_it_first(client):
    client.force_login(StaffFactory())
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("role", [SUPPORT_AGENT, AUDITOR])
def test_any_staff_member_with_mfa_sees_it_linked_from_the_index(client, role):
    login_staff(client, staff_with_role(role))
    assert URL in client.get("/admin/").content.decode()
    assert client.get(URL).status_code == 200


# --- what it shows ----------------------------------------------------------------


def test_the_page_shows_the_pipeline_at_a_glance(staff_client, incident, file_broker, settings):
    settings.DELIVERY_IN_DOUBT_AFTER = 300
    settings.WORKER_HEARTBEAT_SECONDS = 30
    with Connection("filesystem://", transport_options=file_broker) as conn:
        for n in range(3):
            conn.SimpleQueue("bulk").put({"n": n})
    workers.heartbeat(hostname="bulk@web-1", queues=["bulk", "imports"])
    workers.heartbeat(hostname="fast@web-2", queues=["transactional"], now=time.time() - 900)

    sending = Campaign.objects.create(incident=incident, name="Passport holders", status="sending")
    Campaign.objects.filter(pk=sending.pk).update(
        dispatched_at=timezone.now() - timedelta(minutes=10),
        updated_at=timezone.now() - timedelta(minutes=10),
    )
    _delivery(sending, status="pending")
    _delivery(sending, status="sending", claimed_at=timezone.now() - timedelta(minutes=7))
    sms = [_delivery(sending, status="sent") for _ in range(3)]
    for delivery in sms:
        _event(delivery, "sent", "handed to the provider")
    _event(sms[0], "pending", "retry in 4s: HTTP 503")
    _event(sms[1], "failed", "code 21211: invalid number")
    _event(sms[1], "failed", "falling back to email")  # bookkeeping, not an error
    _event(sms[2], "pending", "left unfinished by a worker", source="sweep")
    # Only claimed when its worker stopped: retried, no provider asked, not in doubt.
    _event(sms[0], "pending", "claimed by a worker that stopped before sending", source="sweep")
    email = _delivery(sending, channel="email", provider="email", status="delivered")
    _event(email, "sent", "handed to the provider")

    response = staff_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-queue="bulk">3<' in html
    assert 'data-queue="transactional">0<' in html
    assert "bulk@web-1" in html and "fast@web-2" in html
    assert html.count('data-worker-state="alive"') == 1
    assert html.count('data-worker-state="missing"') == 1
    assert 'data-error-rate="sms:primary">40%<' in html
    assert 'data-error-rate="email:email">0%<' in html
    assert 'data-field="left-sending">1' in html
    assert 'data-field="marked-in-doubt">1<' in html
    assert f'data-stalled="{sending.pk}"' in html and "Passport holders" in html


def test_a_quiet_pipeline(staff_client, file_broker):
    html = staff_client.get(URL).content.decode()
    assert "No worker has reported in the last day." in html
    assert "Nothing was sent in the last hour." in html
    assert 'data-field="left-sending">0<' in html


def test_an_unreachable_broker_is_said_so(staff_client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    assert "The broker did not answer." in staff_client.get(URL).content.decode()


# --- the readings -----------------------------------------------------------------


def test_provider_errors_count_only_the_last_hour(incident):
    campaign = Campaign.objects.create(incident=incident, name="c", status="sending")
    delivery = _delivery(campaign)
    old = [_event(delivery, "pending", "retry in 1s: HTTP 503") for _ in range(5)]
    DeliveryEvent.objects.filter(pk__in=[e.pk for e in old]).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    _event(delivery, "sent", "handed to the provider")
    first = pipeline.first_event_id_since(timezone.now() - timedelta(hours=1))
    assert first == old[-1].pk + 1
    [row] = pipeline.provider_errors(first)
    assert (row.channel, row.provider, row.sent, row.retried, row.failed) == (
        "sms",
        "primary",
        1,
        0,
        0,
    )


def test_the_first_event_of_the_hour_is_found_across_gaps(incident):
    campaign = Campaign.objects.create(incident=incident, name="c", status="sending")
    delivery = _delivery(campaign)
    events = [_event(delivery, "sent") for _ in range(40)]
    DeliveryEvent.objects.filter(pk__in=[e.pk for e in events[::3]]).delete()  # id gaps
    kept = list(DeliveryEvent.objects.order_by("id"))
    now = timezone.now()
    for index, event in enumerate(kept):
        DeliveryEvent.objects.filter(pk=event.pk).update(
            created_at=now - timedelta(minutes=len(kept) - index)
        )
    for index in (0, 7, len(kept) - 1):
        since = now - timedelta(minutes=len(kept) - index, seconds=1)
        assert pipeline.first_event_id_since(since) == kept[index].pk
    assert pipeline.first_event_id_since(now + timedelta(seconds=1)) is None


def test_a_worker_beats_on_its_timer_and_is_forgotten_on_shutdown(settings):
    from portal.celery import app

    assert Heartbeat in app.steps["worker"]
    settings.WORKER_HEARTBEAT_SECONDS = 30

    class Timer:
        def call_repeatedly(self, seconds, fun, args, priority=0):
            self.seconds, self.fun, self.args = seconds, fun, args
            return self

        def cancel(self):
            self.cancelled = True

    class Worker:
        hostname = "bulk@host-a"
        timer = Timer()

    Worker.app = app
    step = Heartbeat(Worker)
    step.start(Worker)
    [seen] = workers.workers_seen()
    assert seen.hostname == "bulk@host-a" and seen.queues  # the queues it consumes
    assert Worker.timer.seconds == 30
    Worker.timer.fun(*Worker.timer.args)  # a beat later
    step.stop(Worker)
    assert Worker.timer.cancelled and workers.workers_known() == []


@pytest.mark.redis
def test_queue_depth_on_redis(settings):
    """Each queue's list and its priority lists, as kombu's Redis transport keeps them."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    settings.CELERY_BROKER_URL = broker if broker.startswith("redis") else os.environ["REDIS_URL"]
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    names = [f"test-depth-{uuid.uuid4().hex[:8]}-{n}" for n in range(2)]
    settings.CELERY_QUEUES_ALL = names
    with Connection(settings.CELERY_BROKER_URL) as conn:
        queue = conn.SimpleQueue(names[0])
        try:
            for n in range(3):
                queue.put({"n": n}, priority=n * 4)  # 0, 4 and 8: three lists
            assert pipeline.queue_depths() == {names[0]: 3, names[1]: 0}
        finally:
            queue.clear()
            queue.close()
            client = conn.default_channel.client
            for key in client.keys(f"*{names[0]}*"):  # kombu's bindings of the queue
                client.delete(key)

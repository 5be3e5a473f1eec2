"""The production process definition, for real: Procfile.production under
honcho (gunicorn, one Celery worker per queue, one beat) on each supported
broker sends a campaign, takes its receipts and sends a sign-in code."""

from __future__ import annotations

import re
import shlex
import socket
from pathlib import Path

import pytest
from django.conf import settings
from kombu import Connection, Queue

from customers.models import Customer
from notices.models import Delivery, OutboxMessage
from tests.integration.stack import Stack, redis_url, wait_for
from tests.integration.test_sending import (
    APPROVER,
    approved_campaign,
    assert_exactly_once,
    request_sign_in_code,
    seed,
    status_of,
)

PROCFILE = Path(__file__).resolve().parents[2] / "Procfile.production"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in PROCFILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name] = shlex.split(command)
    return entries


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_every_queue_has_a_worker_and_there_is_exactly_one_beat():
    entries = procfile()
    beats = [argv for argv in entries.values() if "beat" in argv]
    assert len(beats) == 1
    consumed = {
        queue
        for argv in entries.values()
        if "worker" in argv
        for queue in _option(argv, "--queues").split(",")
    }
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert consumed == set(settings.CELERY_QUEUES_ALL) >= routed
    assert entries["web"][:2] == ["gunicorn", "portal.wsgi"]


def _rabbitmq_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError:
        return False
    return True


def _purge(url: str) -> None:
    """Messages an earlier run left in the broker's durable queues must not run here."""
    with Connection(url) as connection:
        channel = connection.channel()
        for name in settings.CELERY_QUEUES_ALL:
            Queue(name, durable=True)(channel).declare()
            channel.queue_purge(name)


@pytest.mark.integration
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(600)
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_the_production_processes_send_a_campaign_and_a_sign_in_code(tmp_path, broker):
    if broker == "rabbitmq" and not _rabbitmq_up():
        pytest.skip("needs RabbitMQ on 127.0.0.1:5672")
    url = RABBITMQ_URL if broker == "rabbitmq" else redis_url(3)
    stack = Stack(tmp_path, CELERY_BROKER_URL=url)
    _purge(url)
    try:
        seed(300)
        Customer.objects.create(customer_ref="JANE1", email="jane@example.com")
        campaign = approved_campaign(sms_rate=100_000)
        stack.start_production()

        stack.manage("campaign", "send", str(campaign.pk), "--by", APPROVER)  # bulk queue
        request_sign_in_code(stack.web_url, "jane@example.com")  # transactional queue
        wait_for(lambda: status_of(campaign) == "completed", 120, "the campaign to complete")
        wait_for(
            lambda: OutboxMessage.objects.filter(channel="email", to="jane@example.com").exists(),
            60,
            "the sign-in code email",
        )
        assert_exactly_once(
            stack, set(Customer.objects.exclude(phone="").values_list("phone", flat=True))
        )
        # Receipts come back through gunicorn and the webhooks worker.
        stack.fake.wait_for_callbacks(timeout=60)
        wait_for(
            lambda: Delivery.objects.filter(campaign=campaign, status="delivered").count() == 300,
            60,
            "delivery receipts",
        )
        log = stack.log("honcho")
        for name in ("transactional", "bulk", "webhooks", "imports", "default"):
            assert re.search(rf"{name}@\S+ ready\.", log), f"the {name} worker did not start"
        assert "beat: Starting" in log
    finally:
        stack.stop()

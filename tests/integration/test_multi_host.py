"""Several machines: two worker hosts (network namespaces) reach PostgreSQL, the
broker and the provider over their own links; one is cut off mid-campaign and
the other finishes it, with nothing lost and nothing sent twice."""

from __future__ import annotations

import pytest

from customers.models import Customer
from notices.models import Delivery
from tests.integration.netns import WorkerHost, require_netns
from tests.integration.stack import Stack, wait_for
from tests.integration.test_sending import (
    APPROVER,
    approved_campaign,
    assert_exactly_once,
    seed,
    status_of,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(600),
]

ALL_QUEUES = "bulk,default,transactional,webhooks"


@pytest.fixture
def stack(tmp_path):
    running = Stack(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def two_hosts(stack):
    if reason := require_netns():
        pytest.skip(reason)
    with WorkerHost(1) as first, WorkerHost(2) as second:
        yield first, second
        stack.stop()  # the hosts' processes go before their network does


def test_a_worker_host_cut_off_mid_campaign_loses_and_duplicates_nothing(stack, two_hosts):
    host_a, host_b = two_hosts
    seed(6000)
    campaign = approved_campaign(sms_rate=100_000, parallelism=4)
    stack.start_web()
    stack.start_beat()  # on the database host: exactly one beat
    worker_a = stack.start_worker("host-a", ALL_QUEUES, host=host_a)
    stack.start_worker("host-b", ALL_QUEUES, host=host_b)
    # Each host reaches the services only over its own link.
    assert set(host_a.relays) >= {5432, 6379} and host_a.reachable(5432)

    stack.manage("campaign", "send", str(campaign.pk), "--by", APPROVER)
    wait_for(
        lambda: (
            "campaign_dispatch" in stack.log("host-a")
            and "campaign_dispatch" in stack.log("host-b")
            and stack.fake.summary()["total_accepted"] >= 1500
        ),
        120,
        "both hosts sending",
    )
    host_a.cut()
    assert not host_a.reachable(5432)
    accepted_at_cut = stack.fake.summary()["total_accepted"]
    assert accepted_at_cut < 6000, "the campaign finished before the cut; send more"

    wait_for(lambda: status_of(campaign) == "completed", 300, "the campaign to complete")

    assert worker_a.poll() is None, "host A was cut off, not stopped"
    stack.kill(worker_a)  # nothing to wait for: it cannot hear a polite request
    assert_exactly_once(stack, set(Customer.objects.values_list("phone", flat=True)))
    assert (
        Delivery.objects.filter(campaign=campaign).exclude(status__in=["sent", "delivered"]).count()
        == 0
    )

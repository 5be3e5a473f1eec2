"""The whole sending path, for real: Celery workers and beat in subprocesses,
PostgreSQL, Redis, gunicorn receiving signed status callbacks, and a fake
Twilio-compatible provider on loopback with faults injected."""

from __future__ import annotations

import http.cookiejar
import re
import signal
import time
import urllib.parse
import urllib.request

import pytest

from customers.masking import mask_value
from customers.models import Customer, Exposure
from notices.models import Campaign, Delivery, OutboxMessage
from notices.services import campaign_approve, campaign_create
from portal.roles import COMMUNICATIONS, INCIDENT_LEAD
from tests.factories import IncidentFactory
from tests.integration.stack import Stack, wait_for
from tests.staff import staff_with_role

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(600),
]


@pytest.fixture
def stack(tmp_path):
    running = Stack(tmp_path)
    yield running
    running.stop()


def seed(count: int, *, with_email: bool = False) -> None:
    incident = IncidentFactory(slug="breach")
    Customer.objects.bulk_create(
        Customer(
            customer_ref=f"IT{n:07d}",
            first_name="Sam",
            phone=f"+614{n:08d}",
            email=f"c{n}@example.com" if with_email else "",
        )
        for n in range(count)
    )
    Exposure.objects.bulk_create(
        Exposure(incident=incident, customer=c, fields={"name": mask_value("name", "Sam X")})
        for c in Customer.objects.all().only("id")
    )


# The incident lead who approves, and who sends from the command line (--by).
APPROVER = "integration-lead"


def approved_campaign(channels=("sms",), **fields) -> Campaign:
    from customers.models import User

    author = staff_with_role(COMMUNICATIONS)
    approver = User.objects.filter(username=APPROVER).first() or staff_with_role(
        INCIDENT_LEAD, username=APPROVER
    )
    campaign = campaign_create(
        incident=IncidentFactory(slug="breach"), channels=list(channels), by=author
    )
    Campaign.objects.filter(pk=campaign.pk).update(**fields)
    return campaign_approve(campaign=campaign, by=approver)


def status_of(campaign: Campaign) -> str:
    return Campaign.objects.get(pk=campaign.pk).status


def assert_exactly_once(stack: Stack, expected_numbers: set[str]) -> None:
    summary = stack.fake.summary()
    assert summary["duplicates"] == 0, summary
    assert set(summary["accepted_per_to"]) == expected_numbers
    assert all(n == 1 for n in summary["accepted_per_to"].values())


def test_every_recipient_gets_exactly_one_message_despite_provider_faults(stack):
    seed(2000)
    campaign = approved_campaign(sms_rate=100_000)
    stack.fake.configure(
        latency_ms=5,
        error_5xx_rate=0.05,
        rate_429=0.05,
        retry_after_s=1,
        drop_rate=0.03,
        drop_after_accept=True,
        duplicate_callbacks=True,
        reorder_callbacks=True,
        seed=7,
    )
    stack.start_web()
    stack.start_worker("bulk", "bulk,default,transactional,webhooks")
    stack.start_beat()
    started = time.monotonic()
    stack.manage("campaign", "send", str(campaign.pk), "--by", APPROVER)
    wait_for(lambda: status_of(campaign) == "completed", 300, "the campaign to complete")
    elapsed = time.monotonic() - started

    assert_exactly_once(stack, set(Customer.objects.values_list("phone", flat=True)))
    summary = stack.fake.summary()
    assert summary["requests"]["5xx"] > 0 and summary["requests"]["429"] > 0
    assert summary["accepted_then_dropped"] > 0
    stack.fake.wait_for_callbacks(timeout=60)
    wait_for(
        lambda: Delivery.objects.filter(campaign=campaign, status="delivered").count() == 2000,
        60,
        "delivery receipts",
    )
    print(f"\n2000 messages with faults in {elapsed:.1f}s ({2000 / elapsed:.0f}/s)")


def test_a_worker_killed_mid_campaign_loses_and_duplicates_nothing(stack):
    seed(10_000)
    campaign = approved_campaign(sms_rate=100_000)
    stack.start_web()
    first = stack.start_worker("first", "bulk,default")
    stack.start_beat()
    stack.manage("campaign", "send", str(campaign.pk), "--by", APPROVER)
    wait_for(lambda: stack.fake.summary()["total_accepted"] >= 2500, 120, "sending to be under way")
    stack.kill(first, signal.SIGKILL)
    in_flight = Delivery.objects.filter(campaign=campaign, status="sending").count()
    stack.start_worker("second", "bulk,default")
    wait_for(lambda: status_of(campaign) == "completed", 300, "the campaign to complete")

    assert_exactly_once(stack, set(Customer.objects.values_list("phone", flat=True)))
    assert (
        Delivery.objects.filter(campaign=campaign).exclude(status__in=["sent", "delivered"]).count()
        == 0
    )
    if in_flight:
        assert Delivery.objects.filter(campaign=campaign, events__source="sweep").exists()


def test_the_rate_limit_holds_at_the_provider_across_workers(stack):
    seed(240)
    campaign = approved_campaign(sms_rate=40, parallelism=4)
    stack.start_worker("one", "bulk,default")
    stack.start_worker("two", "bulk,default")
    stack.manage("campaign", "send", str(campaign.pk), "--by", APPROVER)
    wait_for(lambda: status_of(campaign) == "completed", 120, "the campaign to complete")
    summary = stack.fake.summary()
    assert summary["total_accepted"] == 240
    # Never faster than the rate: 240 at 40/s take at least 5 s from first to last
    # (a loaded machine can only slow a run, so this holds however noisy it is;
    # two workers each keeping their own count would take 3 s).
    times = sorted(m["received_at"] for m in stack.fake.messages())
    assert times[-1] - times[0] >= (240 - 40) / 40
    # No bursts. Slots are spaced for 38/s; on a loaded machine messages sent late
    # can land in the same second as on-time ones, a few over 40 (43 seen with the
    # machine's two cores shared by three test runs), where a limiter that let the
    # workers race would show bursts of dozens (two workers at 38/s: 76).
    assert summary["max_accepted_in_1s_window"] <= 46


def test_a_permanent_sms_failure_falls_back_to_email(stack):
    seed(40, with_email=True)
    invalid = [f"+614{n:08d}" for n in range(0, 40, 8)]
    stack.fake.configure(invalid_numbers=invalid)
    campaign = approved_campaign(channels=("sms", "email"), sms_rate=100_000)
    stack.start_web()
    stack.start_worker("bulk", "bulk,default,webhooks")
    stack.manage("campaign", "send", str(campaign.pk), "--by", APPROVER)
    wait_for(lambda: status_of(campaign) == "completed", 120, "the campaign to complete")

    failed = Delivery.objects.filter(campaign=campaign, channel="sms", status="failed")
    # What every delivery became, to diagnose a failure. It once showed every failed SMS
    # "undeliverable": two dispatchers planned the same fall-backs (notices.dispatch.plan_fallbacks).
    states = list(
        Delivery.objects.filter(campaign=campaign)
        .values_list("channel", "status", "to", "last_error")
        .order_by("to", "channel")
    )
    assert sorted(failed.values_list("to", flat=True)) == sorted(invalid), (
        states,
        stack.fake.summary(),
        stack.log("bulk")[-4000:],
    )
    emailed = set(OutboxMessage.objects.filter(channel="email").values_list("to", flat=True))
    assert emailed == {f"c{n}@example.com" for n in range(0, 40, 8)}
    assert stack.fake.summary()["total_accepted"] == 35


def _settled_count(stack: Stack, campaign: Campaign) -> int:
    wait_for(
        lambda: not Delivery.objects.filter(campaign=campaign, status="sending").exists(),
        30,
        "in-flight batches to finish",
    )
    return stack.fake.summary()["total_accepted"]


def test_pause_and_cancel_stop_sending_between_batches(stack):
    # Fifty seconds of texts: each command below is a new process, several
    # seconds on a loaded machine, and the campaign must not finish first.
    audience = 1000
    seed(audience)
    campaign = approved_campaign(sms_rate=20, parallelism=2)
    stack.env["DISPATCH_BATCH_SIZE"] = "5"
    stack.start_worker("bulk", "bulk,default,webhooks")
    stack.manage("campaign", "send", str(campaign.pk), "--by", APPROVER)
    wait_for(lambda: stack.fake.summary()["total_accepted"] >= 30, 60, "sending to start")

    stack.manage("campaign", "pause", str(campaign.pk), "--by", APPROVER)
    paused_at = _settled_count(stack, campaign)
    time.sleep(2)
    assert stack.fake.summary()["total_accepted"] == paused_at

    stack.manage("campaign", "resume", str(campaign.pk), "--by", APPROVER)
    wait_for(lambda: stack.fake.summary()["total_accepted"] >= paused_at + 30, 60, "resume")
    stack.manage("campaign", "cancel", str(campaign.pk), "--by", APPROVER)
    cancelled_at = _settled_count(stack, campaign)
    time.sleep(2)
    assert stack.fake.summary()["total_accepted"] == cancelled_at < audience
    assert status_of(campaign) == "cancelled"
    assert (
        Delivery.objects.filter(campaign=campaign, status="skipped").count()
        == audience - cancelled_at
    )
    assert_exactly_once(
        stack,
        set(Delivery.objects.filter(campaign=campaign, status="sent").values_list("to", flat=True)),
    )


def test_a_sign_in_code_is_not_stuck_behind_a_campaign(stack):
    seed(1000)
    Customer.objects.create(customer_ref="JANE1", email="jane@example.com")
    campaign = approved_campaign(sms_rate=50, parallelism=2)
    stack.start_web()
    stack.start_worker("bulk", "bulk", concurrency=1)
    stack.start_worker("fast", "transactional,default,webhooks", concurrency=1)
    stack.manage("campaign", "send", str(campaign.pk), "--by", APPROVER)
    wait_for(lambda: stack.fake.summary()["total_accepted"] >= 20, 60, "the campaign to be sending")

    request_sign_in_code(stack.web_url, "jane@example.com")
    wait_for(
        lambda: OutboxMessage.objects.filter(channel="email", to="jane@example.com").exists(),
        60,
        "the sign-in code email",
    )
    # The code went out while the campaign was still sending.
    assert status_of(campaign) == "sending"
    assert stack.fake.summary()["total_accepted"] < 1000
    body = OutboxMessage.objects.get(to="jane@example.com").body
    assert re.search(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$", body, re.M)


def request_sign_in_code(base_url: str, email: str) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    url = f"{base_url}/accounts/login/code/"
    page = opener.open(url, timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "email": email}).encode()
    opener.open(urllib.request.Request(url, data=data, headers={"Referer": url}), timeout=10)

"""Structured logs: JSON lines with a request or task id, and no personal data."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from customers.masking import mask_value
from notices import services
from notices.channels import locmem
from notices.models import Campaign, Delivery
from notices.tasks import deliveries_sweep
from portal.observability import celery_hooks, context
from portal.observability.logs import JsonFormatter, logging_config, redact
from portal.roles import COMMUNICATIONS, INCIDENT_LEAD
from tests.factories import CustomerFactory, ExposureFactory
from tests.staff import staff_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """What the configured console handler writes, as JSON, during the test."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    buffer = io.StringIO()
    old_stream, old_formatter = handler.setStream(buffer), handler.formatter
    handler.setFormatter(JsonFormatter())
    yield buffer
    handler.setStream(old_stream)
    handler.setFormatter(old_formatter)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


@pytest.fixture
def everything_at_debug(caplog):
    """Every logger at DEBUG for the test, the root and the captured ones."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


# --- request and task ids -------------------------------------------------------


def test_a_valid_request_id_is_echoed(client):
    response = client.get("/livez", HTTP_X_REQUEST_ID="lb-4bf92f3577b34da6")
    assert response["X-Request-ID"] == "lb-4bf92f3577b34da6"


@pytest.mark.parametrize(
    "given", ["", "short1", "jane@example.com", "61412345678", "has space inside", "x" * 200]
)
def test_otherwise_a_request_id_is_made_up(client, given):
    response = client.get("/livez", HTTP_X_REQUEST_ID=given)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert client.get("/livez")["X-Request-ID"] != response["X-Request-ID"]


def test_lines_logged_for_a_request_carry_its_id(client, json_log):
    client.get("/no-such-page", HTTP_X_REQUEST_ID="req-0123456789abcdef")
    # Django logs the 404 after the middleware has answered.
    logged = [line for line in lines(json_log) if line["logger"] == "django.request"]
    assert logged and logged[0]["request_id"] == "req-0123456789abcdef"
    assert logged[0]["level"] == "WARNING"
    assert {"timestamp", "level", "logger", "message"} <= logged[0].keys()
    assert context.request_id.get() is None  # nothing leaks into the next request


def test_lines_logged_by_a_task_carry_its_id(json_log, incident, settings):
    settings.DELIVERY_IN_DOUBT_AFTER = 60
    campaign = Campaign.objects.create(incident=incident, name="c", status="completed")
    Delivery.objects.create(
        campaign=campaign,
        customer=CustomerFactory(),
        channel="sms",
        status="sending",
        claimed_at=timezone.now() - timedelta(minutes=5),
    )
    result = deliveries_sweep.apply()
    sweep = [line for line in lines(json_log) if line["message"].startswith("sweep:")]
    assert sweep == [
        {
            "timestamp": sweep[0]["timestamp"],
            "level": "WARNING",
            "logger": "notices.tasks",
            "message": "sweep: 1 deliveries in doubt",
            "task_id": result.id,
        }
    ]
    assert context.task_id.get() is None


class LoggingSmsBackend(locmem.SmsBackend):
    """Logs from the dispatch thread pool, as an HTTP library would."""

    def send(self, message):
        logging.getLogger("tests.sms").info("calling the provider")
        return super().send(message)


def test_lines_logged_by_the_send_threads_carry_the_task_id(
    json_log, incident, settings, django_capture_on_commit_callbacks
):
    settings.SMS_PROVIDERS = [
        {"name": "primary", "backend": "tests.portal.test_logging.LoggingSmsBackend"}
    ]
    for n in range(3):
        ExposureFactory(incident=incident, customer=CustomerFactory(phone=f"+6141800000{n}"))
    campaign = services.campaign_create(
        incident=incident, channels=["sms"], by=staff_with_role(COMMUNICATIONS)
    )
    lead = staff_with_role(INCIDENT_LEAD)
    services.campaign_approve(campaign=campaign, by=lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_send(campaign=campaign, by=lead)
    sends = [line for line in lines(json_log) if line["logger"] == "tests.sms"]
    assert len(sends) == 3
    assert all(line.get("task_id") for line in sends)


def test_a_task_queued_in_a_request_carries_the_request_id():
    headers: dict = {}
    token = context.request_id.set("req-0123456789abcdef")
    try:
        celery_hooks.carry_request_id(headers=headers)
    finally:
        context.request_id.reset(token)
    assert headers == {"firsthand_request_id": "req-0123456789abcdef"}

    class Task:
        class request:  # Celery's attribute
            firsthand_request_id = "req-0123456789abcdef"

    celery_hooks.task_started(task_id="t-1", task=Task)
    assert (context.task_id.get(), context.request_id.get()) == ("t-1", "req-0123456789abcdef")
    celery_hooks.task_finished(task_id="t-1")
    assert (context.task_id.get(), context.request_id.get()) == (None, None)


def test_the_plain_format_is_still_available():
    config = logging_config(fmt="plain", level="INFO")
    assert config["handlers"]["console"]["formatter"] == "plain"
    record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "msg": "hello"})
    text = logging.Formatter(config["formatters"]["plain"]["format"]).format(record)
    assert text.endswith(" INFO x hello")


# --- redaction ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "jane.doe+alerts@example.com.au",
        "jane%40example.com",
        "+61412345678",
        "%2B61412345678",
        "+61 412 345 678",
        "0412 345 678",
        "0412345678",
        "(02) 9876 5432",
        "+1 (415) 555-0134",
        "61412345678",
    ],
)
def test_addresses_and_phone_numbers_are_redacted(text):
    cleaned = redact(f"sent {text}.")
    assert cleaned in ("sent [email].", "sent [phone].")


@pytest.mark.parametrize(
    "text",
    [
        "at 2026-12-01 03:16:48,123",
        "2026-12-01T03:16:48.551736+00:00",
        "from 192.168.100.200:6379",
        "task 6f1c0a4e-1234-5678-9abc-123456789012",
        "delivery 12345678 took 0.004512 s",
        "reference ABCD-EFGH-2345",
        "sweep: 1500 deliveries in doubt",
        "masked j•••@example.com and •••• ••• 321",
    ],
)
def test_ids_times_and_addresses_survive(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (
            "/accounts/password/reset/key/1a-cb8hz3-9f1e2d3c4b5a6978/",
            "/accounts/password/reset/key/[key]/",
        ),
        ("/accounts/confirm-email/MQ:1vSo2x:AbCdEfGh-Ij_Kl/", "/accounts/confirm-email/[key]/"),
    ],
)
def test_the_keys_of_emailed_links_are_redacted(path, logged):
    # Django logs a refused (429) reset link as "Too Many Requests: <path>".
    assert redact(f"Too Many Requests: {path}") == f"Too Many Requests: {logged}"


@pytest.mark.parametrize(
    ("error", "logged"),
    [
        (
            'new row for relation "customers_customer" violates check constraint "x"\n'
            "DETAIL:  Failing row contains (7, UP0004, Zephyrine, Quillfeather, 1985).",
            'new row for relation "customers_customer" violates check constraint "x"\n'
            "DETAIL:  Failing row contains [row]",
        ),
        (
            "DETAIL:  Key (customer_ref)=(UP0004 Quillfeather) already exists.",
            "DETAIL:  Key (customer_ref)=([value]) already exists.",
        ),
        (
            'invalid input syntax for type date: "1985-13-45"\n'
            "LINE 1: ...\"first_name\") VALUES ('Zephyrine', '1985-13-45')\n"
            "                                              ^",
            "invalid input syntax for type date: [value]\n"
            "LINE 1: [statement]\n"
            "                                              ^",
        ),
        (
            'date/time field value out of range: "1985-02-30"\n'
            'CONTEXT:  COPY import_staging, line 3, column date_of_birth: "1985-02-30"',
            "date/time field value out of range: [value]\n"
            "CONTEXT:  COPY import_staging, line 3, column date_of_birth: [value]",
        ),
        (
            # A malformed line is quoted whole (what the fast path's COPY trips on).
            "extra data after last expected column\n"
            'CONTEXT:  COPY import_rows, line 4: "UP0004,Zephyrine,"Quill, feather",1985-03-12,x"',
            "extra data after last expected column\nCONTEXT:  COPY import_rows, line 4: [value]",
        ),
    ],
)
def test_values_quoted_by_database_errors_are_redacted(error, logged):
    """A traceback of a failed insert or import quotes the row: names and
    birth dates, which look like neither an address nor a phone number."""
    assert redact(error) == logged


def test_the_safety_net_covers_arguments_tracebacks_and_extra_fields(json_log):
    logger = logging.getLogger("tests.leaky")
    logger.warning("writing to %s", "jane@example.com", extra={"data": {"to": "+61412345678"}})
    try:
        raise ValueError("refused: 0412 345 678")
    except ValueError:
        logger.exception("send failed")
    output = json_log.getvalue()
    # Each written form of the number, not bare digits: a timestamp can hold "412".
    assert "jane@example.com" not in output
    assert "412345678" not in output and "412 345 678" not in output
    first, second = lines(json_log)
    assert first["message"] == "writing to [email]" and first["data"] == {"to": "[phone]"}
    assert first["redacted"] is True  # names the log call to fix
    assert second["exc_info"].endswith("ValueError: refused: [phone]")


# --- no personal data, end to end ----------------------------------------------


def _forms(customer) -> set[str]:
    """Every way an address or number of this customer might be written."""
    national = "0" + customer.phone.removeprefix("+61")
    spaced = f"{national[:4]} {national[4:7]} {national[7:]}"
    return {
        customer.email,
        customer.email.upper(),
        customer.email.replace("@", "%40"),
        customer.phone,
        customer.phone.removeprefix("+"),
        national,
        spaced,
        customer.first_name,
        customer.last_name,
    }


def test_signing_in_and_sending_a_campaign_log_no_personal_data(
    client, incident, everything_at_debug, json_log, django_capture_on_commit_callbacks
):
    people = [
        CustomerFactory(
            email=f"Zephyrine.Quill{n}@example.org".lower(),
            phone=f"+6141700000{n}",
            first_name=f"Zephyrine{n}",
            last_name=f"Quillfeather{n}",
            preferred_channel="email" if n % 2 else "sms",
        )
        for n in range(4)
    ]
    for person in people:
        ExposureFactory(
            incident=incident,
            customer=person,
            fields={"passport_number": mask_value("passport_number", "PA1234567")},
        )
    locmem.invalid_numbers.add(people[2].phone)  # a failure, and a fall-back to email

    # A customer signs in by code, through the web.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_request_login_code"), {"email": people[0].email})
    code = re.search(r"^\s*([A-Z0-9]{3,}-?[A-Z0-9]{3,})\s*$", mail.outbox[-1].body, re.M)[1]
    client.post(reverse("account_confirm_login_code"), {"code": "WRONG-CODE"})
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert client.get(reverse("customers:dashboard")).status_code == 200

    # Staff send a campaign to all of them (eager Celery: planned and sent here).
    comms = staff_with_role(COMMUNICATIONS)
    lead = staff_with_role(INCIDENT_LEAD)
    campaign = services.campaign_create(incident=incident, channels=["sms", "email"], by=comms)
    services.campaign_approve(campaign=campaign, by=lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_send(campaign=campaign, by=lead)
    campaign.refresh_from_db()
    assert campaign.status == "completed"
    assert len(locmem.outbox) == 1 and len(mail.outbox) == 4

    records = everything_at_debug.records
    assert any(r.name.startswith("celery") for r in records)  # tasks ran and logged
    captured = everything_at_debug.text + "\n".join(r.getMessage() for r in records)
    output = json_log.getvalue()
    assert output and all(line["message"] is not None for line in lines(json_log))
    for person in people:
        for form in _forms(person):
            assert form not in captured, form
            assert form not in output, form
    # And not because the safety net caught it: no log call tried. (Django's
    # template engine, kept at INFO by settings.LOGGING, dumps whole template
    # contexts at DEBUG: the site's support number is redacted there.)
    assert not [
        r.getMessage()
        for r in records
        if getattr(r, "redacted", False) and r.name != "django.template"
    ]


def test_sql_logged_at_debug_is_redacted_on_output(json_log, everything_at_debug, alice):
    """With SQL logging on (DEBUG), queries carry addresses as parameters: the
    safety net keeps them out of what is written."""
    from django.db import connection

    from customers.models import Customer

    connection.force_debug_cursor = True
    try:
        list(Customer.objects.filter(email="alice@example.com"))
    finally:
        connection.force_debug_cursor = False
    output = json_log.getvalue()
    assert "django.db.backends" in output
    assert "alice@example.com" not in output


# --- what is not worth a warning ---------------------------------------------------


def test_the_apps_sign_in_steps_answering_401_log_nothing(client, json_log):
    """allauth headless answers 401 until a sign-in is done: one warning per
    sign-in on breach day would bury the warnings that matter."""
    CustomerFactory(email="kai@example.com")
    response = client.post(
        "/_allauth/app/v1/auth/code/request",
        {"email": "kai@example.com"},
        content_type="application/json",
    )
    assert response.status_code == 401  # a pending flow: the protocol's answer
    assert client.get("/_allauth/app/v1/auth/session").status_code == 401
    assert [line for line in lines(json_log) if line["logger"] == "django.request"] == []


def test_a_wrong_code_and_other_refusals_are_still_logged(client, json_log):
    CustomerFactory(email="kai@example.com")
    pending = client.post(
        "/_allauth/app/v1/auth/code/request",
        {"email": "kai@example.com"},
        content_type="application/json",
    )
    client.post(
        "/_allauth/app/v1/auth/code/confirm",
        {"code": "WRONG-CODE"},
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=pending.json()["meta"]["session_token"],
    )
    client.post(  # no sign-in pending
        "/_allauth/app/v1/auth/code/confirm", {"code": "nope"}, content_type="application/json"
    )
    client.get("/api/v1/exposures")  # the API's own 401
    client.get("/no-such-page")
    logged = [line for line in lines(json_log) if line["logger"] == "django.request"]
    assert [line["status_code"] for line in logged] == [400, 409, 401, 404]


def test_celery_lines_that_quote_a_task_message_leave_its_arguments_out(json_log):
    """A worker at DEBUG logs every task's message as the pool takes it, and
    any worker logs a message it cannot run: a sign-in code's email is one."""
    body = "[[{'subject': 'Your code', 'body': 'Your code is QZ7-K4M'}], {}, {}]"
    pool = logging.getLogger("celery.pool")
    old_level = pool.level
    pool.setLevel(logging.DEBUG)
    try:
        pool.debug("TaskPool: Apply %s (args:%s kwargs:%s)", deliveries_sweep, (body,), {})
    finally:
        pool.setLevel(old_level)
    consumer = logging.getLogger("celery.worker.consumer.consumer")
    consumer.error(
        "Received unregistered task of type %s.\nThe full contents of the message body was:\n"
        "%s\n\nThe full contents of the message headers:\n%s\n",
        KeyError("customers.tasks.send_transactional_email"),
        body,
        {"argsrepr": body},
    )
    output = json_log.getvalue()
    assert "TaskPool: Apply" in output and "send_transactional_email" in output
    assert "QZ7-K4M" not in output


@pytest.mark.parametrize("debug", ["1", "0"])
def test_djangos_own_handlers_print_nothing_unredacted(debug):
    """Django's default logging, set up before ours, gave ``django`` a console
    handler for DEBUG and ``django.server`` (runserver's request lines) one of
    its own, neither with the masks: with DEBUG each django.* line was printed
    twice, once with the address in it."""
    from tests.portal.test_settings import PRODUCTION, run_manage

    code = (
        "import logging\n"
        "logging.getLogger('django.request').warning('Not Found: /x jane@example.com')\n"
        "logging.getLogger('django.server').warning('\"GET /claim/?email=jane@example.com\" 404')\n"
    )
    env = {**PRODUCTION, "DEBUG": debug, "LOG_FORMAT": "plain", "LOG_LEVEL": "INFO"}
    result = run_manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert "jane@example.com" not in result.stderr, result.stderr
    assert result.stderr.count("WARNING django.request Not Found: /x [email]") == 1
    assert result.stderr.count("WARNING django.server") == 1

"""The measured paths, in order. Each yields report rows: the path's figure
and its raw ceiling, both measured here, now."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import Row

CORES = len(os.sched_getaffinity(0))


@dataclass
class Run:
    scale: int
    work: Path
    seconds: float
    port: int
    stack: object = None
    state: dict = field(default_factory=dict)

    def start_stack(self, **env):
        from tests.integration.stack import Stack

        self.stack = Stack(
            self.work,
            database=os.environ["DATABASE_URL"],
            web_port=self.port,
            DELIVERY_IN_DOUBT_AFTER="300",
            DISPATCH_TASK_SECONDS="30",
            TRUSTED_PROXY_COUNT="1",
            DATABASE_CONN_MAX_AGE="60",
            **env,
        )
        return self.stack

    def web_stack(self):
        """The stack with its web server (started here when earlier steps were skipped)."""
        if self.stack is None:
            self.start_stack()
        if not any(name == "web" for name, _ in self.stack.procs):
            # Production's defaults (portal/gunicorn.py) unless told otherwise.
            self.stack.start_web(
                workers=int(os.environ.get("BENCH_WEB_WORKERS", CORES)),
                threads=int(os.environ.get("BENCH_WEB_THREADS", 4)),
            )
        return self.stack

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()


def _cpu_busy(seconds: float = 1.0) -> float:
    """The share of this machine's CPU time that was busy over ``seconds``."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + values[4]  # idle, iowait
        return sum(values), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def settle(limit: float = 120.0, busy: float = 0.15) -> None:
    """Wait (up to ``limit`` s) until what earlier steps left running (PostgreSQL's
    autovacuum after a million-row step, workers finishing) has quietened, so a
    measurement and its ceiling share a quiet machine."""
    deadline = time.monotonic() + limit
    while (load := _cpu_busy()) > busy:
        if time.monotonic() > deadline:
            print(f"  (machine still {load:.0%} busy after {limit:.0f}s; measuring anyway)")
            return


def _timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


# --- 1. import ----------------------------------------------------------------


def write_demo_files(run: Run) -> tuple[Path, Path, int]:
    from customers.demo import CUSTOMER_HEADER, demo_customers

    customers, exposures = run.work / "customers.csv", run.work / "exposures.csv"
    affected = 0
    with customers.open("w", newline="") as c_out, exposures.open("w", newline="") as e_out:
        c_writer, e_writer = csv.writer(c_out), csv.writer(e_out)
        c_writer.writerow(CUSTOMER_HEADER)
        e_writer.writerow(["customer_ref", "exposed"])
        for p in demo_customers(1, run.scale + 1):
            c_writer.writerow(p.customer_row())
            if p.exposed:
                affected += 1
                e_writer.writerow(p.exposure_row())
    return customers, exposures, affected


def raw_copy_seconds(path: Path) -> float:
    """The ceiling: the same file's bytes COPYed into an unindexed table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_copy")
        cursor.execute("CREATE TABLE bench_raw_copy (customer_ref text, exposed text)")
        started = time.perf_counter()
        with (
            cursor.cursor.copy(
                "COPY bench_raw_copy FROM STDIN WITH (FORMAT csv, HEADER true)"
            ) as copy,
            path.open("rb") as stream,
        ):
            while block := stream.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_raw_copy")
    return seconds


def step_import(run: Run):
    """1. Bulk import: exposures against a raw COPY of the same file."""
    from customers.demo import DEMO_INCIDENT, DEMO_INCIDENT_SLUG, demo_incident_dates
    from customers.importers import import_customers, import_exposures
    from customers.models import Incident

    customers, exposures, affected = write_demo_files(run)
    incident = Incident.objects.create(
        slug=DEMO_INCIDENT_SLUG, status="active", **DEMO_INCIDENT, **demo_incident_dates()
    )
    run.state["incident"] = incident
    seconds, _ = _timed(lambda: import_customers(customers.open("rb")))
    yield Row(
        "import customers",
        "rows/s",
        run.scale / seconds,
        "rows/s",
        note=f"{run.scale:,} rows in {seconds:.1f}s",
    )
    ceiling = raw_copy_seconds(exposures)
    seconds, report = _timed(lambda: import_exposures(exposures.open("rb"), incident=incident))
    assert report.inserted == affected, report.summary()
    yield Row(
        "1 import exposures",
        "rows/s",
        affected / seconds,
        "rows/s",
        ceiling=affected / ceiling,
        target_ratio=0.5,
        note=f"{affected:,} rows in {seconds:.1f}s; raw COPY {ceiling:.1f}s",
    )
    peak = peak_rss_of_import(exposures, incident)
    yield Row("1 import exposures", "peak RSS of the import process", peak, "MB")


def peak_rss_of_import(path: Path, incident) -> float:
    """Re-import (nothing changes) in a child process and read its peak memory."""
    import resource
    import sys

    subprocess.run(
        [sys.executable, "manage.py", "import_exposures", str(path), "--incident", incident.slug],
        cwd=Path(__file__).resolve().parents[1],
        check=True,
        capture_output=True,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        | {"DJANGO_SETTINGS_MODULE": "portal.settings"},
    )
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# --- 2. planning ------------------------------------------------------------------


def _campaign(run: Run, channels: list[str], **fields):
    from django.contrib.auth.models import Group

    from customers.models import User
    from notices.models import Campaign
    from notices.services import campaign_approve, campaign_create
    from portal.roles import COMMUNICATIONS, INCIDENT_LEAD

    # The services check roles: a communications author, an incident lead approver.
    # Staff, as the services require (the admin's test of who may act).
    author = User.objects.update_or_create(username="bench-author", defaults={"is_staff": True})[0]
    author.groups.add(Group.objects.get(name=COMMUNICATIONS))
    approver = User.objects.update_or_create(
        username="bench-approver", defaults={"is_staff": True}
    )[0]
    approver.groups.add(Group.objects.get(name=INCIDENT_LEAD))
    campaign = campaign_create(incident=run.state["incident"], channels=channels, by=author)
    Campaign.objects.filter(pk=campaign.pk).update(**fields)
    return campaign_approve(campaign=campaign, by=approver)


def step_planning(run: Run):
    """2. Planning deliveries against one raw INSERT … SELECT of the same rows."""
    from django.db import connection

    from notices.audience import Audience
    from notices.models import Campaign, Delivery
    from notices.planning import insert_deliveries_sql, plan_next

    planned = _campaign(run, ["sms", "email", "inapp"])
    Campaign.objects.filter(pk=planned.pk).update(status="sending")
    planned.refresh_from_db()

    def plan_all():
        while not plan_next(planned):
            pass

    seconds, _ = _timed(plan_all)
    rows = Delivery.objects.filter(campaign=planned).count()

    raw = _campaign(run, ["sms", "email", "inapp"])
    sql, params = insert_deliveries_sql(raw, Audience.of(raw))

    def raw_insert():
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, 0, 2**62])

    ceiling, _ = _timed(raw_insert)
    raw_rows = Delivery.objects.filter(campaign=raw).count()
    assert raw_rows == rows, (raw_rows, rows)
    yield Row(
        "2 planning",
        "deliveries/s",
        rows / seconds,
        "rows/s",
        ceiling=rows / ceiling,
        target_ratio=0.7,
        note=f"{rows:,} deliveries in {seconds:.1f}s; one INSERT … SELECT {ceiling:.1f}s",
    )
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE notices_deliveryevent, notices_delivery")
    Campaign.objects.filter(pk__in=[planned.pk, raw.pk]).update(status="cancelled")


# --- 2b, 3. sending --------------------------------------------------------------


def step_first_message(run: Run):
    """2b. From "send" to the first message accepted by the provider."""
    stack = run.start_stack()
    stack.fake.configure(callbacks=False)
    for index in range(CORES):
        stack.start_worker(f"bulk{index}", "bulk,default,transactional,webhooks", concurrency=1)
    campaign = _campaign(run, ["sms"], sms_rate=1_000_000, parallelism=2 * CORES)
    run.state["campaign"] = campaign
    started = time.monotonic()
    stack.manage("campaign", "send", str(campaign.pk), "--by", "bench-approver")
    while stack.fake.summary()["total_accepted"] < 1:
        time.sleep(0.02)
    seconds = time.monotonic() - started
    yield Row(
        "2 first message",
        "send → first accepted",
        seconds,
        "s",
        target_value=5,
        target_is_max=True,
        note=f"audience {run.scale * 0.8:,.0f}",
    )


def step_dispatch(run: Run):
    """3. Dispatch through workers against a bare loop with the same HTTP client."""
    from notices.channels.base import OutgoingMessage
    from notices.channels.twilio import TwilioBackend
    from notices.models import Campaign, Delivery

    stack, campaign = run.stack, run.state["campaign"]
    # Steady state: once the audience is planned, the workers only send.
    deadline = time.monotonic() + 600
    while not Campaign.objects.get(pk=campaign.pk).planning_done and time.monotonic() < deadline:
        time.sleep(0.5)
    pipeline = accepted_rate(stack, run.seconds)
    if Campaign.objects.get(pk=campaign.pk).status == "sending":
        try:
            stack.manage("campaign", "pause", str(campaign.pk), "--by", "bench-approver")
        except RuntimeError:
            # It may finish between the look and the pause (small SCALE): nothing to pause.
            if Campaign.objects.get(pk=campaign.pk).status == "sending":
                raise
        time.sleep(1)

    sample = list(
        Delivery.objects.filter(campaign=campaign, status="sent").values_list(
            "to", "body", "reference"
        )[: max(2000, int(pipeline * run.seconds))]
    )
    backend = TwilioBackend(
        "primary",
        api_base_url=stack.env["TWILIO_API_BASE_URL"],
        account_sid=stack.env["TWILIO_ACCOUNT_SID"],
        auth_token=stack.env["TWILIO_AUTH_TOKEN"],
        from_number=stack.env["TWILIO_FROM"],
        timeout=5,
    )
    messages = [
        OutgoingMessage(reference=r, to=t, body=b, callback_url=f"{stack.web_url}/x")
        for t, b, r in sample
    ]

    def bare_loop():
        for message in messages:
            backend.send(message)

    seconds, _ = _timed(bare_loop)
    yield Row(
        "3 dispatch",
        "messages/s",
        pipeline,
        "msg/s",
        ceiling=len(messages) / seconds,
        target_ratio=0.5,
        target_value=2000,
        note=f"{CORES} worker processes; bare loop {len(messages):,} in {seconds:.1f}s",
    )
    run.state["sent_refs"] = list(
        Delivery.objects.filter(campaign=campaign, status="sent").values_list(
            "reference", "provider_id"
        )[:200_000]
    )
    Campaign.objects.filter(pk=campaign.pk).update(status="cancelled")


def accepted_rate(stack, seconds: float) -> float:
    """Messages accepted per second at the provider over a window, ending early
    (at the last growth) if the campaign runs out of messages."""
    samples = [(time.monotonic(), stack.fake.summary()["total_accepted"])]
    deadline = samples[0][0] + seconds
    while time.monotonic() < deadline:
        time.sleep(0.25)
        samples.append((time.monotonic(), stack.fake.summary()["total_accepted"]))
        if len(samples) > 5 and samples[-1][1] == samples[-5][1]:
            break
    last = max(i for i, (_, count) in enumerate(samples) if count == samples[-1][1])
    growing = samples[: last + 1]
    (t0, c0), (t1, c1) = growing[0], growing[-1]
    return (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0


def wait_for_receipts(stack) -> float:
    """Seconds until the workers have applied every buffered receipt."""
    import redis

    from notices.receipts import BUFFER_KEY

    buffer = redis.Redis.from_url(stack.env["RECEIPTS_BUFFER_URL"])
    started = time.monotonic()
    while buffer.llen(BUFFER_KEY) and time.monotonic() - started < 600:
        time.sleep(0.2)
    return time.monotonic() - started


# --- 4, 5. HTTP under load ---------------------------------------------------------


WRK_SCRIPT = r"""
local requests = {}
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
function init(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local method, path, body, header, value = line:match("^(%S+)\t(%S+)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
    if header ~= "" then headers[header] = value end
    requests[#requests + 1] = wrk.format(method, path, headers, body ~= "" and body or nil)
  end
  index = offset * math.floor(#requests / 8)
end
function request()
  index = index + 1
  return requests[(index % #requests) + 1]
end
"""


def wrk(url: str, lines: list[str], seconds: float, work: Path, connections: int = 32) -> dict:
    """Run wrk with the given requests (cycled); returns requests/s and latencies."""
    requests_file, script = work / "wrk-requests.tsv", work / "wrk.lua"
    requests_file.write_text("\n".join(lines) + "\n")
    script.write_text(WRK_SCRIPT)
    output = subprocess.run(
        [
            "wrk",
            "-t",
            str(CORES),
            "-c",
            str(connections),
            "-d",
            f"{int(seconds)}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        env={**os.environ, "BENCH_REQUESTS": str(requests_file)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "p99_ms": p99,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "output": output,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def step_callbacks(run: Run):
    """4. Signed provider callbacks against a trivial view on the same server."""
    from urllib.parse import urlencode

    from notices.channels.twilio import twilio_signature

    stack = run.web_stack()
    settle()
    token, base = stack.env["TWILIO_AUTH_TOKEN"], stack.web_url
    lines = []
    for reference, provider_id in run.state["sent_refs"]:
        for status in ("sent", "delivered"):
            path = f"/webhooks/sms/primary/{reference}"
            params = {"MessageSid": provider_id, "MessageStatus": status, "AccountSid": "AC"}
            body = urlencode(params)
            lines.append(
                f"POST\t{path}\t{body}\tX-Twilio-Signature\t{twilio_signature(token, base + path, params)}"
            )
    trivial = wrk(f"{base}/livez", ["GET\t/livez\t\t\t"], run.seconds, run.work)
    callbacks = wrk(base, lines, run.seconds, run.work)
    assert callbacks["non_2xx"] == 0, callbacks["output"]
    drained = wait_for_receipts(stack)
    yield Row(
        "4 status callbacks",
        "callbacks/s",
        callbacks["rps"],
        "req/s",
        ceiling=trivial["rps"],
        target_ratio=0.5,
        note=f"wrk -c32; trivial view {trivial['rps']:,.0f}/s; all applied {drained:.1f}s after",
    )


def check_signed_in(url: str, headers: dict) -> None:
    """One request, redirects not followed: it must answer 200, not send to sign-in."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback http
        with opener.open(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == 200, f"{url} answered {status}: the bench's session is not the server's"


def signed_in_sessions(count: int) -> list[str]:
    """Session keys of ``count`` affected customers, signed in as a sign-in by code
    signs them in, in the web server's own session store (the shared cache)."""
    from importlib import import_module

    from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.module_loading import import_string

    from customers.models import Customer
    from customers.services import customer_login_ensure

    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
    # The backend a code sign-in records: allauth picks the first of its kind.
    backend = next(
        path
        for path in settings.AUTHENTICATION_BACKENDS
        if issubclass(import_string(path), AllauthBackend)
    )
    keys = []
    customers = (
        Customer.objects.filter(exposures__isnull=False).exclude(email="").order_by("?")[:count]
    )
    for customer in customers:
        user = customer_login_ensure(email=customer.email)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


def step_dashboard(run: Run):
    """5. Signed-in dashboard reads at SCALE against a trivial view."""
    stack = run.web_stack()
    keys = signed_in_sessions(500)
    lines = [f"GET\t/dashboard/\t\tCookie\tsessionid={key}" for key in keys]
    api_lines = [f"GET\t/api/v1/exposures\t\tX-Session-Token\t{key}" for key in keys]
    # wrk counts redirects as success: make sure these requests are signed in.
    check_signed_in(f"{stack.web_url}/dashboard/", {"Cookie": lines[0].split("\t")[-1]})
    check_signed_in(
        f"{stack.web_url}/api/v1/exposures", {"X-Session-Token": api_lines[0].split("\t")[-1]}
    )
    settle()
    trivial = wrk(f"{stack.web_url}/livez", ["GET\t/livez\t\t\t"], run.seconds, run.work)
    # Steady state, as in a storm of millions: every process has rendered each
    # page shape once (customers/dashboard_page.py) before the measured run.
    wrk(stack.web_url, lines, max(2.0, run.seconds / 2), run.work)
    dashboard = wrk(stack.web_url, lines, run.seconds, run.work)
    assert dashboard["non_2xx"] == 0, dashboard["output"]
    yield Row(
        "5 dashboard",
        "requests/s",
        dashboard["rps"],
        "req/s",
        ceiling=trivial["rps"],
        target_ratio=0.5,
        note=f"c=32 over {len(lines)} customers",
    )
    yield Row(
        "5 dashboard",
        "p99 latency",
        dashboard["p99_ms"],
        "ms",
        target_value=100,
        target_is_max=True,
    )
    # What the view itself costs: the same trivial view, asked with the same
    # signed-in cookies, so the middleware loads each session and user as it
    # must for any signed-in page (three round trips the anonymous one skips).
    signed_in_trivial = wrk(
        stack.web_url,
        [line.replace("/dashboard/", "/livez") for line in lines],
        run.seconds,
        run.work,
    )
    yield Row(
        "5 dashboard",
        "req/s vs signed-in trivial",
        dashboard["rps"],
        "req/s",
        ceiling=signed_in_trivial["rps"],
        note="the ceiling: /livez with the same session cookies (session and user loaded)",
    )
    api = wrk(stack.web_url, api_lines, run.seconds, run.work)
    assert api["non_2xx"] == 0, api["output"]
    yield Row(
        "5 API /api/v1/exposures",
        "requests/s",
        api["rps"],
        "req/s",
        ceiling=trivial["rps"],
        target_ratio=0.5,
        note=f"c=32 over {len(api_lines)} customers, X-Session-Token",
    )
    yield Row(
        "5 API /api/v1/exposures",
        "p99 latency",
        api["p99_ms"],
        "ms",
        target_value=100,
        target_is_max=True,
    )


# --- 6. sign-in storms --------------------------------------------------------------


def locust(run: Run, user_class: str, env: dict, users: int = 128) -> tuple[float, int, int]:
    """Run a locust user class headless; returns completed flows/s and counts."""
    import sys

    prefix = run.work / f"locust-{user_class}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(Path(__file__).with_name("locustfile.py")),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{int(run.seconds)}s",
            "--host",
            run.stack.web_url,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            user_class,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=run.seconds + 120,
    )
    if result.returncode not in (0, 1):
        print(result.stderr[-3000:])
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists() and failures.read_text().count("\n") > 1:
        print(failures.read_text()[:2000])
    with open(f"{prefix}_stats.csv") as handle:
        for row in csv.DictReader(handle):
            if row["Type"] == "FLOW":
                ok = int(row["Request Count"]) - int(row["Failure Count"])
                return ok / run.seconds, ok, int(row["Failure Count"])
    # No flow finished in the run (a machine busy enough that the first slow
    # password hashes outlast it): a figure of 0, said so, not a failed bench.
    print(f"  locust: no {user_class} flow finished in {run.seconds:.0f} s")
    return 0.0, 0, 0


def step_signin(run: Run):
    """6. Sign-ins per second: by one-time code against by password."""
    stack = run.web_stack()
    if not any(name.startswith("bulk") for name, _ in stack.procs):
        for index in range(CORES):
            stack.start_worker(f"bulk{index}", "transactional,default", concurrency=1)
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password

    from customers.models import Customer, User

    password = "bench-password-1234"
    code_emails = [f"signin{n}@example.com" for n in range(8000)]
    password_emails = [f"password{n}@example.com" for n in range(32)]
    Customer.objects.bulk_create(
        Customer(customer_ref=f"SIGNIN{n:06d}", email=email)
        for n, email in enumerate(code_emails + password_emails)
    )
    hashed = make_password(password)  # one slow hash, shared: every check still pays for it
    users = User.objects.bulk_create(
        User(username=f"pw{n}", email=email, password=hashed)
        for n, email in enumerate(password_emails)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users
    )
    for user in users:
        Customer.objects.filter(email=user.email).update(user=user)
    (run.work / "code-emails").write_text("\n".join(code_emails))
    (run.work / "password-emails").write_text("\n".join(password_emails))
    env = {
        "BENCH_CODE_EMAILS": str(run.work / "code-emails"),
        "BENCH_PASSWORD_EMAILS": str(run.work / "password-emails"),
        "BENCH_PASSWORD": password,
        "BENCH_DATABASE_URL": os.environ["DATABASE_URL"],
    }
    settle()
    code_rate, code_ok, code_failed = locust(run, "CodeSignIn", env)
    app_rate, app_ok, app_failed = locust(run, "AppCodeSignIn", env)
    # Fewer users: each sign-in is a deliberately slow hash, and 16 keep every
    # request thread busy; 128 at once left none finished in a busy minute.
    password_rate, password_ok, password_failed = locust(run, "PasswordSignIn", env, users=16)
    yield Row(
        "6 sign-in by code (web)",
        "sign-ins/s",
        code_rate,
        "flows/s",
        target_value=100,
        note=f"{code_ok} signed in, {code_failed} failed; 2 pages, request, emailed code, confirm",
    )
    yield Row(
        "6 sign-in by code (app)",
        "sign-ins/s",
        app_rate,
        "flows/s",
        target_value=100,
        note=f"{app_ok} signed in, {app_failed} failed; headless API, emailed code",
    )
    yield Row(
        "6 sign-in by password",
        "sign-ins/s",
        password_rate,
        "flows/s",
        note=f"{password_ok} signed in, {password_failed} failed; PBKDF2 as in production",
    )


# --- 7. CPU per request, in one process ---------------------------------------------


def step_cpu(run: Run):
    """7. CPU per request in one process: signed-in reads against a trivial view."""
    import json
    import sys

    stack = run.web_stack()
    keys = run.work / "cpu-session-keys"
    keys.write_text("\n".join(signed_in_sessions(200)))
    # A fresh process, as a web worker is, with the server's environment (its
    # collected static files: the pages link to them by their hashed names).
    result = subprocess.run(
        [sys.executable, "-m", "bench.inprocess", str(keys)],
        cwd=Path(__file__).resolve().parents[1],
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    seconds = json.loads(result.stdout.strip().splitlines()[-1])
    trivial = seconds.pop("anonymous trivial view")
    for name, cost in seconds.items():
        yield Row(
            f"7 CPU: {name}",
            "requests per CPU-second",
            1 / cost,
            "req/s",
            ceiling=1 / trivial,
            note=f"{cost * 1000:.2f} ms a request; anonymous /livez {trivial * 1000:.2f} ms",
        )


STEPS = [
    step_import,
    step_planning,
    step_first_message,
    step_dispatch,
    step_callbacks,
    step_dashboard,
    step_signin,
    step_cpu,
]


def selected_steps(names: str) -> list:
    """Every step, or the import and the steps named (``dashboard,signin``)."""
    wanted = {name.strip() for name in names.split(",") if name.strip()}
    if not wanted:
        return STEPS
    known = {step.__name__.removeprefix("step_") for step in STEPS}
    if unknown := wanted - known:
        raise SystemExit(f"BENCH_STEPS: no step {', '.join(sorted(unknown))} (known: {known})")
    return [s for s in STEPS if s is step_import or s.__name__.removeprefix("step_") in wanted]

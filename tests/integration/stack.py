"""Run Firsthand for real in subprocesses: gunicorn, Celery workers and beat,
against the test database (PostgreSQL), Redis and a fake SMS provider on
loopback. The test process only prepares data and reads the outcome."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import redis
from django.db import connection

from tests.fakes.twilio_server import FakeTwilio, start_fake_twilio_process
from tests.integration.netns import WorkerHost
from tests.processes import child_env

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "integration-auth-token"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1")


_static_root: Path | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The stack's processes sign sessions with it; so must anything that makes
# sessions for them (make bench).
SECRET_KEY = "integration-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def redis_url(db: int) -> str:
    """Redis database ``db`` (shifted by STACK_REDIS_DB_OFFSET, so two stacks can run side by side)."""
    base = REDIS_URL.rsplit("/", 1)[0]
    return f"{base}/{db + int(os.environ.get('STACK_REDIS_DB_OFFSET', '0'))}"


def database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{s['NAME']}"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class Stack:
    """A running Firsthand: start the pieces a test needs, stop them all after."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        database: str | None = None,
        web_port: int | None = None,
        **env_overrides: str,
    ) -> None:
        self.tmp = tmp_path
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.web_port = web_port or free_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        for db in (3, 4, 5):
            redis.Redis.from_url(redis_url(db)).flushdb()
        fake_proc, fake_url = start_fake_twilio_process(ACCOUNT_SID, AUTH_TOKEN, env=child_env())
        self.procs.append(("fake-twilio", fake_proc))
        self.fake = FakeTwilio(fake_url, ACCOUNT_SID, AUTH_TOKEN)
        self.env = child_env(
            DEBUG="0",
            SECRET_KEY=SECRET_KEY,
            DATABASE_URL=database or database_url(),
            DATABASE_CONN_MAX_AGE="0",
            DATABASE_IDLE_TRANSACTION_TIMEOUT="5",
            CELERY_BROKER_URL=redis_url(3),
            CACHE_URL=redis_url(4),
            RECEIPTS_BUFFER_URL=redis_url(5),
            PORTAL_BASE_URL=self.web_url,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SMS_BACKEND="notices.channels.twilio.TwilioBackend",
            TWILIO_API_BASE_URL=fake_url,
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_FROM="+61400000000",
            # Campaigns set their own rate in these tests; the fake has no limit.
            SMS_RATE="0",
            EMAIL_BACKEND="notices.channels.outbox.EmailBackend",
            DELIVERY_IN_DOUBT_AFTER="6",
            DELIVERY_RETRY_BASE="0.2",
            DELIVERY_RETRY_MAX="2",
            DISPATCH_TASK_SECONDS="5",
            SWEEP_INTERVAL="2",
            PROVIDER_TIMEOUT="5",
            LOG_LEVEL="WARNING",
            FIRSTHAND_VAR_DIR=str(self.tmp / "var"),
        )
        self.env.update(env_overrides)

    # --- processes ---------------------------------------------------------------

    def _spawn(
        self, name: str, argv: list[str], host: WorkerHost | None = None
    ) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            host.command(argv) if host else argv,
            cwd=ROOT,
            env=host.env_for(self.env) if host else self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((name, proc))
        return proc

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start_web(self, workers: int = 2, threads: int = 4) -> None:
        """gunicorn with the production settings (portal/gunicorn.py)."""
        self._collectstatic()
        self.env.update(
            WEB_BIND=f"127.0.0.1:{self.web_port}",
            WEB_WORKERS=str(workers),
            WEB_THREADS=str(threads),
        )
        self._spawn("web", [str(BIN / "gunicorn"), "portal.wsgi", "-c", "python:portal.gunicorn"])
        wait_for(self._web_ready, 30, "gunicorn")

    def _web_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.web_url}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def start_worker(
        self, name: str, queues: str, concurrency: int = 2, host: WorkerHost | None = None
    ) -> subprocess.Popen:
        """A Celery worker; on ``host`` (a network namespace) when given."""
        proc = self._spawn(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "portal",
                "worker",
                "--loglevel",
                "INFO",
                "--queues",
                queues,
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            host,
        )
        wait_for(lambda: "ready." in self.log(name), 60, f"worker {name}")
        return proc

    def start_production(self, **env: str) -> None:
        """Every process of Procfile.production under honcho, as one machine runs them."""
        self._collectstatic()
        self.env.update(
            PATH=f"{BIN}{os.pathsep}{self.env.get('PATH', '')}",
            WEB_BIND=f"127.0.0.1:{self.web_port}",
            WEB_WORKERS="2",
            LOG_LEVEL="INFO",
            **env,
        )
        self._spawn("honcho", [str(BIN / "honcho"), "start", "-f", "Procfile.production"])
        wait_for(self._web_ready, 60, "gunicorn under honcho")

    def _collectstatic(self) -> None:
        """Once per test run (compressing takes a while), shared by every stack."""
        global _static_root
        if _static_root is None:
            collected = Path(tempfile.mkdtemp(prefix="firsthand-static-"))
            atexit.register(shutil.rmtree, collected, ignore_errors=True)
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
                cwd=ROOT,
                env={**self.env, "STATIC_ROOT": str(collected)},
                check=True,
                timeout=300,
            )
            _static_root = collected
        self.env["STATIC_ROOT"] = str(_static_root)

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "portal",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.tmp / "beat-schedule"),
            ],
        )

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)}: {result.stderr}")
        return result.stdout.strip()

    def stop(self) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    if name == "fake-twilio":
                        proc.terminate()
                    else:
                        os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        # Connections the children held must be gone before the test database is flushed
        # (and dropped at the end). The group leader (honcho, celery) can exit before
        # its own children have closed theirs: wait for them.
        if connection.vendor == "postgresql":
            _wait_for_other_sessions_to_end()
        connection.close()


def _other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _wait_for_other_sessions_to_end(timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while _other_sessions() and time.monotonic() < deadline:
        time.sleep(0.2)

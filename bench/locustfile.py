"""Sign-in storms for ``make bench``: by one-time code and by password.

Each simulated customer comes from its own address (X-Forwarded-For; the bench
runs the site with TRUSTED_PROXY_COUNT=1), as a real storm would, so the
per-address limits stay on. A code sign-in is the whole path: request the
code, the worker emails it (to the outbox), read it, enter it.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import time

import psycopg
from gevent.lock import Semaphore
from locust import FastHttpUser, events, task

# Looking for the emailed code (indexed on "to", created_at: notices/models/outbox.py).
POLL_FIRST = 0.1
POLL_EVERY = 0.15
CODE_LINE = re.compile(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", re.M)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_accounts = itertools.count()
_connection: list = []
_connecting = Semaphore()


def _database():
    """One connection shared by all simulated users (psycopg waits through gevent,
    so the first connect is guarded, or every user would open its own)."""
    with _connecting:
        if not _connection:
            _connection.append(psycopg.connect(os.environ["BENCH_DATABASE_URL"], autocommit=True))
    return _connection[0]


def _lines(path_variable: str) -> list[str]:
    with open(os.environ[path_variable]) as handle:
        return [line.strip() for line in handle if line.strip()]


class SignInUser(FastHttpUser):
    """Each flow is another customer, from their own address: a simulated user
    signs in many customers in turn, and the per-address limits must not see one."""

    abstract = True

    def new_customer(self) -> None:
        self.ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"

    def _csrf(self, path: str) -> str:
        page = self.client.get(path, headers={"X-Forwarded-For": self.ip}, name=path)
        return CSRF.search(page.text).group(1)

    def _flow(self, name: str, started: float, ok: bool, detail: str = "") -> None:
        events.request.fire(
            request_type="FLOW",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=None if ok else RuntimeError(detail),
            context={},
        )
        self.client.cookiejar.clear()


class CodeSignIn(SignInUser):
    emails = _lines("BENCH_CODE_EMAILS") if "BENCH_CODE_EMAILS" in os.environ else []

    def on_start(self) -> None:
        self.db = _database()

    @task
    def sign_in_by_code(self) -> None:
        self.new_customer()
        email = self.emails[next(_accounts) % len(self.emails)]
        started = time.perf_counter()
        token = self._csrf("/accounts/login/code/")
        requested = time.time()
        response = self.client.post(
            "/accounts/login/code/",
            {"csrfmiddlewaretoken": token, "email": email},
            headers={"X-Forwarded-For": self.ip, "Referer": self.host + "/accounts/login/code/"},
            allow_redirects=False,
            name="request code",
        )
        if response.status_code != 302:
            return self._flow("code sign-in", started, False, f"request: {response.status_code}")
        code = self._wait_for_code(email, requested)
        if code is None:
            return self._flow("code sign-in", started, False, "no code emailed")
        token = self._csrf("/accounts/login/code/confirm/")
        response = self.client.post(
            "/accounts/login/code/confirm/",
            {"csrfmiddlewaretoken": token, "code": code},
            headers={
                "X-Forwarded-For": self.ip,
                "Referer": self.host + "/accounts/login/code/confirm/",
            },
            allow_redirects=False,
            name="confirm code",
        )
        ok = response.status_code == 302 and "/dashboard/" in response.headers.get("Location", "")
        self._flow("code sign-in", started, ok, f"confirm: {response.status_code}")

    def _wait_for_code(self, email: str, since: float) -> str | None:
        # Every simulated user polls: at 128 of them a short interval would be
        # thousands of queries a second on the server's own cores. The code
        # takes a worker round trip to arrive, so the first look waits for it.
        deadline = time.monotonic() + 10
        time.sleep(POLL_FIRST)
        while time.monotonic() < deadline:
            row = self.db.execute(
                'SELECT body FROM notices_outboxmessage WHERE "to" = %s '
                "AND created_at >= to_timestamp(%s) ORDER BY created_at DESC LIMIT 1",
                [email, since - 1],
            ).fetchone()
            if row and (match := CODE_LINE.search(row[0])):
                return match.group(1)
            time.sleep(POLL_EVERY)
        return None


class AppCodeSignIn(SignInUser):
    """The mobile app's path: allauth headless, JSON, no pages."""

    emails = CodeSignIn.emails

    def on_start(self) -> None:
        self.db = _database()

    @task
    def sign_in_by_code(self) -> None:
        self.new_customer()
        email = self.emails[(next(_accounts) + len(self.emails) // 2) % len(self.emails)]
        started = time.perf_counter()
        requested = time.time()
        # A pending flow answers 401 with the session token: that is success here.
        with self.client.post(
            "/_allauth/app/v1/auth/code/request",
            json={"email": email},
            headers={"X-Forwarded-For": self.ip},
            name="app: request code",
            catch_response=True,
        ) as response:
            try:
                token = (response.json() or {}).get("meta", {}).get("session_token")
            except ValueError:
                token = None
            if response.status_code == 401 and token:
                response.success()
            else:
                response.failure(f"{response.status_code}, token: {bool(token)}")
        if response.status_code != 401 or not token:
            return self._flow(
                "app code sign-in", started, False, f"request: {response.status_code}"
            )
        code = CodeSignIn._wait_for_code(self, email, requested)
        if code is None:
            return self._flow("app code sign-in", started, False, "no code emailed")
        response = self.client.post(
            "/_allauth/app/v1/auth/code/confirm",
            json={"code": code},
            headers={"X-Forwarded-For": self.ip, "X-Session-Token": token},
            name="app: confirm code",
        )
        self._flow(
            "app code sign-in",
            started,
            response.status_code == 200,
            f"confirm: {response.status_code}",
        )


class PasswordSignIn(SignInUser):
    accounts = _lines("BENCH_PASSWORD_EMAILS") if "BENCH_PASSWORD_EMAILS" in os.environ else []

    @task
    def sign_in_by_password(self) -> None:
        self.new_customer()
        email = self.accounts[next(_accounts) % len(self.accounts)]
        started = time.perf_counter()
        token = self._csrf("/accounts/login/")
        response = self.client.post(
            "/accounts/login/",
            {
                "csrfmiddlewaretoken": token,
                "login": email,
                "password": os.environ["BENCH_PASSWORD"],
            },
            headers={"X-Forwarded-For": self.ip, "Referer": self.host + "/accounts/login/"},
            allow_redirects=False,
            name="password",
        )
        ok = response.status_code == 302 and "/dashboard/" in response.headers.get("Location", "")
        self._flow("password sign-in", started, ok, f"login: {response.status_code}")

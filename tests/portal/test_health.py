from __future__ import annotations

import socket
import sys
import threading

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_with_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "cache": True, "broker": True}


def test_healthz_is_503_when_the_broker_is_unreachable(client, settings):
    # A real connection attempt to a port nothing listens on.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] is False


def test_a_flood_of_probes_opens_one_broker_connection_a_second(client, settings, monkeypatch):
    """/healthz answers anyone: each answer opened a connection to the broker."""
    from portal import health

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/1"  # nothing listens: a real attempt
    opened = []

    class CountedConnection(health.Connection):
        def __init__(self, *args, **kwargs):
            opened.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(health, "Connection", CountedConnection)
    now = [1000.0]
    monkeypatch.setattr(health, "monotonic", lambda: now[0], raising=False)
    assert {client.get("/healthz").status_code for _ in range(5)} == {503}
    assert len(opened) == 1
    now[0] += health.BROKER_RECHECK_SECONDS
    assert client.get("/healthz").json()["checks"]["broker"] is False
    assert len(opened) == 2


def test_healthz_is_503_when_the_file_broker_folder_is_missing(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "absent")}
    assert client.get("/healthz").status_code == 503


def test_healthz_is_503_when_the_shared_cache_is_unreachable(client, settings):
    """Sessions and rate-limit counts live there: a machine that cannot reach it
    answered every signed-in page and every sign-in with a 500, and /healthz 200."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            # A real connection attempt to a port nothing listens on.
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "cache": False, "broker": True}


def test_healthz_is_503_when_the_database_is_unreachable(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False


def test_livez_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200 and response.content == b"ok"


# What production sets (portal/settings.py without DEBUG, an https PORTAL_BASE_URL).
BEHIND_THE_LOAD_BALANCER = {
    "ALLOWED_HOSTS": ["portal.example.com"],
    "SECURE_SSL_REDIRECT": True,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
}


def test_healthz_answers_the_load_balancers_own_probe(client, settings):
    """The balancer probes each machine at its address, over plain HTTP: it got
    a 301 to https, or a 400 for a host not in ALLOWED_HOSTS, and took every
    machine out of service."""
    for name, value in BEHIND_THE_LOAD_BALANCER.items():
        setattr(settings, name, value)
    for host in ["10.0.3.7:8000", "portal.example.com"]:
        response = client.get("/healthz", HTTP_HOST=host)
        assert response.status_code == 200, (host, response.status_code)
        assert response.json()["checks"] == {"database": True, "cache": True, "broker": True}
        assert response["X-Request-ID"]
    assert client.head("/healthz", HTTP_HOST="10.0.3.7").status_code == 200
    assert client.post("/healthz", HTTP_HOST="10.0.3.7").status_code == 405


def test_other_paths_still_check_the_host_and_redirect_to_https(client, settings):
    for name, value in BEHIND_THE_LOAD_BALANCER.items():
        setattr(settings, name, value)
    assert client.get("/livez", HTTP_HOST="10.0.3.7:8000").status_code == 400
    assert client.get("/healthz/", HTTP_HOST="10.0.3.7:8000").status_code == 400
    response = client.get("/livez", HTTP_HOST="portal.example.com")
    assert response.status_code == 301
    assert response["Location"] == "https://portal.example.com/livez"


@pytest.fixture
def silent_server():
    """A loopback address that accepts connections and never answers: a broker
    gone without closing its connections (a failover, a NAT or firewall timeout)."""
    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for conn in held:
        conn.close()


STALLED_BROKER = """
from django.conf import settings
from portal.celery import app
from portal.health import broker_ok
print("broker_ok", broker_ok())
try:
    app.send_task("portal.tasks.apply_retention", retry=False)
    print("published")
except Exception as exc:
    print("refused", type(exc).__name__)
"""


def test_a_broker_that_stops_answering_refuses_instead_of_hanging(silent_server, tmp_path):
    """Every web thread that queued a sign-in code waited on it for ever, and so
    did /healthz's check: the site stopped, and said it was healthy."""
    result = _shell_against_a_silent_server(
        STALLED_BROKER,
        tmp_path,
        CELERY_BROKER_URL=f"redis://127.0.0.1:{silent_server}/0",
        BROKER_SOCKET_TIMEOUT="2",
    )
    lines = result.stdout.splitlines()
    assert lines[-2:] == ["broker_ok False", "refused OperationalError"], result.stderr


STALLED_DATABASE = """
from portal.health import database_ok
print("database_ok", database_ok())
"""


def test_a_database_that_stops_answering_fails_the_check_instead_of_hanging(
    silent_server, tmp_path
):
    """A PostgreSQL host gone without closing its connections: a new connection
    (each web thread's, and /healthz's) waited for it for ever."""
    result = _shell_against_a_silent_server(
        STALLED_DATABASE,
        tmp_path,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{silent_server}/firsthand",
        DATABASE_CONNECT_TIMEOUT="1",
    )
    assert result.stdout.splitlines()[-1:] == ["database_ok False"], result.stderr


def _shell_against_a_silent_server(script: str, tmp_path, **env):
    """``manage.py shell -c script`` in a child with ``env``; fails the test if
    it is still waiting after a minute and a half."""
    import subprocess

    from tests.portal.test_settings import ROOT, child_env

    try:
        return subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=ROOT,
            env=child_env(DEBUG="1", FIRSTHAND_VAR_DIR=str(tmp_path), **env),
            capture_output=True,
            text=True,
            timeout=90,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("waited on the silent server for over a minute and a half")

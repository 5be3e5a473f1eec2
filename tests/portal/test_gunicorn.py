"""Production's gunicorn settings (portal/gunicorn.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# In a process of its own: freezing the collector is for good.
SCRIPT = """
import gc, sys
import portal.wsgi  # what preload_app loads in the master
from portal import gunicorn
assert "customers.views" not in sys.modules  # the views load on the first request
gunicorn.when_ready(server=None)
assert "customers.views" in sys.modules
print(gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_the_master_freezes_what_it_loaded_before_forking():
    from tests.processes import child_env

    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=child_env(SECRET_KEY="gunicorn-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    frozen, tracked = (int(n) for n in result.stdout.split())
    # Nearly everything loaded is frozen: a worker's full collection walks only its own.
    assert frozen > 50_000
    assert tracked < frozen / 10


@pytest.mark.parametrize("module", ["portal.wsgi", "portal.asgi"])
def test_the_web_application_will_not_start_without_a_secret_key(module):
    """It started, passed /healthz (which signs nothing), and answered every
    page with a 500: the load balancer sent customers to it."""
    from tests.portal.test_settings import PRODUCTION, run_python

    result = run_python(f"import {module}", env={**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "The SECRET_KEY setting must not be empty." in result.stderr
    assert run_python(f"import {module}", env=PRODUCTION).returncode == 0


def test_production_settings_load_the_app_before_forking():
    from portal import gunicorn

    assert gunicorn.preload_app is True
    assert gunicorn.worker_class == "gthread"


def test_workers_are_recycled_after_a_configurable_number_of_requests(monkeypatch):
    import importlib

    from portal import gunicorn

    monkeypatch.setenv("WEB_MAX_REQUESTS", "5000")
    try:
        assert importlib.reload(gunicorn).max_requests == 5000
        assert gunicorn.max_requests_jitter == 500  # staggered
        monkeypatch.delenv("WEB_MAX_REQUESTS")
        assert importlib.reload(gunicorn).max_requests == 200_000
    finally:
        importlib.reload(gunicorn)


@pytest.mark.parametrize(
    "name, value, message",
    [
        # A master with no worker: it served nothing, and said nothing.
        ("WEB_WORKERS", "0", "WEB_WORKERS=0 must be at least 1"),
        ("WEB_THREADS", "four", "WEB_THREADS='four' is not an integer"),
        # gunicorn's "no timeout": a hung worker would never be replaced.
        ("WEB_TIMEOUT", "0", "WEB_TIMEOUT=0 must be at least 1"),
    ],
)
def test_a_malformed_web_setting_stops_start_up(monkeypatch, name, value, message):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    from portal import gunicorn

    monkeypatch.setenv(name, value)
    try:
        with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
            importlib.reload(gunicorn)
    finally:
        monkeypatch.delenv(name)
        importlib.reload(gunicorn)


def test_the_access_log_keeps_the_keys_of_emailed_links_out(monkeypatch):
    """A password reset link carries its key in the path: whoever reads the
    access log must not be able to set the account's password with it."""
    import logging
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from portal import gunicorn

    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", gunicorn.access_log_format)
    logger = gunicorn.logger_class(config)
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger.access_log.addHandler(handler)
    for path in (
        "/accounts/password/reset/key/1a-cb8hz3-9f1e2d3c4b5a69788796a5b4c3d2e1f0/",
        "/accounts/confirm-email/MQ:1vSo2x:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789/",
    ):
        environ = {
            "REQUEST_METHOD": "GET",
            "RAW_URI": path,
            "PATH_INFO": path,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
        }
        response = SimpleNamespace(status="200 OK", sent=10, headers=[])
        request = SimpleNamespace(headers=[])
        logger.access(response, request, environ, timedelta(milliseconds=5))
    assert len(lines) == 2
    assert "/accounts/password/reset/key/[key]/" in lines[0]
    assert "/accounts/confirm-email/[key]/" in lines[1]
    assert not any("9f1e2d3c4b5a" in line or "AbCdEfGh" in line for line in lines)


def test_the_error_log_names_the_path_only_and_masks_the_traceback():
    """A request that fails outside Django (a CSV download's rows stream after
    the view returned) is logged by gunicorn itself, query string and all."""
    import logging

    from gunicorn.config import Config

    from portal import gunicorn

    logger = gunicorn.logger_class(Config())
    lines: list[str] = []
    handler = logging.Handler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.emit = lambda record: lines.append(handler.format(record))
    logger.error_log.addHandler(handler)
    try:
        try:
            raise ValueError("DETAIL:  Failing row contains (7, Zephyrine, jane@example.com).")
        except ValueError:
            logger.exception(
                "Error handling request %s %s", "GET", "/admin/customers/customer/?q=Quillfeather"
            )
    finally:
        logger.error_log.removeHandler(handler)
    [line] = lines
    assert "Error handling request GET /admin/customers/customer/" in line
    assert "Traceback" in line and "ValueError" in line
    for value in ("Quillfeather", "Zephyrine", "jane@example.com"):
        assert value not in line, value


def test_gunicorns_own_lines_are_json_and_the_access_log_stays_path_only(tmp_path):
    """Workers booting and exiting, errors outside Django: gunicorn's error log,
    one JSON object a line like the application's; the access log keeps its
    format, the path without the query string."""
    import json
    import signal
    import socket
    import time
    import urllib.request

    from tests.processes import child_env

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = child_env(
        DEBUG="0",
        SECRET_KEY="gunicorn-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        PORTAL_BASE_URL=f"http://127.0.0.1:{port}",
        ALLOWED_HOSTS="127.0.0.1",
        FIRSTHAND_VAR_DIR=str(tmp_path),
        STATIC_ROOT=str(tmp_path),  # whitenoise warns, in plain text, of a missing one
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="1",
        WEB_THREADS="1",
    )
    for name in ("LOG_FORMAT", "DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "-c", "python:portal.gunicorn"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/livez?email=jane@example.com", timeout=5
                ) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "no gunicorn"
                time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)

    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    gunicorn_lines = [line for line in lines if line["logger"] == "gunicorn.error"]
    messages = [line["message"] for line in gunicorn_lines]
    assert any(m.startswith("Booting worker with pid") for m in messages), messages
    assert any(m.startswith("Worker exiting") for m in messages), messages
    assert all({"timestamp", "level"} <= set(line) for line in gunicorn_lines)
    [access] = stdout.splitlines()
    assert access.startswith('127.0.0.1 "GET /livez" 200 2 '), access
    assert "jane" not in stdout + stderr

"""Production's gunicorn settings (portal/gunicorn.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    frozen, tracked = (int(n) for n in result.stdout.split())
    # Nearly everything loaded is frozen: a worker's full collection walks only its own.
    assert frozen > 50_000
    assert tracked < frozen / 10


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

"""Environments for processes the tests start (manage.py, Celery workers, servers)."""

from __future__ import annotations

import os

# Variables that describe the test run itself, not the process being started.
_TEST_ONLY = {"PYTEST_VERSION", "PYTEST_CURRENT_TEST", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG"}


def child_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _TEST_ONLY}
    env.update(overrides)
    return env

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery

from portal.observability import celery_hooks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# JSON logs with task ids, worker heartbeats, worker metrics.
celery_hooks.install(app)


def ensure_file_broker_folders() -> None:
    """The embedded file broker needs its folders before anyone sends or listens."""
    if (app.conf.broker_url or "").startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            folder = app.conf.broker_transport_options.get(key)
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)


ensure_file_broker_folders()

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def _file_broker_control(tmp_path_factory):
    # kombu remembers queue bindings per process, so their files must outlive a test.
    return tmp_path_factory.mktemp("broker-control")


@pytest.fixture
def file_broker(settings, tmp_path, _file_broker_control):
    """An empty file broker of this test's own; returns its transport options."""
    folder = tmp_path / "broker"
    folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(_file_broker_control),
        "store_processed": False,
    }
    return settings.CELERY_BROKER_TRANSPORT_OPTIONS

"""Send slots for apps that may not import notices (portal/send_slots.py)."""

from __future__ import annotations

import pytest

from portal import send_slots


def test_notices_provides_the_slots_when_its_app_is_ready():
    from notices.tasks import provider_slot_take

    assert send_slots._take is provider_slot_take


def test_without_a_provider_a_send_is_refused_not_let_through_unpaced(monkeypatch):
    monkeypatch.setattr(send_slots, "_take", None)
    with pytest.raises(RuntimeError, match="no provider of send slots"):
        send_slots.take(object(), channel="email")

"""What staff preview and test-send is what customers are sent."""

from __future__ import annotations

import pytest

from notices.channels.push import ELLIPSIS, MAX_PAYLOAD_BYTES, payload_size
from notices.models import CampaignTemplate
from notices.previews import preview_message
from notices.references import format_reference
from notices.services import campaign_create

pytestmark = pytest.mark.django_db


def test_a_push_preview_is_cut_to_fcms_limit_as_the_message_sent_is(incident, comms, audience):
    # A text saved before its size was checked, or whose labels grew since, is
    # cut when sent (FCM refuses a larger payload): the preview showed it whole.
    campaign = campaign_create(incident=incident, channels=["push"], by=comms)
    CampaignTemplate.objects.filter(campaign=campaign, channel="push", language="en").update(
        body="Details. " * 600 + "Ref {reference}, check it at {verify_url}"
    )
    preview = preview_message(campaign=campaign, channel="push", language="en")
    size = payload_size(subject=preview.subject, body=preview.body, reference=preview.reference)
    assert size <= MAX_PAYLOAD_BYTES
    assert ELLIPSIS in preview.body
    assert f"Ref {format_reference(preview.reference)}, check it at" in preview.body

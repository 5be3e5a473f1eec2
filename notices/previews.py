"""What a campaign message will look like, for staff: preview and test-send.

The sample is not a real customer: a stand-in first name and the set of
exposed fields of one member of the audience (field names only, no values).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.utils import translation

from notices.audience import Audience
from notices.channels import push
from notices.models import Campaign
from notices.references import format_reference, new_reference
from notices.sms import SmsSegments, sms_segments
from notices.templating import RenderContext, render, render_sms, render_subject

SAMPLE_NAMES = {"en": "Alex", "fr": "Camille"}


@dataclass(frozen=True)
class Preview:
    channel: str
    language: str
    subject: str
    body: str
    reference: str
    segments: SmsSegments | None


def sample_exposed_codes(campaign: Campaign) -> list[str]:
    """The exposed fields of one audience member, or the campaign's data classes."""
    where, params = Audience.of(campaign).where()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT e.fields {where} LIMIT 1", params)
        row = cursor.fetchone()
    if row:
        fields = row[0]
        if isinstance(fields, str):  # SQLite hands JSON back as text
            import json

            fields = json.loads(fields)
        return list(fields)
    return list(campaign.data_classes.values_list("code", flat=True)) or ["name", "email"]


def preview_message(
    *, campaign: Campaign, channel: str, language: str, exposed: list[str] | None = None
) -> Preview:
    template = campaign.templates.filter(channel=channel, language=language).first()
    if template is None:
        template = campaign.templates.filter(channel=channel, language="en").first()
    if template is None:
        raise LookupError(f"no {channel} template")
    reference = new_reference()
    context = RenderContext(
        first_name=SAMPLE_NAMES.get(language, "Alex"),
        exposed_codes=exposed if exposed is not None else sample_exposed_codes(campaign),
        reference=format_reference(reference),
        language=language,
        incident_title=(campaign.incident.title_fr if language == "fr" else "")
        or campaign.incident.title,
    )
    with translation.override(language):
        body = (render_sms if channel == "sms" else render)(template.body, context)
        subject = render_subject(template.subject, context)
    if channel == "push":
        # As sending does: never over FCM's payload limit.
        body = push.fit_body(subject=subject, body=body, reference=reference)
    return Preview(
        channel=channel,
        language=language,
        subject=subject,
        body=body,
        reference=reference,
        segments=sms_segments(body) if channel == "sms" else None,
    )

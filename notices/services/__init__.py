"""Operations that write, by subject: campaigns (direct alerts) and notices."""

from __future__ import annotations

from notices.services.campaigns import (
    campaign_approve,
    campaign_cancel,
    campaign_create,
    campaign_edited,
    campaign_finish_if_done,
    campaign_pause,
    campaign_problems,
    campaign_resume,
    campaign_send,
    campaign_templates_fill,
    deliveries_mark_in_doubt,
    incident_check_active,
    test_send_create,
)
from notices.services.contacts import (
    contact_change_confirm,
    contact_change_start,
    device_refresh,
    device_register,
    device_remove,
    devices_deactivate,
)
from notices.services.notices import CONTENT_FIELDS as NOTICE_CONTENT_FIELDS
from notices.services.notices import (
    breach_section_problems,
    direct_first_override,
    notice_edit,
    notice_problems,
    notice_publish,
    notice_schedule,
    notice_update_add,
    notices_publish_due,
    report_sender_key,
    suspicious_report_create,
)

__all__ = [
    "NOTICE_CONTENT_FIELDS",
    "breach_section_problems",
    "campaign_approve",
    "campaign_cancel",
    "campaign_create",
    "campaign_edited",
    "campaign_finish_if_done",
    "campaign_pause",
    "campaign_problems",
    "campaign_resume",
    "campaign_send",
    "campaign_templates_fill",
    "contact_change_confirm",
    "contact_change_start",
    "deliveries_mark_in_doubt",
    "device_refresh",
    "device_register",
    "device_remove",
    "devices_deactivate",
    "direct_first_override",
    "incident_check_active",
    "notice_edit",
    "notice_problems",
    "notice_publish",
    "notice_schedule",
    "notice_update_add",
    "notices_publish_due",
    "report_sender_key",
    "suspicious_report_create",
    "test_send_create",
]

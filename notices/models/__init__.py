from __future__ import annotations

from notices.models.campaigns import (
    Campaign,
    CampaignTemplate,
    CustomerStatusFilter,
    IncidentTemplate,
    TestSend,
)
from notices.models.contacts import ContactVerification, Device
from notices.models.deliveries import (
    FINAL_STATUSES,
    HANDED_OVER_STATUSES,
    PROVIDER_ID_MAX_LENGTH,
    STATUS_RANK,
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    RateBucket,
)
from notices.models.notices import DirectFirstOverride, Notice, NoticeUpdate, SuspiciousReport
from notices.models.outbox import OutboxMessage
from notices.models.records import CampaignRecord, IncidentRecord

__all__ = [
    "FINAL_STATUSES",
    "HANDED_OVER_STATUSES",
    "PROVIDER_ID_MAX_LENGTH",
    "STATUS_RANK",
    "Campaign",
    "CampaignRecord",
    "CampaignTemplate",
    "ContactVerification",
    "CustomerStatusFilter",
    "Delivery",
    "DeliveryEvent",
    "DeliveryStatus",
    "Device",
    "DirectFirstOverride",
    "IncidentRecord",
    "IncidentTemplate",
    "Notice",
    "NoticeUpdate",
    "OutboxMessage",
    "RateBucket",
    "SuspiciousReport",
    "TestSend",
]

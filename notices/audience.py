"""Who a campaign reaches, as SQL shared by planning and the coverage report.

The audience is the incident's exposures, optionally narrowed to customers
with any of some data classes exposed, and to current or former customers.
Channel names are checked against a fixed list before they reach SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

CAMPAIGN_CHANNELS = ("sms", "email", "inapp", "push")

# The app on a phone: the customer's most recently registered active device.
_DEVICE = "FROM notices_device dv WHERE dv.user_id = {t}.user_id AND dv.active"
_REACHABLE = {
    "sms": "c.phone <> ''",
    "email": "c.email <> ''",
    "inapp": "c.user_id IS NOT NULL",
    "push": f"EXISTS (SELECT 1 {_DEVICE.format(t='c')})",
}
_ADDRESS = {
    "sms": "{t}.phone",
    "email": "{t}.email",
    "inapp": "CAST({t}.user_id AS VARCHAR(20))",
    "push": f"(SELECT dv.token {_DEVICE} ORDER BY dv.updated_at DESC LIMIT 1)",
}


@dataclass(frozen=True)
class Audience:
    incident_id: int
    data_classes: tuple[str, ...] = ()
    customer_status: str = "all"  # all | current | former

    @classmethod
    def of(cls, campaign) -> Audience:
        return cls(
            incident_id=campaign.incident_id,
            data_classes=tuple(sorted(campaign.data_classes.values_list("code", flat=True))),
            customer_status=campaign.customer_status,
        )

    def where(self) -> tuple[str, list]:
        """``FROM … WHERE …`` over exposures ``e`` joined to customers ``c``."""
        sql = [
            "FROM customers_exposure e JOIN customers_customer c ON c.id = e.customer_id",
            "WHERE e.incident_id = %s",
        ]
        params: list = [self.incident_id]
        if self.data_classes:
            if connection.vendor == "postgresql":
                sql.append("AND e.fields ?| %s")
                params.append(list(self.data_classes))
            else:
                marks = ", ".join(["%s"] * len(self.data_classes))
                sql.append(
                    f"AND EXISTS (SELECT 1 FROM json_each(e.fields) j WHERE j.key IN ({marks}))"
                )
                params.extend(self.data_classes)
        if self.customer_status == "current":
            sql.append("AND c.is_current = %s")
            params.append(True)
        elif self.customer_status == "former":
            sql.append("AND c.is_current = %s")
            params.append(False)
        return " ".join(sql), params


def checked_channels(channels: list[str]) -> list[str]:
    unknown = [c for c in channels if c not in CAMPAIGN_CHANNELS]
    if unknown or not channels:
        raise ValueError(f"unknown or missing channels: {unknown or channels}")
    return channels


def reachable_sql(channel: str) -> str:
    return _REACHABLE[channel]


def first_channel_sql(channels: list[str]) -> str:
    """The first reachable channel in order, the customer's preferred one first."""
    channels = checked_channels(channels)
    whens = [
        f"WHEN c.preferred_channel = '{ch}' AND {_REACHABLE[ch]} THEN '{ch}'" for ch in channels
    ] + [f"WHEN {_REACHABLE[ch]} THEN '{ch}'" for ch in channels]
    return "CASE " + " ".join(whens) + " END"


def address_sql(channel_column: str, table: str = "c") -> str:
    """The contact the chosen channel uses: phone, email or login id."""
    whens = " ".join(f"WHEN '{ch}' THEN {expr.format(t=table)}" for ch, expr in _ADDRESS.items())
    return f"CASE {channel_column} {whens} ELSE '' END"


def channel_order_for(customer_preferred: str, channels: list[str]) -> list[str]:
    """The same order in Python, for fall-back after a failure."""
    if customer_preferred in channels:
        return [customer_preferred] + [c for c in channels if c != customer_preferred]
    return list(channels)


def reachable(
    channel: str, *, phone: str, email: str, user_id: int | None, device: str = ""
) -> bool:
    return {
        "sms": bool(phone),
        "email": bool(email),
        "inapp": user_id is not None,
        "push": bool(device),
    }[channel]


def address(channel: str, *, phone: str, email: str, user_id: int | None, device: str = "") -> str:
    return {"sms": phone, "email": email, "inapp": str(user_id or ""), "push": device}[channel]

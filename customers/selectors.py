"""Queries that read customer data. Every customer-facing read is scoped here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Prefetch

from customers.models import Customer, DataClass, Exposure, Incident, Step, StepProgress


def customer_for_user(user) -> Customer | None:
    """The customer record behind a login, or None (staff, anonymous)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Customer.objects.filter(user=user).first()


def incidents_visible_to_customers():
    return Incident.objects.exclude(status=Incident.Status.DRAFT)


def exposures_for_customer(customer: Customer):
    return Exposure.objects.filter(customer=customer).select_related("incident")


def exposure_counts_by_data_class(incident: Incident) -> dict[str, int]:
    """Affected customers of an incident per exposed data class (one aggregate)."""
    if connection.vendor == "postgresql":
        sql = (
            "SELECT k, count(*) FROM customers_exposure e "
            "CROSS JOIN LATERAL jsonb_object_keys(e.fields) k WHERE e.incident_id = %s GROUP BY k"
        )
    else:
        sql = (
            "SELECT j.key, count(*) FROM customers_exposure e, json_each(e.fields) j "
            "WHERE e.incident_id = %s GROUP BY j.key"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [incident.pk])
        return {code: int(n) for code, n in sorted(cursor.fetchall())}


@dataclass
class StepItem:
    step: Step
    done: bool


@dataclass
class FieldCard:
    data_class: DataClass
    masked_value: str
    steps: list[StepItem] = field(default_factory=list)


@dataclass
class IncidentStatus:
    incident: Incident
    exposure: Exposure | None
    cards: list[FieldCard] = field(default_factory=list)

    @property
    def affected(self) -> bool:
        return bool(self.cards)

    @property
    def steps_total(self) -> int:
        return sum(len(card.steps) for card in self.cards)

    @property
    def steps_done(self) -> int:
        return sum(item.done for card in self.cards for item in card.steps)

    @property
    def exposed_labels(self) -> list[DataClass]:
        return [card.data_class for card in self.cards]

    @property
    def updated_at(self):
        """When what this status says last changed: the incident or the exposure."""
        stamps = [self.incident.updated_at]
        if self.exposure is not None:
            stamps.append(self.exposure.updated_at)
        return max(stamps)


# The taxonomy and the list of incidents change rarely and are read on every
# dashboard view of a sign-in storm: each process keeps them for a short while
# (staff edits show within TAXONOMY_SECONDS).
TAXONOMY_SECONDS = 60.0
_cache: dict[str, tuple[float, object]] = {}


def _cached(key: str, seconds: float, load):
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is None or now - hit[0] > seconds:
        hit = (now, load())
        _cache[key] = hit
    return hit[1]


def clear_caches() -> None:
    _cache.clear()


def taxonomy() -> dict[str, DataClass]:
    """Data classes by code, each with its steps (most urgent first) prefetched."""
    return _cached(
        "taxonomy",
        TAXONOMY_SECONDS,
        lambda: {
            dc.code: dc
            for dc in DataClass.objects.prefetch_related(
                Prefetch("steps", queryset=Step.objects.order_by("priority", "code"))
            )
        },
    )


def taxonomy_generation() -> float:
    """Changes whenever this process reloads the taxonomy (for caches built on it)."""
    taxonomy()
    return _cache["taxonomy"][0]


def active_incidents() -> list[Incident]:
    return _cached(
        "incidents",
        10.0,
        lambda: list(incidents_visible_to_customers().filter(status=Incident.Status.ACTIVE)),
    )


def dashboard_for_customer(customer: Customer) -> list[IncidentStatus]:
    """Per visible incident: affected or not, then one card per exposed field,
    most sensitive first, each with its steps (a step shared by several fields
    appears once, under the most urgent). Two queries."""
    exposures = {
        e.incident_id: e
        for e in Exposure.objects.filter(customer=customer).select_related("incident")
    }
    incidents = {i.pk: i for i in active_incidents()}
    for exposure in exposures.values():
        if exposure.incident.status != Incident.Status.DRAFT:
            incidents.setdefault(exposure.incident_id, exposure.incident)
    incidents = sorted(incidents.values(), key=lambda i: i.discovered_at, reverse=True)
    classes = taxonomy()
    done = set(StepProgress.objects.filter(customer=customer).values_list("step_id", flat=True))

    statuses = []
    for incident in incidents:
        exposure = exposures.get(incident.pk)
        status = IncidentStatus(incident=incident, exposure=exposure)
        exposed = [
            (classes[code], masked)
            for code, masked in (exposure.fields if exposure else {}).items()
            if code in classes
        ]
        exposed.sort(key=lambda pair: (-pair[0].sensitivity, pair[0].code))
        shown: set[int] = set()
        for data_class, masked in exposed:
            card = FieldCard(data_class=data_class, masked_value=masked)
            for step in data_class.steps.all():
                if step.pk not in shown:
                    shown.add(step.pk)
                    card.steps.append(StepItem(step=step, done=step.pk in done))
            status.cards.append(card)
        statuses.append(status)
    return statuses


def step_for_customer(customer: Customer, step_code: str) -> Step | None:
    """A step that applies to one of this customer's exposed fields, else None."""
    codes: set[str] = set()
    for fields in Exposure.objects.filter(customer=customer).values_list("fields", flat=True):
        codes.update(fields)
    return Step.objects.filter(code=step_code, data_classes__code__in=codes).distinct().first()

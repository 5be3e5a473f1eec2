"""Queries that read customer data. Every customer-facing read is scoped here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Prefetch
from django.utils import timezone

from customers.models import Customer, DataClass, Exposure, Incident, Step, StepProgress
from portal import generations


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
    def closed(self) -> bool:
        return self.incident.status == Incident.Status.CLOSED

    @property
    def updated_at(self):
        """When what this status says last changed: the incident or the exposure."""
        stamps = [self.incident.updated_at]
        if self.exposure is not None:
            stamps.append(self.exposure.updated_at)
        return max(stamps)


# The taxonomy and the list of incidents change rarely and are read on every
# dashboard view of a sign-in storm: each process keeps them until the content
# generation moves (a staff edit; portal/generations.py), or for at most
# ``seconds`` should a change ever bypass it.
TAXONOMY_SECONDS = 300.0
INCIDENTS_SECONDS = 60.0


def taxonomy() -> dict[str, DataClass]:
    """Data classes by code, each with its steps (most urgent first) prefetched
    and kept as a tuple in ``ordered_steps``."""
    return generations.copy("customers.taxonomy", TAXONOMY_SECONDS, _load_taxonomy)


def _load_taxonomy() -> dict[str, DataClass]:
    classes = {}
    for dc in DataClass.objects.prefetch_related(
        Prefetch("steps", queryset=Step.objects.order_by("priority", "code"))
    ):
        # A tuple, not the prefetched manager: building a related manager per
        # exposed field was a tenth of a dashboard view.
        dc.ordered_steps = tuple(dc.steps.all())
        classes[dc.code] = dc
    return classes


def taxonomy_generation() -> float:
    """Changes whenever this process reloads the taxonomy (for caches built on it)."""
    taxonomy()
    return generations.copied_at("customers.taxonomy")


def incidents_by_id(wanted) -> dict[int, Incident]:
    """These incidents, by id, from this process's copy of every incident (an
    exposure can point at a closed one, or at a draft that stays hidden); one
    newer than the copy is read from the database."""
    known = generations.copy(
        "customers.all-incidents",
        INCIDENTS_SECONDS,
        lambda: {i.pk: i for i in Incident.objects.all()},
    )
    found = {pk: known[pk] for pk in wanted if pk in known}
    if missing := [pk for pk in wanted if pk not in known]:
        found.update((i.pk, i) for i in Incident.objects.filter(pk__in=missing))
    return found


def active_incidents() -> list[Incident]:
    return generations.copy(
        "customers.active-incidents",
        INCIDENTS_SECONDS,
        lambda: list(incidents_visible_to_customers().filter(status=Incident.Status.ACTIVE)),
    )


def dashboard_for_customer(customer: Customer) -> list[IncidentStatus]:
    """Per visible incident: affected or not, then one card per exposed field,
    most sensitive first, each with its steps (a step shared by several fields
    appears once, under the most urgent). Two queries."""
    exposures = list(Exposure.objects.filter(customer=customer))
    done = set(StepProgress.objects.filter(customer=customer).values_list("step_id", flat=True))
    return _statuses(exposures, done)


# The dashboard and the app read the signed-in customer on every view of a sign-in
# storm: the record, its exposures and its ticked steps come in one round trip,
# without the ORM's per-query compiling.
_DASHBOARD_SQL = """
SELECT 'e', c.id, c.first_name, c.customer_ref, e.id, e.incident_id, e.fields, e.updated_at
FROM customers_customer c LEFT JOIN customers_exposure e ON e.customer_id = c.id
WHERE c.user_id = %s
UNION ALL
SELECT 's', p.step_id, NULL, NULL, NULL, NULL, NULL, NULL
FROM customers_stepprogress p JOIN customers_customer c ON c.id = p.customer_id
WHERE c.user_id = %s
"""


def dashboard_for_user(user) -> tuple[Customer, list[IncidentStatus]] | None:
    """The signed-in customer (id, names only: the rest loads if asked for) and
    their statuses as dashboard_for_customer gives them; None without a record."""
    if not getattr(user, "is_authenticated", False):
        return None
    with connection.cursor() as cursor:
        cursor.execute(_DASHBOARD_SQL, [user.pk, user.pk])
        rows = cursor.fetchall()
    customer, exposures, done = None, [], set()
    for kind, number, first_name, ref, exposure_id, incident_id, fields, updated_at in rows:
        if kind == "s":
            done.add(number)
            continue
        if customer is None:
            customer = _partial(
                Customer, id=number, user_id=user.pk, first_name=first_name, customer_ref=ref
            )
        if exposure_id is not None:
            exposures.append(
                _partial(
                    Exposure,
                    id=exposure_id,
                    customer_id=number,
                    incident_id=incident_id,
                    fields=_json(fields),
                    updated_at=_aware(updated_at),
                )
            )
    if customer is None:
        return None
    return customer, _statuses(exposures, done)


def _partial(model, **values):
    """A record loaded with these fields only; the others load when read, and
    saving it writes only these (Django's deferred fields)."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


def _json(value):
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _aware(value):
    """SQLite hands raw queries naive UTC datetimes (PostgreSQL aware ones)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value is None or timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _statuses(exposures: list[Exposure], done: set[int]) -> list[IncidentStatus]:
    by_incident = {e.incident_id: e for e in exposures}
    incidents = {i.pk: i for i in active_incidents()}
    for incident in incidents_by_id(by_incident).values():
        if incident.status != Incident.Status.DRAFT:
            incidents.setdefault(incident.pk, incident)
    incidents = sorted(incidents.values(), key=lambda i: i.discovered_at, reverse=True)
    classes = taxonomy()

    statuses = []
    for incident in incidents:
        exposure = by_incident.get(incident.pk)
        if exposure is not None:
            exposure.incident = incident  # the shared copy: no query
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
            for step in data_class.ordered_steps:
                if step.pk not in shown:
                    shown.add(step.pk)
                    card.steps.append(StepItem(step=step, done=step.pk in done))
            status.cards.append(card)
        statuses.append(status)
    return statuses


def step_for_customer(customer: Customer, step_code: str) -> Step | None:
    """A step that applies to one of this customer's exposed fields, else None.
    Only incidents customers see count: a draft's would tell them what it holds."""
    codes: set[str] = set()
    exposures = Exposure.objects.filter(customer=customer).exclude(
        incident__status=Incident.Status.DRAFT
    )
    for fields in exposures.values_list("fields", flat=True):
        codes.update(fields)
    return Step.objects.filter(code=step_code, data_classes__code__in=codes).distinct().first()

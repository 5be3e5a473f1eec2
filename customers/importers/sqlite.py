"""Bulk import on SQLite (the embedded default): the same rules in Python,
written in batches inside one transaction."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from django.conf import settings
from django.db import connection
from django.utils import timezone

from customers.hashing import birth_date_hash
from customers.importers import spec
from customers.importers.reading import careful_rows
from customers.masking import DOT, mask_value
from customers.models import Customer, DataClass

BATCH = 2000


def _batches(rows: Iterator, size: int = BATCH) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _oversized(line: int, record: dict, columns: dict) -> list[spec.RowError]:
    return [
        spec.RowError(line, col, spec.OVERSIZED)
        for col, limit in columns.items()
        if spec.oversized(record.get(col, ""), limit)
    ]


def customer_errors(line: int, record: dict, country: int | None) -> tuple[list, dict]:
    """The rules for one customer line, and its normalised values."""
    errors = _oversized(line, record, spec.CUSTOMER_COLUMNS)
    ref = spec.normalise_ref(record.get("customer_ref", ""))
    email = spec.trim(record.get("email", "")).lower()
    phone = spec.normalise_phone(record.get("phone", ""), country)
    is_current = spec.parse_bool(record.get("is_current", ""))
    language = spec.trim(record.get("preferred_language", "")).lower() or "en"
    channel = spec.trim(record.get("preferred_channel", "")).lower()
    birth_date = spec.parse_birth_date(record.get("date_of_birth", ""))
    if not ref:
        errors.append(spec.RowError(line, "customer_ref", spec.MISSING_REF))
    elif len(ref) <= 32 and not re.match(spec.REF_PATTERN, ref):
        errors.append(spec.RowError(line, "customer_ref", spec.MALFORMED_REF))
    if email and not re.match(spec.EMAIL_PATTERN, email):
        errors.append(spec.RowError(line, "email", spec.MALFORMED_EMAIL))
    if phone is None:
        errors.append(spec.RowError(line, "phone", spec.MALFORMED_PHONE))
    if is_current is None:
        errors.append(spec.RowError(line, "is_current", spec.NOT_A_BOOLEAN))
    if birth_date is None:
        errors.append(spec.RowError(line, "date_of_birth", spec.MALFORMED_BIRTH_DATE))
    if language not in spec.LANGUAGES:
        errors.append(spec.RowError(line, "preferred_language", spec.UNKNOWN_LANGUAGE))
    if channel and channel not in spec.CHANNELS:
        errors.append(spec.RowError(line, "preferred_channel", spec.UNKNOWN_CHANNEL))
    values = {
        "customer_ref": ref,
        "first_name": spec.trim(record.get("first_name", "")),
        "last_name": spec.trim(record.get("last_name", "")),
        "email": email,
        "phone": phone,
        "is_current": is_current,
        "preferred_language": language,
        "preferred_channel": channel,
        "birth_date_hash": birth_date_hash(birth_date or ""),
    }
    return errors, values


def import_customers(stream: BinaryIO, names: list[str], *, progress=None) -> dict:
    country = spec.national_country_code(settings.PHONE_DEFAULT_REGION)
    errors: list[spec.RowError] = []
    seen: set[str] = set()
    present = [
        spec.CUSTOMER_FIELD_FOR_COLUMN.get(n, n)
        for n in spec.CUSTOMER_COLUMNS
        if n in names and n != "customer_ref"
    ]
    inserted = updated = 0
    now = timezone.now()
    for batch in _batches(careful_rows(stream, len(names), errors, progress)):
        valid = []
        for line, row in batch:
            row_errors, values = customer_errors(line, dict(zip(names, row, strict=True)), country)
            # A duplicate is a valid line for a customer an earlier valid line named.
            if not row_errors and values["customer_ref"] in seen:
                row_errors = [spec.RowError(line, "customer_ref", spec.DUPLICATE_ROW)]
            errors.extend(row_errors)
            if not row_errors:
                seen.add(values["customer_ref"])
                valid.append(values)
        existing = {
            c.customer_ref: c
            for c in Customer.objects.filter(customer_ref__in=[v["customer_ref"] for v in valid])
        }
        new, changed = [], []
        for values in valid:
            current = existing.get(values["customer_ref"])
            if current is None:
                new.append(Customer(**values, created_at=now, updated_at=now))
            elif any(getattr(current, col) != values[col] for col in present):
                for col in present:
                    if getattr(current, col) != values[col]:
                        for flag in spec.CONTACT_PROOF_FLAGS.get(col, ()):
                            setattr(current, flag, False)
                    setattr(current, col, values[col])
                current.updated_at = now
                changed.append(current)
        Customer.objects.bulk_create(new)
        if changed:
            flags = [f for col in present for f in spec.CONTACT_PROOF_FLAGS.get(col, ())]
            Customer.objects.bulk_update(changed, [*present, *flags, "updated_at"])
        inserted += len(new)
        updated += len(changed)
    return {"inserted": inserted, "updated": updated, "errors": errors}


def exposure_errors(line: int, record: dict, known: set[str]) -> tuple[list, str, dict]:
    errors = _oversized(line, record, spec.EXPOSURE_COLUMNS)
    ref = spec.normalise_ref(record.get("customer_ref", ""))
    if not ref:
        errors.append(spec.RowError(line, "customer_ref", spec.MISSING_REF))
    parts = [p for p in record.get("exposed", "").split(";") if p]
    fields: dict[str, str] = {}
    codes = []
    malformed = False
    for part in parts:
        code, has_value, value = part.partition("=")
        codes.append(code)
        # "code=" with nothing (or only white space) after it would be stored as
        # a mask of nothing, "••••", as if a value had been exposed.
        if not has_value or not value.strip():
            malformed = True
            continue
        if len(value) > spec.EXPOSED_VALUE_MAX and not any(
            e.column == "exposed" and e.reason == spec.OVERSIZED for e in errors
        ):
            errors.append(spec.RowError(line, "exposed", spec.OVERSIZED))
        # Trimmed as PostgreSQL's import trims it (customers.importers.masking_sql).
        fields[code] = value.strip(spec.SPACES) if DOT in value else mask_value(code, value)
    if not parts:
        errors.append(spec.RowError(line, "exposed", spec.NOTHING_EXPOSED))
    if malformed:
        errors.append(spec.RowError(line, "exposed", spec.MALFORMED_EXPOSED))
    elif not set(codes) <= known:
        errors.append(spec.RowError(line, "exposed", spec.UNKNOWN_DATA_CLASS))
    if len(set(codes)) < len(parts):
        errors.append(spec.RowError(line, "exposed", spec.REPEATED_DATA_CLASS))
    return errors, ref, fields


def import_exposures(
    stream: BinaryIO, names: list[str], *, incident_id: int, progress=None
) -> dict:
    known = set(DataClass.objects.values_list("code", flat=True))
    errors: list[spec.RowError] = []
    seen: set[str] = set()
    inserted = updated = 0
    now = timezone.now()
    for batch in _batches(careful_rows(stream, len(names), errors, progress)):
        checked = []
        for line, row in batch:
            row_errors, ref, fields = exposure_errors(
                line, dict(zip(names, row, strict=True)), known
            )
            checked.append((line, ref, fields, row_errors))
        ids = dict(
            Customer.objects.filter(customer_ref__in=[ref for _, ref, _, _ in checked]).values_list(
                "customer_ref", "id"
            )
        )
        rows = []
        for line, ref, fields, row_errors in checked:
            # Not for a reference already refused (missing, or too long as written).
            if ref and not any(e.column == "customer_ref" for e in row_errors) and ref not in ids:
                row_errors.append(spec.RowError(line, "customer_ref", spec.UNKNOWN_CUSTOMER))
            if not row_errors and ref in seen:
                row_errors.append(spec.RowError(line, "customer_ref", spec.DUPLICATE_ROW))
            errors.extend(row_errors)
            if not row_errors:
                seen.add(ref)
                rows.append((ids[ref], fields))
        inserted_now, updated_now = _upsert_exposures(incident_id, rows, now)
        inserted += inserted_now
        updated += updated_now
    return {"inserted": inserted, "updated": updated, "errors": errors}


def _upsert_exposures(incident_id: int, rows: list, now) -> tuple[int, int]:
    from customers.models import Exposure

    if not rows:
        return 0, 0
    existing = dict(
        Exposure.objects.filter(
            incident_id=incident_id, customer_id__in=[customer_id for customer_id, _ in rows]
        ).values_list("customer_id", "fields")
    )
    new = [
        Exposure(incident_id=incident_id, customer_id=c, fields=f, created_at=now, updated_at=now)
        for c, f in rows
        if c not in existing
    ]
    changed = [(c, f) for c, f in rows if c in existing and existing[c] != f]
    Exposure.objects.bulk_create(new)
    with connection.cursor() as cursor:
        import json

        cursor.executemany(
            "UPDATE customers_exposure SET fields = %s, updated_at = %s "
            "WHERE incident_id = %s AND customer_id = %s",
            [(json.dumps(f), now, incident_id, c) for c, f in changed],
        )
    return len(new), len(changed)

# Retention counts from Incident.closed_at (RETENTION_MONTHS_AFTER_CLOSE), which
# nothing set before: an incident already closed is dated by its last change.

from django.db import migrations
from django.db.models import F


def date_closed_incidents(apps, schema_editor):
    Incident = apps.get_model("customers", "Incident")
    Incident.objects.filter(status="closed", closed_at__isnull=True).update(
        closed_at=F("updated_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_claim_codes_and_notes"),
    ]

    operations = [
        migrations.RunPython(date_closed_incidents, migrations.RunPython.noop),
    ]

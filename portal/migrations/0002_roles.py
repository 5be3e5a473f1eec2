"""Staff roles as groups (see portal/roles.py)."""

from django.db import migrations

from portal.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_audit_log"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0006_claim_codes_and_notes"),
        ("notices", "0007_support_resends"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]

# The recompute outbox belongs to the publishing workflow: its model moves to
# publications (publications/migrations/0005), its table is kept and renamed there.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0004_bulk_reference_checks"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RecomputeRequest")],
            database_operations=[],
        ),
    ]

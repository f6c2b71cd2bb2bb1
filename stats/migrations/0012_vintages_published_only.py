"""The vintage index (series, period start, valid from) holds published rows only.

Drafts (``valid_from IS NULL``) are never read by date or vintage: every read of them
names their release and uses ``obs_one_value_per_release``. An imported draft now pays
one index insertion fewer; publishing, which rewrites the row (``valid_from`` changes),
adds its entry as before. Every read of published rows by series and date states
``valid_from <= x`` or ``valid_from IS NOT NULL``, from which PostgreSQL proves the
predicate.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0011_compact_provenance"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="observation",
            name="obs_vintages",
        ),
        migrations.AddIndex(
            model_name="observation",
            index=models.Index(
                condition=models.Q(("valid_from__isnull", False)),
                fields=["series", "period_start", "valid_from"],
                name="obs_vintages",
            ),
        ),
    ]

# The recompute outbox, moved from stats (stats/migrations/0005): the existing table is
# taken over as it is, then renamed to this app's name. No row is touched.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("publications", "0004_roles"),
        ("stats", "0005_recomputerequest_to_publications"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RecomputeRequest",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("running", "Running"),
                                    ("done", "Done"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("result", models.JSONField(blank=True, default=dict)),
                        ("error", models.TextField(blank=True)),
                        (
                            "release",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="recompute_requests",
                                to="publications.release",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["created_at"],
                        "indexes": [
                            models.Index(fields=["status", "created_at"], name="recompute_status")
                        ],
                        "db_table": "stats_recomputerequest",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="recomputerequest", table=None),
    ]

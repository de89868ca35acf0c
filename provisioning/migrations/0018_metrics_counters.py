"""/metrics: the cumulative counters that outlive purged cycles and log rows, and why a job is
quarantined in a fixed set of words (a label must not carry free text). Counters start at zero:
Prometheus reads a new series from its first scrape."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [  # noqa: RUF012  (Django reads these class attributes)
        ("provisioning", "0017_keep_wiping_removed_members"),
    ]

    operations = [  # noqa: RUF012
        migrations.AddField(
            model_name="provisioningjob",
            name="quarantine_kind",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.CreateModel(
            name="MetricCounter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=80)),
                ("job", models.CharField(blank=True, max_length=120)),
                ("kind", models.CharField(blank=True, max_length=20)),
                ("status", models.CharField(blank=True, max_length=30)),
                ("object_type", models.CharField(blank=True, max_length=10)),
                ("action", models.CharField(blank=True, max_length=16)),
                ("service", models.CharField(blank=True, max_length=20)),
                ("route", models.CharField(blank=True, max_length=120)),
                ("answer", models.CharField(blank=True, max_length=10)),
                ("le", models.CharField(blank=True, max_length=16)),
                ("value", models.FloatField(default=0)),
            ],
            options={
                "constraints": [models.UniqueConstraint(
                    fields=("name", "job", "kind", "status", "object_type", "action", "service", "route", "answer",
                            "le"),
                    name="metric_counter_labels")],
            },
        ),
    ]

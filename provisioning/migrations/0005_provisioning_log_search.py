"""Indexes for the filters of the "Provisioning logs" page.

- ``log_job_status_action`` and ``log_job_type_time`` (declared on the model):
  Status with Action, and Object type, each in page order.
- For the Identity filter, on PostgreSQL only: ``(job_id, UPPER(column)
  text_pattern_ops)`` on the display name, the UPN and the email. The filter
  matches a prefix in any case (``UPPER(column::text) LIKE 'PREFIX%'``); a btree
  answers a LIKE prefix only with the ``text_pattern_ops`` operator class (unless
  the database collation is "C"), and Django's ``Index`` cannot give an operator
  class to an expression on every backend, so these are written in SQL. SQLite
  needs none of them: it keeps working, reading the job's rows.

On PostgreSQL every index is built CONCURRENTLY, so that an upgrade does not stop
the engine from writing logs while a large table is indexed (hence
``atomic = False``).
"""

from django.db import migrations, models

TABLE = "provisioning_provisioninglog"

MODEL_INDEXES = [
    models.Index(fields=["job", "status", "action", "-activity_time", "-id"], name="log_job_status_action"),
    models.Index(fields=["job", "object_type", "-activity_time", "-id"], name="log_job_type_time"),
]

#: index name -> column, each as (job_id, UPPER(column) text_pattern_ops)
PREFIX_INDEXES = {
    "log_job_name_prefix": "source_display_name",
    "log_job_upn_prefix": "source_upn",
    "log_job_email_prefix": "target_email",
}


def _postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def create_indexes(apps, schema_editor):
    model = apps.get_model("provisioning", "ProvisioningLog")
    for index in MODEL_INDEXES:
        if _postgresql(schema_editor):
            schema_editor.add_index(model, index, concurrently=True)
        else:
            schema_editor.add_index(model, index)
    if not _postgresql(schema_editor):
        return
    for name, column in PREFIX_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" '
            f'ON "{TABLE}" ("job_id", UPPER("{column}"::text) text_pattern_ops)'
        )
    # The planner needs statistics on the indexed expressions to see that a name
    # prefix matches few rows; without them it walks the whole date range.
    schema_editor.execute(f'ANALYZE "{TABLE}"')


def drop_indexes(apps, schema_editor):
    model = apps.get_model("provisioning", "ProvisioningLog")
    if _postgresql(schema_editor):
        for name in PREFIX_INDEXES:
            schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
    for index in MODEL_INDEXES:
        if _postgresql(schema_editor):
            schema_editor.remove_index(model, index, concurrently=True)
        else:
            schema_editor.remove_index(model, index)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("provisioning", "0004_previews_notifications"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="provisioninglog", index=index) for index in MODEL_INDEXES
            ],
            database_operations=[migrations.RunPython(create_indexes, drop_indexes, elidable=False)],
        ),
    ]

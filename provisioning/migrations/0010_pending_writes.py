# Writes are recorded before they are sent (see PendingWrite).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('provisioning', '0009_quarantine_audit_activities'),
    ]

    operations = [
        migrations.CreateModel(
            name='PendingWrite',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('cycle_id', models.UUIDField(blank=True, null=True)),
                ('change_id', models.UUIDField(unique=True)),
                ('initiated_by', models.CharField(blank=True, max_length=254)),
                ('object_type', models.CharField(choices=[('user', 'User'), ('group', 'Group')], max_length=10)),
                ('source_id', models.CharField(max_length=64)),
                ('action', models.CharField(choices=[('Create', 'Create'), ('Update', 'Update'), ('Disable', 'Disable'), ('Enable', 'Enable'), ('Delete', 'Delete'), ('StagedDelete', 'StagedDelete'), ('StagedDisable', 'StagedDisable'), ('Skip', 'Skip'), ('Other', 'Other')], max_length=16)),
                ('plan', models.JSONField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pending_writes', to='provisioning.provisioningjob')),
            ],
            options={
                'indexes': [models.Index(fields=['job', 'created_at'], name='pending_write_job_time')],
            },
        ),
    ]

"""The job's credentials fields name the target, not one service: a second
target package uses the same columns."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0007_job_generation")]

    operations = [
        migrations.RenameField("provisioningjob", "dropbox_refresh_token", "target_refresh_token"),
        migrations.RenameField("provisioningjob", "dropbox_team_id", "target_team_id"),
        migrations.RenameField("provisioningjob", "dropbox_team_name", "target_team_name"),
        migrations.RenameField("provisioningjob", "dropbox_admin_email", "target_admin_email"),
        migrations.RenameField("provisioningjob", "dropbox_admin_member_id", "target_admin_id"),
        migrations.RenameField("synccycle", "dropbox_calls", "target_calls"),
        migrations.RenameField("synccycle", "graph_calls", "source_calls"),
    ]

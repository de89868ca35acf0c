# Entering and leaving quarantine are audited.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('provisioning', '0008_neutral_target_credentials'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='activity',
            field=models.CharField(choices=[('Add service principal', 'Add service principal'), ('Update application', 'Update application'), ('Delete application', 'Delete application'), ('Add app role assignment to service principal', 'Add app role assignment to service principal'), ('Remove app role assignment from service principal', 'Remove app role assignment from service principal'), ('Update provisioning setting or credentials', 'Update provisioning setting or credentials'), ('Enable/start provisioning configuration', 'Enable/start provisioning configuration'), ('Disable/pause provisioning configuration', 'Disable/pause provisioning configuration'), ('Enable/restart provisioning configuration', 'Enable/restart provisioning configuration'), ('Update attribute mappings or scope', 'Update attribute mappings or scope'), ('Allow staged deletions', 'Allow staged deletions'), ('Quarantine provisioning job', 'Quarantine provisioning job'), ('Release provisioning job from quarantine', 'Release provisioning job from quarantine'), ('Provision on demand', 'Provision on demand'), ('Invite portal user', 'Invite portal user'), ('Update portal user', 'Update portal user')], db_index=True, max_length=80),
        ),
    ]

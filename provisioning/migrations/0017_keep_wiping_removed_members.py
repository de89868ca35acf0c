"""Removals used to wipe the removed member's devices (Dropbox's default); wiping is now a setting,
off for new applications. Existing ones keep wiping until an administrator switches it off."""

from django.db import migrations


def keep_wiping(apps, schema_editor):
    apps.get_model("provisioning", "ProvisioningJob").objects.update(wipe_devices_on_remove=True)


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0016_delete_application")]
    operations = [migrations.RunPython(keep_wiping, migrations.RunPython.noop)]

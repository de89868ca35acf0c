from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self) -> None:
        from . import schedules

        # After every migrate, make the database schedule match the code, so a
        # deploy that changes an interval needs no manual step.
        post_migrate.connect(schedules.ensure_periodic_tasks, sender=self)

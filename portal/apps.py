from django.apps import AppConfig
from django.core.signals import request_finished


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from provisioning.metrics.calls import flush_soon

        # Calls to the services made while serving requests are stored within a few seconds.
        request_finished.connect(flush_soon, dispatch_uid="metrics-calls")

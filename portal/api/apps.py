from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "portal.api"
    #: "api" alone is too common a label to be sure no other app takes it
    label = "portal_api"
    verbose_name = "API and configuration versions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import versions

        versions.connect()

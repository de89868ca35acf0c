"""The API's pages inside the portal's namespace (portal/urls.py adds them to its own)."""

from django.urls import path

from . import config_pages, pages

CONFIGURATION = "applications/<uuid:app_id>/provisioning/configuration/"

portal_patterns = [
    path("account/api-tokens/", pages.tokens, name="api_tokens"),
    path("account/api-tokens/<int:token_id>/revoke/", pages.revoke, name="revoke_api_token"),
    path(CONFIGURATION, config_pages.page, name="configuration"),
    path(f"{CONFIGURATION}export/", config_pages.export, name="configuration_export"),
    path(f"{CONFIGURATION}import/", config_pages.import_, name="configuration_import"),
    path(f"{CONFIGURATION}versions/<int:number>/", config_pages.version, name="configuration_version"),
    path(f"{CONFIGURATION}versions/<int:number>/download/", config_pages.version_download,
         name="configuration_version_download"),
    path(f"{CONFIGURATION}versions/<int:number>/rollback/", config_pages.rollback, name="configuration_rollback"),
]

"""``/api/v1.0/``: Graph's paths, the OpenAPI description and its browsable docs; anything else under it is a
Graph-shaped 404. API views take tokens, not the portal's session (so no page can be made to call them on a
signed-in administrator's behalf): the site's sign-in redirect does not apply to them."""

from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication
from rest_framework.settings import api_settings

from . import views
from .errors import not_found
from .permissions import PortalRole

JOB = "servicePrincipals/<str:sp_id>/synchronization/jobs/<str:job_id>"


class OpenApiDescription(SpectacularJSONAPIView):
    """The OpenAPI 3 description: with any token the API takes, or in the signed-in portal (the docs page
    fetches it)."""

    authentication_classes = (*api_settings.DEFAULT_AUTHENTICATION_CLASSES, SessionAuthentication)
    permission_classes = (PortalRole,)


class Docs(SpectacularSwaggerSplitView):
    """Swagger UI from the drf-spectacular-sidecar package; its start-up script is a file of its own (the
    ``?script`` URL) and its page has no inline style, so it runs under the portal's Content-Security-Policy
    as it is."""

    authentication_classes = (SessionAuthentication,)
    permission_classes = (PortalRole,)
    template_name = "portal/api/swagger_ui.html"
    url_name = "api:openapi"


def _open(view):
    return login_not_required(view)


app_name = "api"
urlpatterns = [
    path("servicePrincipals/<str:sp_id>/synchronization/jobs", _open(views.job_list), name="jobs"),
    path(JOB, _open(views.job_detail), name="job"),
    path(f"{JOB}/start", _open(views.job_start), name="job_start"),
    path(f"{JOB}/pause", _open(views.job_pause), name="job_pause"),
    path(f"{JOB}/restart", _open(views.job_restart), name="job_restart"),
    path(f"{JOB}/provisionOnDemand", _open(views.job_provision_on_demand), name="job_provision_on_demand"),
    path(f"{JOB}/validateCredentials", _open(views.job_validate_credentials), name="job_validate_credentials"),
    path(f"{JOB}/schema", _open(views.job_schema), name="job_schema"),
    # the portal's own: the configuration as a file, and its versions
    path(f"{JOB}/configuration", _open(views.job_configuration), name="job_configuration"),
    path(f"{JOB}/configuration/versions", _open(views.job_configuration_versions), name="job_configuration_versions"),
    path(f"{JOB}/configuration/versions/<int:number>", _open(views.job_configuration_version),
         name="job_configuration_version"),
    path(f"{JOB}/configuration/versions/<int:number>/restore", _open(views.job_configuration_restore),
         name="job_configuration_restore"),
    path("auditLogs/provisioning", _open(views.provisioning_logs), name="provisioning_logs"),
    path("auditLogs/directoryAudits", _open(views.directory_audits), name="directory_audits"),
    path("openapi.json", _open(OpenApiDescription.as_view()), name="openapi"),
    # the docs page is a page of the portal: signing in first, as for any other
    path("docs/", login_required(Docs.as_view()), name="docs"),
    re_path(r"^.*$", _open(not_found), name="not_found"),
]

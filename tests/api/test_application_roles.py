"""Roles on one application through the API: an application administrator changes that application only,
an application reader reads it only; other applications are not found."""

from __future__ import annotations

import pytest

from portal.accounts.models import ApplicationRoleGrant
from provisioning.defaults import create_job
from provisioning.models import Application, ProvisioningLog
from tests.api.conftest import Api, graph_error, issue, job_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(db):
    app = Application.objects.create(display_name="Dropbox (Sales)", app_id="app-id-2",
                                     service_principal_id="00000000-0000-0000-0000-00000000bbbb")
    create_job(app)
    return app


def _grant(user, application, role):
    ApplicationRoleGrant.objects.create(user=user, application=application, role=role)


def test_an_application_administrator_changes_that_application_only(client, charlie, application, other):
    _grant(charlie, application, "administrator")
    api = Api(client, issue(charlie))
    assert api.get(job_path(application.job)).status_code == 200
    assert api.post(job_path(application.job) + "/pause").status_code == 204
    graph_error(api.get(job_path(other.job)), 404)
    graph_error(api.post(job_path(other.job) + "/pause"), 404)
    other.job.refresh_from_db()
    assert not other.job.stop_requested
    # the portal-wide audit log is not theirs
    graph_error(api.get("/auditLogs/directoryAudits"), 403)


def test_an_application_reader_reads_it_and_changes_nothing(client, charlie, application, other):
    import uuid

    from django.utils import timezone

    _grant(charlie, application, "reader")
    for app in (application, other):
        ProvisioningLog.objects.create(job=app.job, activity_time=timezone.now(), change_id=uuid.uuid4(),
                                       action="Create", status="Success", source_id=app.display_name)
    api = Api(client, issue(charlie))
    error = graph_error(api.post(job_path(application.job) + "/pause"), 403)
    assert error["message"] == "Only Provisioning administrators can make this change."
    rows = api.get("/auditLogs/provisioning").json()["value"]
    assert [row["sourceIdentity"]["id"] for row in rows] == [application.display_name]

"""Every route of the API with an msal-issued Entra access token from the Graph emulator, as each app role:
a reader's token reads everything and changes nothing, an administrator's reaches every operation; every
answer that is not a success is in Graph's error shape."""

from __future__ import annotations

import pytest

from emulators.graph.catalog import PORTAL_ROLE_ADMINISTRATOR, PORTAL_ROLE_READER
from portal.api.versions import record_version
from provisioning.constants import AuditActivity
from provisioning.models import AuditEvent
from tests.portal.test_access import _api_routes

from .test_entra_tokens import app_token, portal_app  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _walk(client, token: str, application) -> dict[tuple[str, str], int]:
    answers = {}
    for method, path in _api_routes(application):
        response = client.generic(method, path, "{}", content_type="application/json",
                                  HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code < 500, (method, path, response.content[:300])
        if response.status_code >= 400:
            assert set(response.json()["error"]) >= {"code", "message", "innerError"}, (method, path)
        answers[(method, path.rsplit("/", 1)[-1])] = response.status_code
    return answers


def test_an_entra_reader_reads_every_resource_and_changes_nothing(client, portal_app, application):  # noqa: F811
    graph, sp = portal_app
    record_version(application.pk, reason="Created")
    answers = _walk(client, app_token(graph, sp, PORTAL_ROLE_READER), application)
    assert {status for (method, _), status in answers.items() if method == "GET"} == {200}
    assert {status for (method, _), status in answers.items() if method != "GET"} == {403}
    application.job.refresh_from_db()
    assert not application.job.stop_requested
    # the roles read from Entra for the application's portal user are audited; nothing of the job is
    assert not AuditEvent.objects.exclude(activity=AuditActivity.UPDATE_ROLES_FROM_ENTRA).exists()


def test_an_entra_administrator_reaches_every_operation(client, portal_app, application,  # noqa: F811
                                                        django_capture_on_commit_callbacks):
    graph, sp = portal_app
    record_version(application.pk, reason="Created")
    with django_capture_on_commit_callbacks():
        answers = _walk(client, app_token(graph, sp, PORTAL_ROLE_ADMINISTRATOR), application)
    assert {status for (method, _), status in answers.items() if method == "GET"} == {200}
    writes = {key: status for key, status in answers.items() if key[0] != "GET"}
    assert not {401, 403} & set(writes.values()), writes
    # an empty body is refused where the operation needs one, and the job is not configured to start
    assert writes[("POST", "start")] == 409 and writes[("POST", "pause")] == 204
    assert writes[("PUT", "schema")] == 400 and writes[("POST", "provisionOnDemand")] == 400
    assert writes[("POST", "restore")] == 200

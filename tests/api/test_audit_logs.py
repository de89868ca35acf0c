"""auditLogs/provisioning (provisioningObjectSummary) with Graph's $filter, $top and $skiptoken, and
auditLogs/directoryAudits (the portal's own audit events)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from provisioning import audit
from provisioning.constants import AuditActivity
from provisioning.models import ProvisioningLog
from tests.api.conftest import graph_error

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, tzinfo=UTC)
CYCLE = uuid.uuid4()


@pytest.fixture
def logs(application):
    """12 rows an hour apart: every third a failed Update of Megan, the others Created Alex rows; the
    first six in CYCLE."""
    rows = []
    for hour in range(12):
        failed = hour % 3 == 0
        rows.append(ProvisioningLog.objects.create(
            job=application.job, activity_time=START + timedelta(hours=hour), change_id=uuid.uuid4(),
            cycle_id=CYCLE if hour < 6 else uuid.uuid4(), action="Update" if failed else "Create",
            status="Failure" if failed else "Success", source_id="megan" if failed else "alex",
            source_display_name="Megan Bowen" if failed else "Alex Wilber", error_code="E1" if failed else "",
            steps=[{"name": "Import user", "status": "Success", "description": "Read", "details": {}}]))
    return rows


def _ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [row["id"] for row in answer.json()["value"]]


def test_it_answers_provisioning_object_summaries_newest_first(bob_api, logs, application):
    body = bob_api.get("/auditLogs/provisioning").json()
    assert body["@odata.context"].endswith("$metadata#auditLogs/provisioning")
    assert [row["id"] for row in body["value"]] == [str(log.change_id) for log in reversed(logs)]
    first = body["value"][-1]
    assert first["provisioningAction"] == "update" and first["provisioningStatusInfo"]["status"] == "failure"
    assert first["provisioningStatusInfo"]["errorInformation"]["errorCode"] == "E1"
    assert first["servicePrincipal"]["id"] == application.service_principal_id
    assert first["jobId"] == application.job.job_id
    assert first["provisioningSteps"][0]["provisioningStepType"] == "import"


@pytest.mark.parametrize("expression, hours", [
    ("provisioningAction eq 'update'", [9, 6, 3, 0]),
    ("provisioningStatusInfo/status eq 'success' and sourceIdentity/id eq 'alex'", [11, 10, 8, 7, 5, 4, 2, 1]),
    ("activityDateTime ge 2026-03-01T05:00:00Z and activityDateTime lt 2026-03-01T08:00:00Z", [7, 6, 5]),
    ("(activityDateTime gt 2026-03-01T09:00:00Z) and provisioningAction eq 'create'", [11, 10]),
    (f"cycleId eq '{CYCLE}' and provisioningStatusInfo/status eq 'failure'", [3, 0]),
    ("activityDateTime le 2026-03-01", [0]),
    ("sourceIdentity/displayName eq 'Megan Bowen' and activityDateTime ge '2026-03-01T04:00:00Z'", [9, 6]),
    ("servicePrincipal/id eq 'another'", []),
])
def test_it_filters_as_graph_does(bob_api, logs, expression, hours):
    answer = bob_api.get("/auditLogs/provisioning", {"$filter": expression})
    assert _ids(answer) == [str(logs[hour].change_id) for hour in hours]


def test_it_filters_by_change_id_and_job(bob_api, logs, application):
    answer = bob_api.get("/auditLogs/provisioning", {"$filter": f"changeId eq '{logs[4].change_id}' and "
                                                                f"jobId eq '{application.job.job_id}'"})
    assert _ids(answer) == [str(logs[4].change_id)]


def test_it_pages_with_top_and_the_next_link(bob_api, logs):
    seen, params, pages = [], {"$top": "5", "$filter": "activityDateTime ge 2026-03-01"}, 0
    path = "/auditLogs/provisioning"
    while True:
        body = bob_api.get(path, params).json()
        seen += [row["id"] for row in body["value"]]
        pages += 1
        link = body.get("@odata.nextLink")
        if not link:
            break
        assert link.startswith("http://testserver/api/v1.0/auditLogs/provisioning?")
        from urllib.parse import parse_qs, urlsplit

        params = {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}
        assert params["$top"] == "5" and params["$filter"] == "activityDateTime ge 2026-03-01"
    assert pages == 3 and seen == [str(log.change_id) for log in reversed(logs)]


@pytest.mark.parametrize("params, words", [
    ({"$filter": "displayName eq 'x'"}, "'displayName' cannot be filtered on"),
    ({"$filter": "provisioningAction eq 'create' or provisioningAction eq 'update'"}, "only 'and' combines"),
    ({"$filter": "provisioningAction eq 'explode'"}, "'explode' is not one of"),
    ({"$filter": "activityDateTime ge yesterday"}, "activityDateTime ge needs a value"),
    ({"$filter": "activityDateTime ge 2026-13-45"}, "is not a date and time"),
    ({"$filter": "cycleId eq 'not-a-guid'"}, "is not a GUID"),
    ({"$filter": "sourceIdentity/id ne 'x'"}, "must be followed by eq"),
    ({"$filter": "sourceIdentity/id eq x"}, "needs a value"),
    ({"$filter": "(provisioningAction eq 'create'"}, "not closed"),
    ({"$filter": "provisioningAction eq 'create' and"}, "ends where a condition"),
    ({"$filter": "provisioningAction eq 'it''s"}, "Syntax error"),
    ({"$top": "0"}, "Invalid page size specified: '0'"),
    ({"$top": "1000"}, "Must be between 1 and 999"),
    ({"$top": "ten"}, "Invalid page size"),
    ({"$skiptoken": "not-a-token"}, "$skiptoken is not one this API made"),
])
def test_it_refuses_what_it_cannot_filter_with_the_reason(bob_api, logs, params, words):
    error = graph_error(bob_api.get("/auditLogs/provisioning", params), 400, "BadRequest")
    assert words in error["message"], error


def test_directory_audits_are_the_portals_audit_events(bob_api, alice, application):
    for number in range(3):
        audit.record(AuditActivity.UPDATE_SETTINGS, actor=alice, application=application, target=application,
                     before={"mode": "Manual"}, after={"mode": f"Automatic {number}"})
    audit.record(AuditActivity.START, actor=alice, application=application, target=application)
    body = bob_api.get("/auditLogs/directoryAudits", {"$top": "2"}).json()
    assert [row["activityDisplayName"] for row in body["value"]] == [AuditActivity.START,
                                                                     AuditActivity.UPDATE_SETTINGS]
    assert body["value"][1]["targetResources"][0]["modifiedProperties"] == [
        {"displayName": "mode", "oldValue": "Manual", "newValue": "Automatic 2"}]
    assert body["value"][1]["initiatedBy"]["user"]["userPrincipalName"] == "alice@example.org"
    rest = bob_api.client.get(body["@odata.nextLink"], HTTP_AUTHORIZATION=f"Bearer {bob_api.token}").json()
    assert len(rest["value"]) == 2 and "@odata.nextLink" not in rest
    only = bob_api.get("/auditLogs/directoryAudits",
                       {"$filter": f"activityDisplayName eq '{AuditActivity.START}'"}).json()["value"]
    assert len(only) == 1
    graph_error(bob_api.get("/auditLogs/directoryAudits", {"$filter": "provisioningAction eq 'create'"}), 400)
    graph_error(bob_api.get("/auditLogs/directoryAudits", {"$skiptoken": "abc"}), 400)


def test_rows_of_several_applications_interleave_newest_first_across_pages(bob_api, application):
    from provisioning.defaults import create_job
    from provisioning.models import Application

    other = Application.objects.create(display_name="Dropbox (Sales)", service_principal_id="sp-sales")
    create_job(other)
    made = []
    for hour in range(7):
        app = application if hour % 2 else other
        made.append(ProvisioningLog.objects.create(job=app.job, activity_time=START + timedelta(hours=hour),
                                                   change_id=uuid.uuid4(), action="Create", status="Success"))
    seen, params = [], {"$top": "3"}
    while True:
        body = bob_api.get("/auditLogs/provisioning", params).json()
        seen += [row["id"] for row in body["value"]]
        if "@odata.nextLink" not in body:
            break
        params = {"$top": "3", "$skiptoken": body["@odata.nextLink"].split("%24skiptoken=")[1]}
    assert seen == [str(log.change_id) for log in reversed(made)]
    only = bob_api.get("/auditLogs/provisioning", {"$filter": "servicePrincipal/id eq 'sp-sales'"}).json()["value"]
    assert {row["servicePrincipal"]["id"] for row in only} == {"sp-sales"} and len(only) == 4

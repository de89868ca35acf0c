"""Whatever a client sends, the API answers in Graph's error shape, never with a 500."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import job_path

pytestmark = pytest.mark.django_db

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children,
                                                                                       max_size=4), max_leaves=12)


def _no_500(answer) -> None:
    assert answer.status_code < 500, answer.content[:500]
    if answer.status_code >= 400:
        assert set(answer.json()["error"]) >= {"code", "message", "innerError"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON, where=st.sampled_from(["targetAttributeName", "source", "defaultValue", "flowType",
                                          "matchingPriority", "scope", "flowTypes", "enabled", "attributeMappings",
                                          "sourceObjectName"]))
def test_a_schema_with_any_value_anywhere_is_answered(alice_api, application, value, where):
    schema = alice_api.get(job_path(application.job) + "/schema").json()
    broken = copy.deepcopy(schema)
    users = broken["synchronizationRules"][0]["objectMappings"][0]
    if where in ("targetAttributeName", "source", "defaultValue", "flowType", "matchingPriority"):
        users["attributeMappings"][1][where] = value
    else:
        users[where] = value
    _no_500(alice_api.put(job_path(application.job) + "/schema", broken))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON)
def test_any_body_of_a_job_action_is_answered(alice_api, application, body):
    job = application.job
    job.mode, job.target_refresh_token = "automatic", "a-refresh-token"
    job.save()
    for action in ("restart", "provisionOnDemand", "validateCredentials"):
        refused_before_the_target = (body not in (None, {}) and not isinstance(body, dict)) or (
            isinstance(body, dict) and (body.get("credentials") or body.get("useSavedCredentials") is False))
        if action == "validateCredentials" and not refused_before_the_target:
            continue  # would call the target for real
        _no_500(alice_api.post(job_path(job) + f"/{action}", body))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expression=st.text(max_size=60) | st.sampled_from([
    "activityDateTime ge 2026-02-30", "cycleId eq 123", "changeId eq ''", "(((", "and and", "id eq 'x' and",
    "provisioningStatusInfo/status eq 'FAILURE'", "activityDateTime ge '9999-99-99'", "jobId eq 'a''b'"]),
    top=st.text(max_size=5), token=st.text(max_size=12))
def test_any_query_of_the_logs_is_answered(bob_api, application, expression, top, token):
    _no_500(bob_api.get("/auditLogs/provisioning", {"$filter": expression, "$top": top, "$skiptoken": token}))
    _no_500(bob_api.get("/auditLogs/directoryAudits", {"$filter": expression, "$top": top}))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=JSON)
def test_any_configuration_file_is_answered(alice_api, application, document):
    path = job_path(application.job) + "/configuration"
    _no_500(alice_api.put(path + "?dryRun=true", document))
    current = alice_api.get(path).json()
    for key in ("settings", "schedule", "schema"):
        _no_500(alice_api.put(path + "?dryRun=true", {**current, key: document}))


@pytest.mark.parametrize("digits", ["²", "³", "٣", "１０"])
def test_digits_that_are_not_ascii_are_a_bad_page_size_not_an_error(bob_api, application, digits):
    answer = bob_api.get("/auditLogs/provisioning", {"$top": digits})
    assert answer.status_code == 400, answer.content
    assert "Invalid page size specified" in answer.json()["error"]["message"]

"""synchronizationJob: list, get, start, pause, restart, provisionOnDemand, validateCredentials, as Graph
answers them, and every refusal in Graph's error shape with nothing changed."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from provisioning import jobs
from provisioning.constants import AuditActivity, JobState
from provisioning.models import AuditEvent, Escrow, OnDemandRun, ProvisioningJob
from tests.api.conftest import graph_error, job_path

pytestmark = pytest.mark.django_db


def _configured(application, **fields) -> ProvisioningJob:
    """The job as the tutorial leaves it before Provisioning Status On: Automatic and authorized."""
    job = application.job
    job.mode, job.target_refresh_token = "automatic", "a-refresh-token"
    for name, value in fields.items():
        setattr(job, name, value)
    job.save()
    return job


def test_it_lists_the_jobs_of_a_service_principal(alice_api, application):
    answer = alice_api.get(f"/servicePrincipals/{application.service_principal_id}/synchronization/jobs")
    assert answer.status_code == 200
    body = answer.json()
    assert body["@odata.context"].endswith("/synchronization/jobs")
    [job] = body["value"]
    assert job["id"] == application.job.job_id and job["id"].startswith("dropboxSCIMOutDelta.")
    assert job["templateId"] == "dropboxSCIMOutDelta"
    assert job["schedule"] == {"expiration": None, "interval": "PT40M", "state": "Disabled"}
    assert job["status"]["code"] == "NotConfigured"
    assert job["status"]["quarantine"] is None and job["status"]["lastExecution"] is None
    assert job["status"]["synchronizedEntryCountByType"] == [{"key": "User", "value": 0},
                                                             {"key": "Group", "value": 0}]


def test_it_shows_quarantine_and_the_last_cycle(alice_api, application):
    from django.utils import timezone

    from provisioning.models import SyncCycle

    job = _configured(application, enabled=True, state=JobState.QUARANTINED, quarantine_level=2,
                      quarantine_code="AuthenticationFailed", quarantine_reason="The token was revoked.",
                      quarantined_at=timezone.now(), next_run_at=timezone.now())
    SyncCycle.objects.create(job=job, kind="initial", status="failed", error="The token was revoked.",
                             finished_at=timezone.now())
    status = alice_api.get(job_path(job)).json()["status"]
    assert status["code"] == "Quarantine"
    assert status["quarantine"]["seriesCount"] == 2
    assert status["quarantine"]["error"]["message"] == "The token was revoked."
    assert set(status["quarantine"]) >= {"reason", "currentBegan", "nextAttempt", "seriesCount"}
    assert status["lastExecution"]["state"] == "Failed"
    assert status["countSuccessiveCompleteFailures"] == 1


def test_it_answers_404_for_an_unknown_service_principal_or_job(alice_api, application):
    graph_error(alice_api.get("/servicePrincipals/nope/synchronization/jobs"), 404, "Request_ResourceNotFound")
    path = f"/servicePrincipals/{application.service_principal_id}/synchronization/jobs/nope"
    graph_error(alice_api.get(path), 404)
    graph_error(alice_api.post(path + "/start"), 404)
    graph_error(alice_api.get("/servicePrincipals"), 404)
    graph_error(alice_api.get("/no/such/thing"), 404)


def test_it_answers_405_for_a_method_the_resource_does_not_take(alice_api, application):
    graph_error(alice_api.client.delete("/api/v1.0" + job_path(application.job),
                                        HTTP_AUTHORIZATION=f"Bearer {alice_api.token}"), 405)
    graph_error(alice_api.get(job_path(application.job) + "/start"), 405)


def test_a_deleted_application_has_no_jobs(alice_api, application):
    from django.utils import timezone

    application.deleted_at = timezone.now()
    application.save()
    graph_error(alice_api.get(job_path(application.job)), 404)


def test_it_starts_and_pauses_a_job_in_the_audit_trail_with_the_token_name(alice_api, application,
                                                                           django_capture_on_commit_callbacks):
    job = _configured(application)
    with django_capture_on_commit_callbacks() as callbacks:
        answer = alice_api.post(job_path(job) + "/start")
    assert answer.status_code == 204
    assert len(callbacks) == 1  # the cycle was enqueued
    job.refresh_from_db()
    assert job.enabled
    event = AuditEvent.objects.get(activity=AuditActivity.START)
    assert event.actor_display == 'alice@example.org (via API token "script")'
    assert alice_api.get(job_path(job)).json()["status"]["code"] == "Active"

    assert alice_api.post(job_path(job) + "/pause").status_code == 204
    job.refresh_from_db()
    assert not job.enabled and job.stop_requested
    assert AuditEvent.objects.get(activity=AuditActivity.STOP).actor_display.endswith('(via API token "script")')


def test_start_is_refused_with_409_when_the_job_is_not_configured(alice_api, application):
    error = graph_error(alice_api.post(job_path(application.job) + "/start"), 409, "Conflict")
    assert "Provisioning Mode to Automatic" in error["message"]
    application.job.refresh_from_db()
    assert not application.job.enabled
    assert not AuditEvent.objects.exists()


def test_restart_takes_graphs_reset_scope(alice_api, application):
    from django.utils import timezone

    job = _configured(application, quarantine_level=3, state=JobState.QUARANTINED, user_delta_link="https://x")
    Escrow.objects.create(job=job, object_type="user", source_id="u1", not_before=timezone.now())
    answer = alice_api.post(job_path(job) + "/restart",
                            {"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}})
    assert answer.status_code == 204
    job.refresh_from_db()
    assert job.quarantine_level == 0 and job.state == JobState.IDLE and job.user_delta_link == ""
    assert job.full_cycle_requested and not Escrow.objects.exists()
    assert AuditEvent.objects.get().activity == AuditActivity.RESTART
    # no body at all is the portal's Restart provisioning too
    assert alice_api.post(job_path(job) + "/restart").status_code == 204


@pytest.mark.parametrize("body, words", [
    ({"criteria": {"resetScope": "Watermark, Everything"}}, "Everything: resetScope combines"),
    ({"criteria": {"resetScope": "ConnectorDataStore"}}, "ConnectorDataStore is not offered"),
    ({"criteria": "Full"}, "criteria must be an object"),
    ([1, 2], "The body must be a JSON object"),
])
def test_restart_refuses_what_it_does_not_know(alice_api, application, body, words):
    job = _configured(application, quarantine_level=3)
    error = graph_error(alice_api.post(job_path(job) + "/restart", body), 400, "BadRequest")
    assert words in error["message"]
    job.refresh_from_db()
    assert job.quarantine_level == 3 and not AuditEvent.objects.exists()


def test_force_deletes_needs_staged_deletions(alice_api, application):
    job = _configured(application)
    error = graph_error(alice_api.post(job_path(job) + "/restart", {"criteria": {"resetScope": "ForceDeletes"}}),
                        409)
    assert error["message"] == "No deletions are waiting for approval."
    assert not AuditEvent.objects.exists()


def test_the_body_must_be_json(alice_api, application):
    answer = alice_api.client.post("/api/v1.0" + job_path(application.job) + "/restart", "{not json",
                                   content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alice_api.token}")
    assert "not valid JSON" in graph_error(answer, 400, "BadRequest")["message"]


@pytest.mark.parametrize("action", ["start", "pause", "restart", "provisionOnDemand", "validateCredentials"])
def test_a_reader_and_a_read_only_token_change_nothing(bob_api, alice_read_api, application, action):
    job = _configured(application)
    error = graph_error(bob_api.post(job_path(job) + f"/{action}"), 403, "Authorization_RequestDenied")
    assert error["message"] == "This token is read-only: it cannot make changes."
    error = graph_error(alice_read_api.post(job_path(job) + f"/{action}"), 403)
    assert error["message"] == "This token is read-only: it cannot make changes."
    job.refresh_from_db()
    assert not job.enabled and not AuditEvent.objects.exists() and not OnDemandRun.objects.exists()


def test_a_reader_with_a_read_write_token_is_still_a_reader(client, bob, application):
    from tests.api.conftest import Api, issue

    api = Api(client, issue(bob, scope="read_write"))
    assert api.get(job_path(application.job)).status_code == 200
    error = graph_error(api.post(job_path(_configured(application)) + "/start"), 403)
    assert error["message"] == "Only Provisioning administrators can make this change."


# ---------------------------------------------------------------------------- provision on demand
def _subjects(object_id: str, type_name: str = "User") -> dict:
    return {"parameters": [{"subjects": [{"objectId": object_id, "objectTypeName": type_name}],
                            "ruleId": "dropbox"}]}


def test_provision_on_demand_answers_the_steps_of_the_page(alice_api, job, services, monkeypatch):
    from provisioning.engine.ondemand import run
    from tests.services import entra_connector

    megan = next(u for u in entra_connector().iter_users() if u["displayName"] == "Megan Bowen")
    # the worker takes the task at once
    monkeypatch.setattr(jobs, "_after_commit", lambda task, *args: run(*args))
    answer = alice_api.post(job_path(job) + "/provisionOnDemand", _subjects(megan["id"]))
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["key"].endswith("StatusInfo")
    value = json.loads(body["value"])
    assert value["status"] == "done"
    names = [step["name"] for step in value["provisioningSteps"]]
    assert names[:4] == ["Import user", "Determine if user is in scope",
                         "Match user between source and target system", "Perform action"]
    event = AuditEvent.objects.get(activity=AuditActivity.PROVISION_ON_DEMAND)
    assert event.target_id == megan["id"] and "via API token" in event.actor_display


def test_provision_on_demand_answers_202_while_the_worker_has_not_finished(alice_api, application, settings):
    settings.API_ON_DEMAND_WAIT_SECONDS = 0
    job = _configured(application)
    answer = alice_api.post(job_path(job) + "/provisionOnDemand", _subjects("a-user-id"))
    assert answer.status_code == 202
    assert json.loads(answer.json()["value"])["runId"] == OnDemandRun.objects.get().pk


@pytest.mark.parametrize("body, target", [
    ({}, "parameters"),
    ({"parameters": [{"subjects": []}]}, "parameters[0].subjects"),
    ({"parameters": [{"subjects": [{"objectId": "x", "objectTypeName": "Device"}]}]},
     "parameters[0].subjects[0].objectTypeName"),
    ({"parameters": [{"subjects": [{"objectId": "", "objectTypeName": "User"}]}]},
     "parameters[0].subjects[0].objectId"),
    ({"parameters": [{"subjects": [{"objectId": "x", "objectTypeName": "User"}], "ruleId": "other"}]},
     "parameters[0].ruleId"),
])
def test_provision_on_demand_refuses_bad_parameters(alice_api, application, body, target):
    job = _configured(application)
    assert graph_error(alice_api.post(job_path(job) + "/provisionOnDemand", body), 400)["target"] == target
    assert not OnDemandRun.objects.exists() and not AuditEvent.objects.exists()


def test_provision_on_demand_needs_an_authorized_job(alice_api, application):
    error = graph_error(alice_api.post(job_path(application.job) + "/provisionOnDemand", _subjects("x")), 409)
    assert "Authorize the portal" in error["message"]


# ---------------------------------------------------------------------------- validate credentials
def test_validate_credentials_tests_the_saved_connection(alice_api, job, services):
    answer = alice_api.post(job_path(job) + "/validateCredentials", {"useSavedCredentials": True})
    assert answer.status_code == 204, answer.content
    job.refresh_from_db()
    assert job.connection_ok is True
    event = AuditEvent.objects.get()
    assert event.detail.startswith("Test Connection (validateCredentials)") and "API token" in event.actor_display


def test_validate_credentials_refuses_credentials_in_the_body_and_unauthorized_jobs(alice_api, application):
    error = graph_error(alice_api.post(job_path(application.job) + "/validateCredentials",
                                       {"credentials": [{"key": "SecretToken", "value": "x"}]}), 400)
    assert error["target"] == "credentials"
    error = graph_error(alice_api.post(job_path(application.job) + "/validateCredentials"), 400,
                        "CredentialValidationUnavailable")
    assert "No credentials are saved" in error["message"]
    assert not AuditEvent.objects.exists()


def test_validate_credentials_without_the_portal_s_dropbox_app_key_says_what_to_set(alice_api, job, services):
    with override_settings(DROPBOX_APP_KEY=""):
        error = graph_error(alice_api.post(job_path(job) + "/validateCredentials", {"useSavedCredentials": True}),
                            400, "CredentialValidationUnavailable")
    assert "The Dropbox app key is not configured" in error["message"]
    assert "DROPBOX_APP_KEY" in error["message"]
    job.refresh_from_db()
    assert job.connection_ok is None and job.connection_checked_at is None and job.is_authorized
    assert not AuditEvent.objects.exists()

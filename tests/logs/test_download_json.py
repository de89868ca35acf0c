"""The JSON download: a streamed array of Graph provisioningObjectSummary
objects holding exactly the filtered rows."""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from provisioning import log_export
from provisioning.constants import Action, LogStatus
from provisioning.defaults import create_job
from provisioning.models import Application

from .factory import make_logs

pytestmark = pytest.mark.django_db


def download(client, application, **query):
    return client.get(reverse("portal:provisioning_logs_download", args=[application.pk]),
                      {"format": "json", **query})


def body(response) -> list[dict]:
    return json.loads(b"".join(response.streaming_content))


def test_it_streams_a_json_array_of_every_row_newest_first(bob_client, application, job):
    rows = make_logs(job, 30)
    response = download(bob_client, application)
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/json"
    assert [item["changeId"] for item in body(response)] == [str(row.change_id) for row in rows]


def test_it_holds_exactly_the_filtered_rows(bob_client, application, job):
    other = Application.objects.create(display_name="Dropbox (Sales)")
    make_logs(create_job(other), 10)
    rows = make_logs(job, 60)
    expected = [str(row.change_id) for row in rows if row.status == LogStatus.FAILURE and row.action == Action.UPDATE]
    assert expected
    items = body(download(bob_client, application, status="Failure", action="Update"))
    assert [item["changeId"] for item in items] == expected


def test_an_empty_download_is_an_empty_array(bob_client, application):
    assert body(download(bob_client, application)) == []


def test_it_shapes_each_row_like_graphs_provisioning_object_summary(bob_client, application, job, settings):
    settings.ENTRA_TENANT_ID = "3c5b4b8e-0000-4000-8000-00000000c0de"
    [log] = make_logs(job, 1, action=Action.UPDATE, status=LogStatus.FAILURE, error_code="DropboxLicenseLimit",
                      error_reason="No licence left.", recommendation="Buy licences.", duration_ms=321,
                      source_display_name="Megan Bowen", source_upn="megan@contoso.com", target_id="dbmid:m",
                      target_email="megan@dropbox.contoso.com",
                      modified_properties=[{"name": "surname", "old": "Bowen", "new": "Smith"}])
    [item] = body(download(bob_client, application))
    assert item["activityDateTime"] == log.activity_time.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert item["tenantId"] == "3c5b4b8e-0000-4000-8000-00000000c0de"
    assert item["jobId"] == job.job_id
    assert item["cycleId"] == str(log.cycle_id)
    assert item["provisioningAction"] == "update"
    assert item["durationInMilliseconds"] == 321
    assert item["initiatedBy"] == {"id": "", "displayName": "Microsoft.Azure.SyncFabric", "initiatorType": "system"}
    assert item["servicePrincipal"] == {"id": application.service_principal_id, "displayName": "Dropbox for Business"}
    assert item["sourceSystem"]["displayName"] == "Microsoft Entra ID"
    assert item["targetSystem"]["displayName"] == "Dropbox for Business"
    assert item["sourceIdentity"] == {"id": log.source_id, "displayName": "Megan Bowen", "identityType": "User",
                                      "details": {"UserPrincipalName": "megan@contoso.com"}}
    assert item["targetIdentity"]["id"] == "dbmid:m"
    assert item["targetIdentity"]["details"] == {"Email": "megan@dropbox.contoso.com"}
    assert item["modifiedProperties"] == [{"displayName": "surname", "oldValue": "Bowen", "newValue": "Smith"}]
    assert [(step["name"], step["provisioningStepType"]) for step in item["provisioningSteps"]] == [
        ("Import user", "import"), ("Determine if user is in scope", "scoping"),
        ("Match user between source and target system", "matching"), ("Perform action", "export")]
    assert item["provisioningSteps"][0]["status"] == "success"
    assert item["provisioningSteps"][0]["details"] == {"accountEnabled": True}
    status = item["provisioningStatusInfo"]
    assert status["status"] == "failure"
    assert status["errorInformation"]["errorCode"] == "DropboxLicenseLimit"
    assert status["errorInformation"]["reason"] == "No licence left."
    assert status["errorInformation"]["recommendedAction"] == "Buy licences."


def test_a_success_has_no_error_information(bob_client, application, job):
    make_logs(job, 1, status=LogStatus.SUCCESS, error_code="", error_reason="")
    [item] = body(download(bob_client, application))
    assert item["provisioningStatusInfo"] == {"status": "success", "errorInformation": None}


def test_the_file_is_named_after_the_application_and_the_day(bob_client, application):
    response = download(bob_client, application)
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == \
        f'attachment; filename="ProvisioningLogs_Dropbox-for-Business_{day}.json"'
    assert response["Cache-Control"] == "private, no-store"


def test_it_streams_in_chunks_without_loading_every_row(bob_client, application, job, monkeypatch):
    monkeypatch.setattr(log_export, "FLUSH_BYTES", 2000)
    monkeypatch.setattr(log_export, "CHUNK_ROWS", 7)
    make_logs(job, 40)
    calls = []
    real = log_export.graph_summary

    def counting(log, **kwargs):
        calls.append(log.pk)
        return real(log, **kwargs)

    monkeypatch.setattr(log_export, "graph_summary", counting)
    chunks = iter(download(bob_client, application).streaming_content)
    first = next(chunks)
    assert first.startswith(b"[{")
    assert len(calls) < 40  # the first bytes leave before the last rows are read
    rest = b"".join(chunks)
    assert len(json.loads(first + rest)) == 40


def test_a_file_name_keeps_only_safe_characters():
    app = Application(display_name='Dropbox "Sales" / EMEA: ünï')
    name = log_export.download_name(app, "zip")
    assert name.startswith("ProvisioningLogs_Dropbox-Sales-EMEA-ünï_")
    assert name.endswith(".zip")

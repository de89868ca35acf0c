"""The CSV download: a streamed zip of three CSV files, as Entra gives them,
joined on the change ID: the logs, their provisioning steps and their modified
properties, for exactly the filtered rows."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from provisioning import log_export
from provisioning.constants import Action, LogStatus

from .factory import make_logs

pytestmark = pytest.mark.django_db


def download(client, application, **query):
    return client.get(reverse("portal:provisioning_logs_download", args=[application.pk]),
                      {"format": "csv", **query})


def unzip(response) -> dict[str, list[dict]]:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return {name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
            for name in archive.namelist()}


def test_it_streams_a_zip_of_three_csv_files(bob_client, application, job):
    make_logs(job, 5)
    response = download(bob_client, application)
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="ProvisioningLogs_Dropbox-for-Business_{day}.zip"'
    assert list(unzip(response)) == ["ProvisioningLogs.csv", "ProvisioningLogs_ProvisioningSteps.csv",
                                     "ProvisioningLogs_ModifiedProperties.csv"]


def test_the_three_files_hold_the_filtered_rows_joined_on_change_id(bob_client, application, job):
    rows = make_logs(job, 60)
    wanted = [row for row in rows if row.action == Action.UPDATE]
    files = unzip(download(bob_client, application, action="Update"))
    logs = files["ProvisioningLogs.csv"]
    steps = files["ProvisioningLogs_ProvisioningSteps.csv"]
    properties = files["ProvisioningLogs_ModifiedProperties.csv"]

    assert [line["Change ID"] for line in logs] == [str(row.change_id) for row in wanted]
    assert {line["Action"] for line in logs} == {"Update"}
    change_ids = {line["Change ID"] for line in logs}
    assert {line["Change ID"] for line in steps} == change_ids
    assert {line["Change ID"] for line in properties} == change_ids
    assert len(steps) == sum(len(row.steps) for row in wanted)
    assert len(properties) == sum(len(row.modified_properties) for row in wanted)


def test_each_file_carries_the_rows_values(bob_client, application, job):
    [log] = make_logs(job, 1, action=Action.UPDATE, status=LogStatus.FAILURE, error_code="DropboxLicenseLimit",
                      source_display_name="Nestor Wilke", source_upn="nestor@contoso.com",
                      modified_properties=[{"name": "surname", "old": "Wilkes", "new": "Wilke"}])
    files = unzip(download(bob_client, application))
    [line] = files["ProvisioningLogs.csv"]
    assert line["Date (UTC)"].endswith("Z")
    assert line["Job ID"] == job.job_id
    assert line["Cycle ID"] == str(log.cycle_id)
    assert line["Status"] == "Failure"
    assert line["Error Code"] == "DropboxLicenseLimit"
    assert line["Source System"] == "Microsoft Entra ID"
    assert line["Target System"] == "Dropbox for Business"
    assert line["Source Display Name"] == "Nestor Wilke"
    assert line["Source UPN"] == "nestor@contoso.com"
    assert line["Source ID"] == log.source_id
    steps = files["ProvisioningLogs_ProvisioningSteps.csv"]
    assert [(s["Step"], s["Name"], s["Type"], s["Status"]) for s in steps] == [
        ("1", "Import user", "import", "Success"), ("2", "Determine if user is in scope", "scoping", "Success"),
        ("3", "Match user between source and target system", "matching", "Success"),
        ("4", "Perform action", "export", "Failure")]
    assert steps[2]["Details"] == '{"matchedBy": "email"}'
    assert files["ProvisioningLogs_ModifiedProperties.csv"] == [
        {"Change ID": str(log.change_id), "Name": "surname", "Old Value": "Wilkes", "New Value": "Wilke"}]


def test_a_name_cannot_become_a_spreadsheet_formula(bob_client, application, job):
    make_logs(job, 1, source_display_name='=HYPERLINK("http://evil.example","x")', source_upn="@evil")
    [line] = unzip(download(bob_client, application))["ProvisioningLogs.csv"]
    assert line["Source Display Name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert line["Source UPN"] == "'@evil"


def test_an_empty_download_still_has_three_files_with_headers(bob_client, application):
    files = unzip(download(bob_client, application, status="Failure"))
    assert files == {"ProvisioningLogs.csv": [], "ProvisioningLogs_ProvisioningSteps.csv": [],
                     "ProvisioningLogs_ModifiedProperties.csv": []}


def test_it_sends_the_zip_in_pieces_as_it_is_written(bob_client, application, job, monkeypatch):
    monkeypatch.setattr(log_export, "FLUSH_BYTES", 1024)
    monkeypatch.setattr(log_export, "CHUNK_ROWS", 10)
    make_logs(job, 120)
    chunks = [chunk for chunk in download(bob_client, application).streaming_content if chunk]
    assert len(chunks) > 3
    assert chunks[0].startswith(b"PK\x03\x04")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert len(archive.read("ProvisioningLogs.csv").decode("utf-8-sig").splitlines()) == 121


def test_rows_written_during_the_download_do_not_make_the_files_disagree(bob_client, application, job,
                                                                           monkeypatch):
    monkeypatch.setattr(log_export, "FLUSH_BYTES", 512)
    make_logs(job, 30)
    stream = iter(download(bob_client, application).streaming_content)
    chunks = [next(stream)]
    make_logs(job, 5, start=timezone.now())  # a cycle writes between the passes
    chunks += list(stream)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    read = {name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
            for name in archive.namelist()}
    logs = {line["Change ID"] for line in read["ProvisioningLogs.csv"]}
    assert len(logs) == 30
    assert {line["Change ID"] for line in read["ProvisioningLogs_ProvisioningSteps.csv"]} == logs

"""The command line: jobs, schema, logs and provision-on-demand do what the API does, with exit codes a
script can rely on and JSON on request."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from portal.api.models import ConfigurationVersion
from portal.api.versions import record_version
from provisioning import jobs
from provisioning.constants import AuditActivity
from provisioning.models import AuditEvent, ObjectMapping, ProvisioningLog

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def refused(*args) -> CommandError:
    with pytest.raises(CommandError) as raised:
        run(*args)
    return raised.value


def _configured(application):
    job = application.job
    job.mode, job.target_refresh_token = "automatic", "a-refresh-token"
    job.save()
    return job


def test_jobs_list_and_show(application):
    job = application.job
    assert run("jobs", "list").strip() == f"{job.job_id}\tNotConfigured\t{application.display_name}"
    listed = json.loads(run("jobs", "list", "--json"))
    assert listed[0]["id"] == job.job_id and listed[0]["application"]["servicePrincipalId"] == \
        application.service_principal_id
    for name in (job.job_id, str(application.pk), application.display_name):
        assert json.loads(run("jobs", "show", name))["schedule"]["interval"] == "PT40M"


def test_jobs_start_pause_restart_are_audited_as_the_command_line(application, alice,
                                                                  django_capture_on_commit_callbacks):
    job = _configured(application)
    with django_capture_on_commit_callbacks():
        assert "is On" in run("jobs", "start", job.job_id, "--as", "alice@example.org")
    assert AuditEvent.objects.get(activity=AuditActivity.START).actor_display == "alice@example.org (via manage.py)"
    run("jobs", "pause", job.job_id)
    assert AuditEvent.objects.get(activity=AuditActivity.STOP).actor_display == "(via manage.py)"
    run("jobs", "restart", job.job_id, "--reset-scope", "Watermark,QuarantineState")
    job.refresh_from_db()
    assert not job.enabled and job.full_cycle_requested


@pytest.mark.parametrize("args, code, words", [
    (("jobs", "start", "no-such-job"), 3, "No job is named 'no-such-job'"),
    (("jobs", "start", "JOB"), 1, "Set Provisioning Mode to Automatic"),
    (("jobs", "restart", "JOB", "--reset-scope", "Everything"), 1, "Everything: resetScope combines"),
    (("jobs", "restart", "JOB", "--reset-scope", "ForceDeletes"), 1, "No deletions are waiting for approval."),
    (("jobs", "validate-credentials", "JOB"), 4, "Test Connection failed"),
    (("jobs", "pause", "JOB", "--as", "nobody@example.org"), 3, "No active portal user"),
    (("schema", "rollback", "JOB", "42"), 3, "Version 42"),
    (("logs", "--filter", "provisioningAction eq 'explode'"), 1, "Invalid filter"),
    (("provision-on-demand", "JOB", "some-user-id"), 1, "Authorize the portal"),
])
def test_refusals_have_their_exit_codes(application, args, code, words):
    args = [application.job.job_id if arg == "JOB" else arg for arg in args]
    error = refused(*args)
    assert error.returncode == code and words in str(error), (error.returncode, str(error))
    assert not AuditEvent.objects.exists()


@override_settings(DROPBOX_APP_KEY="")
def test_validate_credentials_without_the_portal_s_dropbox_app_key_says_what_to_set(application):
    job = _configured(application)
    error = refused("jobs", "validate-credentials", job.job_id)
    assert error.returncode == 4 and "The Dropbox app key is not configured" in str(error), str(error)
    assert "DROPBOX_APP_KEY" in str(error)
    job.refresh_from_db()
    assert job.connection_ok is None and job.connection_checked_at is None


def test_a_usage_error_exits_2_and_help_lists_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as raised:
        execute_from_command_line(["manage.py", "jobs", "frobnicate"])
    assert raised.value.code == 2
    with pytest.raises(SystemExit):
        execute_from_command_line(["manage.py", "schema", "--help"])
    text = capsys.readouterr().out
    assert "exit codes:" in text and "3  not found" in text and "rollback" in text
    with pytest.raises(SystemExit):
        execute_from_command_line(["manage.py", "schema", "import", "--help"])
    assert "--dry-run" in capsys.readouterr().out


def test_schema_export_import_dry_run_and_import(application, tmp_path, django_capture_on_commit_callbacks):
    job = application.job
    schema = json.loads(run("schema", "export", job.job_id))
    assert schema["id"] == job.job_id
    users = schema["synchronizationRules"][0]["objectMappings"][0]
    users["flowTypes"] = "Add, Update"
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))

    printed = run("schema", "import", job.job_id, str(path), "--dry-run")
    assert "flowTypes" in printed and "nothing was saved" in printed
    assert ObjectMapping.objects.get(job=job, object_type="user").allow_delete is True

    with django_capture_on_commit_callbacks(execute=True):
        result = json.loads(run("schema", "import", job.job_id, str(path), "--json"))
    assert result["saved"] is True
    assert ObjectMapping.objects.get(job=job, object_type="user").allow_delete is False
    assert AuditEvent.objects.get().actor_display == "(via manage.py)"
    assert json.loads(run("schema", "versions", job.job_id, "--json"))[0]["reason"].startswith("Replaced from")

    users["attributeMappings"][0]["source"] = {"type": "Function", "expression": "Join("}
    path.write_text(json.dumps(schema))
    error = refused("schema", "import", job.job_id, str(path))
    assert error.returncode == 1 and "attributeMappings[0].source.expression" in str(error)
    assert refused("schema", "import", job.job_id, str(tmp_path / "missing.json")).returncode == 3
    (tmp_path / "bad.json").write_text("{")
    assert refused("schema", "import", job.job_id, str(tmp_path / "bad.json")).returncode == 1


def test_schema_configuration_export_import_and_rollback(application, tmp_path,
                                                         django_capture_on_commit_callbacks):
    job = application.job
    record_version(application.pk, reason="Created")
    out = tmp_path / "configuration.json"
    assert "Wrote" in run("schema", "export", job.job_id, "--configuration", "--output", str(out))
    document = json.loads(out.read_text())
    document["schedule"]["interval"] = "PT2H"
    out.write_text(json.dumps(document))
    with django_capture_on_commit_callbacks(execute=True):
        assert "1 difference(s) saved." in run("schema", "import", job.job_id, str(out))
    job.refresh_from_db()
    assert job.interval_minutes == 120
    assert [v.number for v in ConfigurationVersion.objects.filter(application=application)] == [2, 1]
    assert "schedule.interval" in run("schema", "rollback", job.job_id, "1", "--dry-run")
    job.refresh_from_db()
    assert job.interval_minutes == 120
    with django_capture_on_commit_callbacks(execute=True):
        run("schema", "rollback", job.job_id, "1")
    job.refresh_from_db()
    assert job.interval_minutes == 40
    assert run("schema", "versions", job.job_id).splitlines()[0].endswith("Rolled back to version 1")


def test_logs_filter_and_format(application):
    for number, status in enumerate(("Success", "Failure", "Success")):
        ProvisioningLog.objects.create(job=application.job, activity_time=timezone.now(), change_id=uuid.uuid4(),
                                       action="Create", status=status, source_id=f"user-{number}",
                                       source_display_name=f"=User {number}")
    rows = json.loads(run("logs", "--filter", "provisioningStatusInfo/status eq 'failure'"))
    assert [row["sourceIdentity"]["id"] for row in rows] == ["user-1"]
    lines = run("logs", "--format", "csv", "--job", application.display_name).splitlines()
    assert lines[0].startswith("Change ID,Date (UTC)") and len(lines) == 4
    assert "'=User 2" in lines[1]  # a name that reads as a formula is quoted, as in the portal's download
    assert len(json.loads(run("logs", "--top", "2"))) == 2


def test_provision_on_demand_prints_the_steps(job, services, monkeypatch):
    from provisioning.engine.ondemand import run as run_on_demand

    monkeypatch.setattr(jobs, "_after_commit", lambda task, *args: run_on_demand(*args))
    printed = run("provision-on-demand", job.job_id, "megan.bowen@contoso.com")
    assert "[Success] Import user" in printed and printed.strip().endswith(".")


def test_provision_on_demand_tells_a_run_still_going(application, settings):
    job = _configured(application)
    error = refused("provision-on-demand", job.job_id, "a-user-id", "--wait", "0")
    assert error.returncode == 5 and "has not finished" in str(error)

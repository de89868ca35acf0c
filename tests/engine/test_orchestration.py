"""Orchestration: Provisioning Status On starts the initial cycle at once (after
the commit), Off stops a running cycle at its next batch and keeps everything,
a second trigger is skipped, beat's dispatcher starts due cycles."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from provisioning.constants import AuditActivity, CycleKind, CycleStatus
from provisioning.engine.runner import claim, lease_owner, release, run_job
from provisioning.models import AuditEvent, ObjectLink, ProvisioningJob, SyncCycle
from provisioning.tasks import dispatch_due_jobs
from tests.portal.test_provisioning_page import form_data
from tests.services import provisioned_job, synthetic_job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def runs_over_before_teardown():
    """Each test here starts cycles on the real worker. A cycle ends before its run does (the run then checks
    the alerts and releases the lease): the teardown must not empty the tables under those last writes."""
    yield
    deadline = time.monotonic() + 60
    while ProvisioningJob.objects.exclude(lease_owner="").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def post_settings(client, job, **changes):
    data = {**form_data(job), "action": "save", **changes}
    return client.post(reverse("portal:provisioning_save", args=[job.application_id]), data)


def test_turning_provisioning_on_starts_the_initial_cycle_at_once(alice, demo_sp, refresh_token, engine_worker):
    job = provisioned_job(demo_sp, refresh_token, enabled=False)
    client = Client()
    client.force_login(alice)
    response = post_settings(client, job, enabled="True")
    assert response.status_code == 302
    cycle = wait_for(lambda: SyncCycle.objects.filter(job=job).exclude(status=CycleStatus.RUNNING).first())
    assert (cycle.kind, cycle.status) == (CycleKind.INITIAL, CycleStatus.SUCCEEDED)
    assert cycle.initiated_by == "alice@example.org"
    assert AuditEvent.objects.filter(activity=AuditActivity.START).exists()


def test_turning_provisioning_off_stops_the_running_cycle_and_keeps_its_work(alice, services, engine_worker):
    graph, dbx = services
    job, sp = synthetic_job(graph, dbx, 400, enabled=False)
    dbx.configure(latency_ms=60)
    client = Client()
    client.force_login(alice)
    post_settings(client, job, enabled="True")
    wait_for(lambda: ObjectLink.objects.filter(job=job).count() >= 40)
    job.refresh_from_db()
    post_settings(client, job, enabled="False")
    cycle = wait_for(lambda: SyncCycle.objects.filter(job=job, status=CycleStatus.STOPPED).first(), timeout=60)
    dbx.configure(latency_ms=0)
    kept = ObjectLink.objects.filter(job=job).count()
    assert 40 <= kept < 400
    job.refresh_from_db()
    assert not job.enabled and not job.stop_requested and not job.user_delta_link
    assert AuditEvent.objects.filter(activity=AuditActivity.STOP).exists()
    assert cycle.finished_at is not None


def test_a_second_trigger_is_skipped_while_a_run_holds_the_lease(job):
    owner = lease_owner()
    assert claim(job.pk, owner)
    result = run_job(job.pk, ignore_schedule=True)
    assert not result.ran and "in progress" in result.message
    assert not SyncCycle.objects.filter(job=job).exists()
    release(job.pk, owner)


def test_the_dispatcher_starts_only_due_jobs(job, run_cycle, engine_worker):
    ProvisioningJob.objects.filter(pk=job.pk).update(next_run_at=timezone.now() + timedelta(minutes=5))
    assert dispatch_due_jobs() == 0
    ProvisioningJob.objects.filter(pk=job.pk).update(next_run_at=timezone.now() - timedelta(seconds=1))
    assert dispatch_due_jobs() == 1
    cycle = wait_for(lambda: SyncCycle.objects.filter(job=job).exclude(status=CycleStatus.RUNNING).first())
    assert cycle.kind == CycleKind.INITIAL
    job.refresh_from_db()
    assert job.next_run_at > timezone.now() + timedelta(minutes=job.interval_minutes - 1)


def test_settings_are_validated_next_to_the_field(alice, job):
    client = Client()
    client.force_login(alice)
    job.enabled = False
    job.target_refresh_token = None
    job.save()
    response = post_settings(client, job, interval_minutes="0", deletion_threshold="0", enabled="True",
                             delete_after_days="-1")
    page = response.content.decode()
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in page
    assert "Authorize the portal against Dropbox before turning provisioning On." in page
    assert "Ensure this value is greater than or equal to 0." in page
    job.refresh_from_db()
    assert job.interval_minutes == 40 and not job.enabled


def test_the_transfer_admin_must_be_a_dropbox_team_admin(alice, job, services):
    client = Client()
    client.force_login(alice)
    response = post_settings(client, job, transfer_files_to_email="adele.vance@contoso.com")
    assert "This member is not a Dropbox team admin." in response.content.decode()
    response = post_settings(client, job, transfer_files_to_email="nobody@contoso.com")
    assert "No member of the Dropbox team has this email." in response.content.decode()
    response = post_settings(client, job, transfer_files_to_email="admin@contoso.com")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.transfer_files_to == job.target_admin_id

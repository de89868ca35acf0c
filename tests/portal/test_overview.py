"""Overview: the current cycle, statistics, quarantine banners and the buttons."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from provisioning.constants import AuditActivity, CycleKind, CycleStatus, JobState
from provisioning.models import AuditEvent, ProvisioningJob, SyncCycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(application):
    job = application.job
    job.mode, job.target_refresh_token = "automatic", "a-refresh-token"
    job.save()
    return job


def page(client, application) -> str:
    return client.get(reverse("portal:overview", args=[application.pk])).content.decode()


def test_it_shows_the_running_cycle_with_live_progress(bob_client, application):
    SyncCycle.objects.create(job=application.job, kind=CycleKind.INITIAL, objects_in_scope=200,
                             objects_processed=50, counters={"Create": {"Success": 48, "Failure": 2}},
                             phase="Provisioning users")
    text = page(bob_client, application)
    assert "Initial cycle" in text and "25% complete" in text and "50 of 200 objects processed" in text
    assert 'data-poll="' + reverse("portal:cycle_status", args=[application.pk]) in text
    partial = bob_client.get(reverse("portal:cycle_status", args=[application.pk])).content.decode()
    assert "25% complete" in partial and "Provisioning users" in partial
    assert "Users provisioned" in partial, "the statistics refresh with the cycle"


def test_a_finished_cycle_stops_polling_and_shows_its_counters(bob_client, application):
    SyncCycle.objects.create(job=application.job, kind=CycleKind.INCREMENTAL, status=CycleStatus.SUCCEEDED,
                             objects_in_scope=3, objects_processed=3, finished_at=timezone.now(),
                             counters={"Update": {"Success": 3}})
    text = page(bob_client, application)
    assert "Incremental cycle" in text and "100% complete" in text and "data-poll=\"/applications" not in text
    assert "<td>Update</td><td>3</td>" in text


def test_the_quarantine_banner_says_why_and_the_way_out(alice_client, application):
    cycle = SyncCycle.objects.create(job=application.job, kind=CycleKind.FULL, status=CycleStatus.STAGED,
                                     counters={"StagedDisable": {"Skipped": 7}}, finished_at=timezone.now())
    ProvisioningJob.objects.filter(pk=application.job.pk).update(
        state=JobState.QUARANTINED, quarantine_code="StagedDeletions", quarantined_at=timezone.now(),
        quarantine_reason="This cycle would disable or delete 7 users, more than the threshold.",
        staged_cycle=cycle, next_run_at=timezone.now())
    text = page(alice_client, application)
    assert "Deletions are waiting for your review" in text
    assert "This cycle would disable or delete 7 users" in text
    assert "Review 7 staged actions" in text and 'id="allow-deletes"' in text


def test_a_reader_sees_no_buttons_and_cannot_press_them(bob_client, ready):
    text = page(bob_client, ready.application)
    assert 'id="start-provisioning"' not in text and 'id="restart-provisioning"' not in text
    for name in ("start_provisioning", "stop_provisioning", "restart_provisioning", "allow_deletes", "preview_start"):
        assert bob_client.post(reverse(f"portal:{name}", args=[ready.application_id])).status_code == 403


def test_start_turns_provisioning_on_and_enqueues_a_cycle(alice_client, ready, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        alice_client.post(reverse("portal:start_provisioning", args=[ready.application_id]))
    ready.refresh_from_db()
    assert ready.enabled and len(callbacks) == 1
    assert AuditEvent.objects.get().activity == AuditActivity.START


def test_start_needs_automatic_mode_and_an_authorization(alice_client, application):
    response = alice_client.post(reverse("portal:start_provisioning", args=[application.pk]), follow=True)
    assert "before starting provisioning" in response.content.decode()
    application.job.refresh_from_db()
    assert not application.job.enabled


def test_stop_turns_it_off_and_asks_the_running_cycle_to_stop(alice_client, ready):
    ready.enabled = True
    ready.save()
    alice_client.post(reverse("portal:stop_provisioning", args=[ready.application_id]))
    ready.refresh_from_db()
    assert not ready.enabled and ready.stop_requested
    assert AuditEvent.objects.get().activity == AuditActivity.STOP


def test_restart_clears_state_and_is_audited(alice_client, ready):
    ProvisioningJob.objects.filter(pk=ready.pk).update(user_delta_link="x", group_delta_link="y",
                                                      state=JobState.QUARANTINED, quarantine_reason="r")
    alice_client.post(reverse("portal:restart_provisioning", args=[ready.application_id]))
    ready.refresh_from_db()
    assert (ready.user_delta_link, ready.state, ready.quarantine_reason) == ("", JobState.IDLE, "")
    assert ready.full_cycle_requested
    assert AuditEvent.objects.get().activity == AuditActivity.RESTART


def test_allow_deletes_clears_the_staged_quarantine_for_one_cycle(alice_client, ready):
    cycle = SyncCycle.objects.create(job=ready, kind=CycleKind.FULL, status=CycleStatus.STAGED)
    ProvisioningJob.objects.filter(pk=ready.pk).update(state=JobState.QUARANTINED, staged_cycle=cycle,
                                                      quarantine_code="StagedDeletions")
    alice_client.post(reverse("portal:allow_deletes", args=[ready.application_id]))
    ready.refresh_from_db()
    assert ready.allow_deletes_once and ready.state == JobState.IDLE and ready.staged_cycle is None
    assert AuditEvent.objects.get().activity == AuditActivity.ALLOW_DELETES


def test_the_application_can_be_renamed(alice_client, application):
    alice_client.post(reverse("portal:rename_application", args=[application.pk]), {"display_name": "Dropbox EU"})
    application.refresh_from_db()
    assert application.display_name == "Dropbox EU"
    event = AuditEvent.objects.get()
    assert event.before == {"display_name": "Dropbox for Business"} and event.after == {"display_name": "Dropbox EU"}
    response = alice_client.post(reverse("portal:rename_application", args=[application.pk]), {"display_name": " "},
                                 follow=True)
    assert "This field is required." in response.content.decode() or "Give the application a name." in \
        response.content.decode()

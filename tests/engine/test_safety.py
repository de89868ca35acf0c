"""Nothing destroyed by accident: staged deletions over the threshold and
"Allow deletes", an empty source never read as "everyone left", quarantine on
rejected credentials and its end, and notifications at most once a day."""

from __future__ import annotations

import pytest
from django.conf import settings

from provisioning.constants import Action, CycleStatus, JobState, LinkState, LogStatus
from provisioning import jobs
from provisioning.models import ObjectLink, ProvisioningLog
from tests.services import dropbox_refresh_token

from .conftest import team

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mail_folder(tmp_path):
    """The worker writes mail as files; each test looks at the messages sent since it started."""
    from pathlib import Path

    folder = Path(settings.EMAIL_FILE_PATH)
    folder.mkdir(parents=True, exist_ok=True)
    before = set(folder.glob("*.log"))

    def sent() -> list[str]:
        """Subject and body of each message, headers unfolded."""
        import email
        import email.policy

        messages = []
        for path in sorted(set(folder.glob("*.log")) - before):
            for chunk in path.read_text().split("-" * 79):
                if chunk.strip():
                    message = email.message_from_string(chunk.strip(), policy=email.policy.default)
                    messages.append(f"{message['subject']}\n{message.get_content()}")
        return messages

    return sent


def accept_all(job, dbx):
    for link in ObjectLink.objects.filter(job=job, object_type="user"):
        if team(dbx).get(link.target_email, {}).get("status") == "invited":
            dbx.control("POST", f"members/{link.target_email}/accept", {})


def group_assignments(graph, sp):
    return [a for a in graph.get_all(f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo")
            if a["principalType"] == "Group" and a["appRoleId"] != "00000000-0000-0000-0000-000000000000"]


def test_deletions_over_the_threshold_are_staged_until_allowed(job, run_cycle, graph, dbx, demo_sp, mail_folder):
    job.deletion_threshold, job.notification_email, job.notify_on_failure = 3, "it@contoso.com", True
    job.save()
    run_cycle(job)
    accept_all(job, dbx)
    biggest = max(group_assignments(graph, demo_sp),
                  key=lambda a: len(graph.get_all(f"/v1.0/groups/{a['principalId']}/members")))
    graph.graph("DELETE", f"/v1.0/servicePrincipals/{demo_sp['id']}/appRoleAssignedTo/{biggest['id']}")
    before = team(dbx)

    cycle = run_cycle(job)
    assert cycle.status == CycleStatus.STAGED
    staged = ProvisioningLog.objects.filter(job=job, cycle_id=cycle.cycle_id, action=Action.STAGED_DISABLE)
    assert staged.count() > 3 and all(log.status == LogStatus.SKIPPED for log in staged)
    assert team(dbx) == before, "nothing destructive was written"
    job.refresh_from_db()
    assert job.state == JobState.QUARANTINED and job.quarantine_code == "StagedDeletions"
    assert "more than the accidental-deletion threshold of 3" in job.quarantine_reason
    messages = mail_folder()
    assert len(messages) == 1 and "Provisioning stopped deletions for your review" in messages[0]

    jobs.allow_deletes(job, jobs.SYSTEM)
    cycle = run_cycle(job)
    assert cycle.status == CycleStatus.SUCCEEDED
    members = team(dbx)
    for log in staged:
        assert members[log.target_email]["status"] == "suspended"
    job.refresh_from_db()
    assert job.state == JobState.IDLE and not job.allow_deletes_once and not job.quarantine_reason


def test_an_empty_source_is_never_taken_as_everyone_left(job, run_cycle, graph, dbx, demo_sp):
    run_cycle(job)
    accept_all(job, dbx)
    before = team(dbx)
    for assignment in graph.get_all(f"/v1.0/servicePrincipals/{demo_sp['id']}/appRoleAssignedTo"):
        graph.graph("DELETE", f"/v1.0/servicePrincipals/{demo_sp['id']}/appRoleAssignedTo/{assignment['id']}")
    job.prevent_accidental_deletion = False  # even with the threshold off
    job.save()
    cycle = run_cycle(job, force_full=True)
    assert cycle.status == CycleStatus.STAGED
    assert team(dbx) == before
    job.refresh_from_db()
    assert "an empty answer is not taken to mean that everyone left" in job.quarantine_reason


def test_rejected_credentials_quarantine_until_a_cycle_succeeds(job, run_cycle, dbx, mail_folder):
    job.notification_email, job.notify_on_failure = "it@contoso.com", True
    job.save()
    run_cycle(job)
    dbx.control("POST", "tokens/revoke", {})
    cycle = run_cycle(job)
    assert cycle.status == CycleStatus.FAILED
    job.refresh_from_db()
    assert job.state == JobState.QUARANTINED and job.quarantine_code.startswith("Dropbox")
    assert "Authorize again" in job.quarantine_reason
    first_delay = job.next_run_at - job.quarantined_at

    # A second failing cycle: quarantine backs off further, and mails nothing new today.
    run_cycle(job)
    job.refresh_from_db()
    assert job.quarantine_level == 2 and job.next_run_at - job.quarantined_at > first_delay
    assert len(mail_folder()) == 1 and "the credentials were rejected" in mail_folder()[0]

    job.target_refresh_token = dropbox_refresh_token(dbx)
    job.save()
    cycle = run_cycle(job)
    assert cycle.status == CycleStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.state == JobState.IDLE and job.quarantine_level == 0 and not job.quarantine_reason


def test_restart_clears_delta_links_and_quarantine_but_keeps_links(job, run_cycle, dbx):
    run_cycle(job)
    links = set(ObjectLink.objects.filter(job=job).values_list("source_id", "target_id"))
    dbx.control("POST", "tokens/revoke", {})
    run_cycle(job)
    job.target_refresh_token = dropbox_refresh_token(dbx)
    job.save()
    jobs.restart(job, jobs.SYSTEM)
    job.refresh_from_db()
    assert not job.user_delta_link and job.state == JobState.IDLE and not job.quarantine_reason
    dbx.reset_stats()
    cycle = run_cycle(job)
    assert cycle.kind == "full" and cycle.status == CycleStatus.SUCCEEDED
    assert set(ObjectLink.objects.filter(job=job).values_list("source_id", "target_id")) == links
    assert not any("add_v2" in route for route in dbx.stats()["requests"])


def test_the_authorizing_admin_is_linked_but_never_touched(job, run_cycle, graph, dbx, demo_sp):
    run_cycle(job)
    admin = ObjectLink.objects.get(job=job, target_email=job.target_admin_email)
    graph.graph("PATCH", f"/v1.0/users/{admin.source_id}", json={"accountEnabled": False, "givenName": "Changed"})
    cycle = run_cycle(job)
    member = team(dbx)[job.target_admin_email]
    assert (member["status"], member["given_name"]) == ("active", "Dana")
    log = ProvisioningLog.objects.get(job=job, cycle_id=cycle.cycle_id, source_id=admin.source_id)
    assert log.error_code == "ProtectedAdmin"


def test_members_suspended_past_the_grace_period_are_removed(job, run_cycle, graph, dbx):
    run_cycle(job)
    accept_all(job, dbx)
    link = ObjectLink.objects.filter(job=job, object_type="user").exclude(target_email=job.target_admin_email).last()
    graph.graph("PATCH", f"/v1.0/users/{link.source_id}", json={"accountEnabled": False})
    run_cycle(job)
    assert ObjectLink.objects.get(pk=link.pk).state == LinkState.DISABLED
    from datetime import timedelta

    ObjectLink.objects.filter(pk=link.pk).update(disabled_at=link.updated_at - timedelta(days=31))
    cycle = run_cycle(job)
    assert link.target_email not in team(dbx)
    log = ProvisioningLog.objects.get(job=job, cycle_id=cycle.cycle_id, source_id=link.source_id)
    assert log.action == Action.DELETE and "grace period is over" in log.steps[-1]["description"]


def test_invited_members_are_not_suspended_unless_removal_is_allowed(job, run_cycle, graph, dbx):
    run_cycle(job)
    link = next(l for l in ObjectLink.objects.filter(job=job, object_type="user")
                if team(dbx)[l.target_email]["status"] == "invited")
    graph.graph("PATCH", f"/v1.0/users/{link.source_id}", json={"accountEnabled": False})
    cycle = run_cycle(job)
    log = ProvisioningLog.objects.get(job=job, cycle_id=cycle.cycle_id, source_id=link.source_id)
    assert (log.action, log.error_code) == (Action.SKIP, "InvitedMemberNotSuspended")
    assert team(dbx)[link.target_email]["status"] == "invited"

    job.remove_invited_members = True
    job.save()
    cycle = run_cycle(job)
    assert link.target_email not in team(dbx)

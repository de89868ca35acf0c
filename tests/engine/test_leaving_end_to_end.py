"""The deprovisioning choices end to end: a real worker, the emulators, and what
became of the member and its files in the Dropbox team."""

from __future__ import annotations

import pytest

from provisioning.constants import Action, LeaveAction, LogStatus
from provisioning.models import ObjectLink, ProvisioningJob, ProvisioningLog

from .conftest import team
from .test_cycles import active_link, assign, role_id, unassigned_user

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def started(job, run_cycle):
    run_cycle(job)
    return job


def files_of(dbx, email: str) -> list[str]:
    return next(m["files"] for m in dbx.state()["members"] if m["email"] == email)


def settings(job, **fields) -> None:
    ProvisioningJob.objects.filter(pk=job.pk).update(**fields)


def the_log(job, cycle, link) -> ProvisioningLog:
    return ProvisioningLog.objects.get(job=job, cycle_id=cycle.cycle_id, source_id=link.source_id)


def test_remove_at_once_moves_the_files_to_the_chosen_admin(started, run_cycle, graph, dbx):
    link = active_link(started, dbx)
    dbx.control("POST", f"members/{link.target_email}/files", {"paths": ["/Projects/budget.xlsx"]})
    settings(started, on_disabled=LeaveAction.REMOVE, transfer_files_to=started.target_admin_id,
             transfer_files_to_email=started.target_admin_email)
    graph.graph("PATCH", f"/v1.0/users/{link.source_id}", json={"accountEnabled": False})

    cycle = run_cycle(started)

    assert link.target_email not in team(dbx)
    member = next(m for m in dbx.state()["members"] if m["email"] == link.target_email)
    moved = [f for f in files_of(dbx, started.target_admin_email) if f.endswith("/Projects/budget.xlsx")]
    assert moved == [f"/{member['given_name']} {member['surname']}/Projects/budget.xlsx"]
    log = the_log(started, cycle, link)
    assert (log.action, log.status) == (Action.DELETE, LogStatus.SUCCESS)
    assert "The Settings say to remove the member at once." in log.steps[-1]["description"]
    assert "Its files were moved to the admin chosen in the Settings." in log.steps[-1]["description"]
    assert not ObjectLink.objects.filter(pk=link.pk).exists()


def test_a_kept_account_leaves_the_team_with_its_files(started, run_cycle, graph, dbx):
    link = active_link(started, dbx)
    dbx.control("POST", f"members/{link.target_email}/files", {"paths": ["/mine.txt"]})
    settings(started, on_soft_deleted=LeaveAction.REMOVE, keep_account_on_remove=True)
    graph.graph("DELETE", f"/v1.0/users/{link.source_id}")

    cycle = run_cycle(started)

    member = next(m for m in dbx.state()["members"] if m["email"] == link.target_email)
    assert member["status"] == "removed" and member["is_recoverable"] is False  # an account of its own now
    assert member["files"] == ["/mine.txt"]
    assert "kept as a Dropbox account of its own" in the_log(started, cycle, link).steps[-1]["description"]


def test_do_nothing_leaves_the_member_active_and_linked(started, run_cycle, graph, dbx):
    link = active_link(started, dbx)
    settings(started, on_soft_deleted=LeaveAction.NOTHING)
    graph.graph("DELETE", f"/v1.0/users/{link.source_id}")
    writes_before = len(dbx.control("GET", "journal")["writes"])

    cycle = run_cycle(started)

    assert team(dbx)[link.target_email]["status"] == "active"
    log = the_log(started, cycle, link)
    assert (log.action, log.status, log.error_code) == (Action.SKIP, LogStatus.SKIPPED, "SourceSoftDeleted")
    assert ObjectLink.objects.filter(pk=link.pk).exists()
    later = dbx.control("GET", "journal")["writes"][writes_before:]
    assert not [w for w in later if w[1] == link.target_id]


def test_members_are_added_silently_when_the_welcome_email_is_off(started, run_cycle, graph, dbx, demo_sp):
    settings(started, send_welcome_email=False)
    user = unassigned_user(graph, demo_sp)
    assign(graph, demo_sp, user["id"], role_id(demo_sp))

    run_cycle(started)

    email = user["userPrincipalName"].lower()
    assert team(dbx)[email]["status"] == "invited"
    assert email not in [e.lower() for e in dbx.state()["welcome_emails"]]
    assert dbx.state()["welcome_emails"]  # those of the initial cycle were welcomed, as by default

"""Two behaviours end to end with a real worker: "Sync all users and groups"
provisions every enabled user of the tenant, assigned or not; a cycle in which
over 40% of the writes fail quarantines the job and says why."""

from __future__ import annotations

import pytest

from provisioning.constants import CycleStatus, JobState, Scope
from provisioning.models import ProvisioningJob

from .conftest import team

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_sync_all_provisions_every_enabled_user_assigned_or_not(job, run_cycle, graph, dbx, demo_sp):
    from .conftest import expected_in_scope

    ProvisioningJob.objects.filter(pk=job.pk).update(scope=Scope.ALL)
    assigned = set(expected_in_scope(graph, demo_sp["id"]))
    users = graph.get_all("/v1.0/users?$select=id,userPrincipalName,accountEnabled&$top=999")
    enabled = {u["userPrincipalName"].lower() for u in users if u.get("accountEnabled")}
    disabled = {u["userPrincipalName"].lower() for u in users if not u.get("accountEnabled")}
    assert enabled - assigned and disabled, "the demo tenant has unassigned and disabled users"
    before = set(team(dbx))

    cycle = run_cycle(job)

    assert cycle.status == CycleStatus.SUCCEEDED, cycle.error
    members = set(team(dbx))
    assert enabled <= members  # assigned or not
    assert not (members - before) & disabled  # no account is created for a disabled user


def test_over_forty_percent_of_writes_failing_quarantines_the_job(job, run_cycle, graph, dbx, demo_sp):
    from .conftest import expected_in_scope

    in_scope = sorted(set(expected_in_scope(graph, demo_sp["id"])) - set(team(dbx)))
    refused = in_scope[: len(in_scope) // 2 + 1]
    assert len(refused) >= 5
    dbx.control("POST", "accounts", {email: "user_on_another_team" for email in refused})

    cycle = run_cycle(job)

    assert cycle.status == CycleStatus.COMPLETED_WITH_FAILURES
    job.refresh_from_db()
    assert job.state == JobState.QUARANTINED and job.quarantine_code == "HighFailureRate"
    assert "writes to Dropbox failed in the last cycle (over 40%)" in job.quarantine_reason
    assert "The email belongs to a member of another Dropbox team." in job.quarantine_reason

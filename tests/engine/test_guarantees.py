"""The engine's promises at their edges: deleted groups, groups the portal
shares with people it does not manage, empty answers, interrupted cycles,
expired delta links, stale triggers and Restart during a run. These run the
cycle in the test process (the same code the worker runs)."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from provisioning import jobs
from provisioning.constants import Action, CycleKind, CycleStatus, JobState, LogStatus
from provisioning.engine.config import from_job
from provisioning.engine.cycle import Cycle, DeltaLinks
from provisioning.engine.runner import run_job
from provisioning.engine.store import Store
from provisioning.models import ObjectLink, ObjectMapping, ProvisioningJob, ProvisioningLog, SourceAssignment, SyncCycle
from provisioning.targets.base import NewAccount
from tests.services import dropbox_connector, entra_connector

from .conftest import team

pytestmark = pytest.mark.django_db


def cycle(job, **kwargs) -> SyncCycle:
    result = run_job(job.pk, ignore_schedule=True, **kwargs)
    assert result.ran, result.message
    result.cycle.refresh_from_db()
    job.refresh_from_db()
    return result.cycle


def create_group(graph, name: str, members: list[str]) -> dict:
    answer = graph.graph("POST", "/v1.0/groups", json={
        "displayName": name, "mailEnabled": False, "mailNickname": name.replace(" ", "").lower(),
        "securityEnabled": True, "description": "sync",
        "members@odata.bind": [f"https://graph.microsoft.com/v1.0/directoryObjects/{m}" for m in members]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def unassigned_users(graph, sp, count: int) -> list[dict]:
    assignments = graph.get_all(f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo")
    taken = {a["principalId"] for a in assignments}
    for a in assignments:
        if a["principalType"] == "Group":
            taken |= {m["id"] for m in graph.get_all(f"/v1.0/groups/{a['principalId']}/members?$select=id")}
    users = graph.get_all("/v1.0/users?$select=id,userPrincipalName,accountEnabled,displayName&$top=999")
    return [u for u in users if u["id"] not in taken and u.get("accountEnabled")][:count]


def assign(graph, sp, principal_id: str) -> dict:
    role = next(r["id"] for r in sp["appRoles"] if r["displayName"] == "User")
    answer = graph.graph("POST", f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo",
                         json={"principalId": principal_id, "resourceId": sp["id"], "appRoleId": role})
    assert answer.status_code == 201, answer.text
    return answer.json()


def accept(dbx, emails):
    for email in emails:
        if team(dbx).get(email, {}).get("status") == "invited":
            dbx.control("POST", f"members/{email}/accept", {})


def test_deleting_an_assigned_group_deprovisions_its_members(job, services, demo_sp):
    graph, dbx = services
    (user,) = unassigned_users(graph, demo_sp, 1)
    group = create_group(graph, "Temp Group", [user["id"]])
    assign(graph, demo_sp, group["id"])
    cycle(job)
    email = user["userPrincipalName"].lower()
    accept(dbx, [email])
    assert team(dbx)[email]["status"] == "active"
    graph.graph("DELETE", f"/v1.0/groups/{group['id']}")
    done = cycle(job)
    assert done.kind == CycleKind.INCREMENTAL
    assert team(dbx)[email]["status"] == "suspended"


def test_a_group_filter_on_another_attribute_never_deletes_a_group_by_mistake(job, services, demo_sp):
    graph, dbx = services
    first, second = unassigned_users(graph, demo_sp, 2)
    graph.graph("PATCH", f"/v1.0/users/{second['id']}", json={"accountEnabled": False})
    group = create_group(graph, "Filtered Group", [first["id"], second["id"]])
    assign(graph, demo_sp, group["id"])
    mapping = ObjectMapping.objects.get(job=job, object_type="group")
    mapping.scoping_filters = [{"clauses": [{"attribute": "description", "operator": "EQUALS", "value": "sync"}]}]
    mapping.save()
    cycle(job)
    assert any(g["group_name"] == "Filtered Group" for g in dbx.state()["groups"])
    graph.graph("PATCH", f"/v1.0/users/{second['id']}", json={"accountEnabled": True})  # a member is created
    done = cycle(job)
    assert done.kind == CycleKind.INCREMENTAL
    assert not ProvisioningLog.objects.filter(job=job, object_type="group", action=Action.DELETE).exists()
    dropbox_group = next(g for g in dbx.state()["groups"] if g["group_name"] == "Filtered Group")
    assert dropbox_group["member_count"] == 2


def test_members_the_portal_does_not_manage_stay_in_their_groups(job, services, demo_sp):
    graph, dbx = services
    connector = dropbox_connector(job.target_refresh_token)
    falcon = next(g for g in connector.iter_groups() if g.label == "Project Falcon")
    before = set(connector.iter_group_members(falcon.id))
    (user,) = unassigned_users(graph, demo_sp, 1)
    group = create_group(graph, "Project Falcon", [user["id"]])
    assign(graph, demo_sp, group["id"])
    cycle(job)
    after = set(connector.iter_group_members(falcon.id))
    managed = set(ObjectLink.objects.filter(job=job, object_type="user").values_list("target_id", flat=True))
    assert job.target_admin_id in before and job.target_admin_id in after
    assert before - managed <= after, "the authorizing admin and the members the portal does not manage stay"
    linked = ObjectLink.objects.get(job=job, source_id=user["id"]).target_id
    assert linked in after


def test_an_empty_assignment_read_never_deprovisions(job, services, demo_sp):
    graph, dbx = services
    cycle(job)
    before = team(dbx)
    for assignment in graph.get_all(f"/v1.0/servicePrincipals/{demo_sp['id']}/appRoleAssignedTo"):
        graph.graph("DELETE", f"/v1.0/servicePrincipals/{demo_sp['id']}/appRoleAssignedTo/{assignment['id']}")
    job.prevent_accidental_deletion = False
    job.save()
    done = cycle(job)
    assert done.kind == CycleKind.INCREMENTAL and done.status == CycleStatus.STAGED
    assert "no assignments" in done.error
    assert team(dbx) == before


def test_a_cycle_that_does_not_settle_leaves_the_snapshot_for_the_next_one(job, services, demo_sp):
    graph, dbx = services
    cycle(job)
    (user,) = unassigned_users(graph, demo_sp, 1)
    assign(graph, demo_sp, user["id"])
    stored = set(SourceAssignment.objects.filter(job=job).values_list("principal_id", flat=True))
    # A cycle that plans and then dies (a stop, a lost lease, a crash) before it settles.
    engine = Cycle(from_job(job), entra_connector(), dropbox_connector(job.target_refresh_token),
                   Store(job, None, read_only=True), kind="incremental",
                   delta=DeltaLinks(job.user_delta_link, job.group_delta_link), dry_run=True)
    engine.run()
    assert set(SourceAssignment.objects.filter(job=job).values_list("principal_id", flat=True)) == stored
    cycle(job)
    assert user["userPrincipalName"].lower() in team(dbx)


def test_an_expired_delta_link_falls_back_to_a_full_cycle_at_once(job, services):
    graph, _ = services
    cycle(job)
    graph.configure(delta_token_lifetime=1)
    time.sleep(2)
    result = run_job(job.pk, ignore_schedule=True)
    graph.configure(delta_token_lifetime=7 * 86400)
    result.cycle.refresh_from_db()
    assert (result.cycle.kind, result.cycle.status) == (CycleKind.FULL, CycleStatus.SUCCEEDED)
    failed = SyncCycle.objects.filter(job=job, status=CycleStatus.FAILED).get()
    assert "delta link" in failed.error and "A full cycle reads everything again now." in failed.error
    job.refresh_from_db()
    assert job.user_delta_link


def test_a_trigger_that_is_not_due_is_skipped(job, services):
    cycle(job)
    assert job.next_run_at > timezone.now()
    result = run_job(job.pk)
    assert not result.ran and "not due" in result.message


def test_restart_during_a_cycle_is_not_undone_by_it(job, services):
    cycle(job)
    seen = job.generation
    engine = Cycle(from_job(job), entra_connector(), dropbox_connector(job.target_refresh_token),
                   Store(job, SyncCycle.objects.create(job=job, kind="incremental")), kind="incremental",
                   delta=DeltaLinks(job.user_delta_link, job.group_delta_link))
    outcome = engine.run()
    jobs.restart(job, jobs.SYSTEM)  # while "the cycle" was running
    assert not jobs.commit_cycle(job, generation=seen, outcome=outcome, fingerprint=from_job(job).fingerprint(),
                                 store=engine.store)
    job.refresh_from_db()
    assert job.user_delta_link == "" and job.full_cycle_requested


def test_on_demand_works_while_provisioning_is_off(job, services, demo_sp):
    from provisioning.engine.ondemand import OnDemand

    ProvisioningJob.objects.filter(pk=job.pk).update(enabled=False, stop_requested=True)
    job.refresh_from_db()
    (user,) = unassigned_users(services[0], demo_sp, 1)
    assign(services[0], demo_sp, user["id"])
    log_ids = OnDemand(job).provision("user", user["id"])
    log = ProvisioningLog.objects.get(pk=log_ids[0])
    assert (log.action, log.status) == (Action.CREATE, LogStatus.SUCCESS)


def test_a_member_deleted_from_dropbox_groups_does_not_fail_the_group_update(job, services, demo_sp):
    graph, dbx = services
    first, second, third = unassigned_users(graph, demo_sp, 3)
    group = create_group(graph, "Shrinking Group", [first["id"], second["id"]])
    assign(graph, demo_sp, group["id"])
    cycle(job)
    accept(dbx, [first["userPrincipalName"].lower()])
    graph.graph("DELETE", f"/v1.0/users/{first['id']}")
    graph.graph("DELETE", f"/v1.0/directory/deletedItems/{first['id']}")
    graph.graph("POST", f"/v1.0/groups/{group['id']}/members/$ref",
                json={"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{third['id']}"})
    done = cycle(job)
    assert done.status == CycleStatus.SUCCEEDED, done.error
    assert not ProvisioningLog.objects.filter(job=job, status=LogStatus.FAILURE).exists()


def test_a_quarantine_survives_a_passing_failure(job, services, no_waiting):
    graph, _ = services
    cycle(job)
    ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.QUARANTINED, quarantine_level=2,
                                                    quarantine_reason="x", next_run_at=timezone.now())
    graph.configure(fail_rate=1.0)
    done = cycle(job)
    graph.configure(fail_rate=0)
    assert done.status == CycleStatus.FAILED
    assert job.state == JobState.QUARANTINED and job.quarantine_level == 2


def test_a_cycle_without_the_portal_s_dropbox_app_key_quarantines_and_says_what_to_set(job, services):
    from django.test import override_settings

    with override_settings(DROPBOX_APP_KEY=""):
        done = cycle(job)
    assert done.status == CycleStatus.FAILED
    assert done.error.startswith("The Dropbox app key is not configured"), done.error
    assert job.state == JobState.QUARANTINED and job.quarantine_code == "DropboxAppNotConfigured"
    assert "DROPBOX_APP_KEY" in job.quarantine_reason
    assert not ObjectLink.objects.filter(job=job).exists(), "nothing was written to Dropbox"


def test_a_disabled_user_never_touches_a_member_the_portal_did_not_link(job, services, demo_sp):
    graph, dbx = services
    (user,) = unassigned_users(graph, demo_sp, 1)
    connector = dropbox_connector(job.target_refresh_token)
    connector.create_batch([NewAccount({"email": user["userPrincipalName"]})])
    accept(dbx, [user["userPrincipalName"].lower()])
    graph.graph("PATCH", f"/v1.0/users/{user['id']}", json={"accountEnabled": False})
    assign(graph, demo_sp, user["id"])
    ProvisioningJob.objects.filter(pk=job.pk).update(delete_after_days=0)
    job.refresh_from_db()
    cycle(job)
    assert team(dbx)[user["userPrincipalName"].lower()]["status"] == "active"
    log = ProvisioningLog.objects.get(job=job, source_id=user["id"])
    assert (log.action, log.error_code) == (Action.SKIP, "NotLinked")


def test_a_group_deleted_while_members_are_read_is_skipped(services):
    graph, _ = services
    connector = entra_connector()
    gid = next(connector.iter_groups())["id"]
    pairs = list(connector.iter_members_of_groups([gid, "00000000-0000-0000-0000-0000000000aa"]))
    assert pairs and all(group == gid for group, _ in pairs)


@pytest.mark.django_db(transaction=True)  # the stopping thread must see what the cycle commits
def test_stopping_keeps_the_links_and_logs_of_writes_already_made(services):
    import threading

    from tests.services import synthetic_job

    graph, dbx = services
    job, _ = synthetic_job(graph, dbx, 400)
    dbx.configure(latency_ms=60)

    def stop_midway():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and ObjectLink.objects.filter(job=job).count() < 40:
            time.sleep(0.05)
        ProvisioningJob.objects.filter(pk=job.pk).update(stop_requested=True)

    stopper = threading.Thread(target=stop_midway)
    stopper.start()
    done = cycle(job)
    stopper.join()
    dbx.configure(latency_ms=0)
    assert done.status == CycleStatus.STOPPED
    linked = set(ObjectLink.objects.filter(job=job, object_type="user").values_list("target_email", flat=True))
    assert 40 <= len(linked) < 400
    created = set(ProvisioningLog.objects.filter(job=job, action=Action.CREATE, object_type="user")
                  .values_list("target_email", flat=True))
    assert created <= linked
    in_dropbox = {email for email, m in team(dbx).items() if m.get("external_id")}
    assert in_dropbox == linked, "every member the stopped cycle created is linked and logged"


def test_a_member_linked_to_one_user_is_never_given_to_another(job, services, demo_sp):
    graph, dbx = services
    (old,) = unassigned_users(graph, demo_sp, 1)
    assign(graph, demo_sp, old["id"])
    cycle(job)
    email = old["userPrincipalName"]
    accept(dbx, [email.lower()])
    member = team(dbx)[email.lower()]
    # The employee leaves (soft delete frees the name in Entra ID); a newcomer gets the same address.
    graph.graph("DELETE", f"/v1.0/users/{old['id']}")
    newcomer = graph.graph("POST", "/v1.0/users", json={
        "accountEnabled": True, "displayName": "New Person", "mailNickname": "newperson",
        "userPrincipalName": email, "passwordProfile": {"password": "Pw-Very-Long-1a!"}}).json()
    assign(graph, demo_sp, newcomer["id"])
    cycle(job)
    log = ProvisioningLog.objects.get(job=job, source_id=newcomer["id"])
    assert (log.action, log.error_code) == (Action.SKIP, "TargetLinkedToAnotherUser")
    assert ObjectLink.objects.get(job=job, target_id=member["team_member_id"]).source_id == old["id"]
    assert team(dbx)[email.lower()]["status"] == "suspended"

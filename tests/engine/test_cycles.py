"""Cycles end to end: a real worker, the emulators, the Dropbox team checked
member by member against what Graph says should be there."""

from __future__ import annotations

import pytest

from provisioning.constants import Action, CycleKind, CycleStatus, LinkState, LogStatus
from provisioning.models import ObjectLink, ProvisioningLog
from tests.services import entra_connector

from .conftest import expected_in_scope, team, write_calls

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def started(job, run_cycle):
    """The job after its initial cycle."""
    cycle = run_cycle(job)
    assert cycle.kind == CycleKind.INITIAL and cycle.status == CycleStatus.SUCCEEDED, cycle.error
    return job


def role_id(sp: dict, name: str = "User") -> str:
    return next(r["id"] for r in sp["appRoles"] if r["displayName"] == name)


def unassigned_user(graph, sp: dict) -> dict:
    assigned = {a["principalId"] for a in graph.get_all(f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo")}
    groups = [a["principalId"] for a in graph.get_all(f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo")
              if a["principalType"] == "Group"]
    for gid in groups:
        assigned |= {m["id"] for m in graph.get_all(f"/v1.0/groups/{gid}/members?$select=id")}
    return next(u for u in graph.get_all("/v1.0/users?$select=id,userPrincipalName,accountEnabled,displayName,givenName,surname&$top=999")
                if u["id"] not in assigned and u.get("accountEnabled"))


def assign(graph, sp: dict, principal_id: str, role: str) -> dict:
    answer = graph.graph("POST", f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo",
                         json={"principalId": principal_id, "resourceId": sp["id"], "appRoleId": role})
    assert answer.status_code == 201, answer.text
    return answer.json()


def logs(job, **filters):
    return list(ProvisioningLog.objects.filter(job=job, **filters))


def test_the_initial_cycle_provisions_exactly_the_users_in_scope(job, run_cycle, graph, dbx, demo_sp):
    before = team(dbx)
    cycle = run_cycle(job)
    assert (cycle.kind, cycle.status) == (CycleKind.INITIAL, CycleStatus.SUCCEEDED), cycle.error
    expected = expected_in_scope(graph, demo_sp["id"])
    members = team(dbx)
    assert set(expected) <= set(members)
    # Every provisioned member carries the mapped values.
    for email, user in expected.items():
        member = members[email]
        if email == job.target_admin_email:
            continue  # the authorizing admin is linked but never changed
        assert (member["given_name"], member["surname"], member["external_id"]) == \
            (user["givenName"], user["surname"], user["id"]), email
    # Members the portal did not provision or link are left alone.
    for email in set(before) - set(expected):
        assert members[email]["status"] == before[email]["status"], email
    assert ObjectLink.objects.filter(job=job, object_type="user").count() == len(expected)
    assert cycle.objects_processed == cycle.objects_in_scope > 0
    created = ProvisioningLog.objects.filter(job=job, object_type="user", action=Action.CREATE, status=LogStatus.SUCCESS)
    assert sorted(log.target_email for log in created) == sorted(set(expected) - set(before))
    create = logs(job, action=Action.CREATE, object_type="user")[0]
    assert [s["name"] for s in create.steps] == [
        "Import user", "Determine if user is in scope", "Match user between source and target system",
        "Perform action"]
    assert {p["name"] for p in create.modified_properties} >= {"email", "givenName", "surname", "externalId"}
    job.refresh_from_db()
    assert job.user_delta_link and job.group_delta_link


def test_default_access_assignments_are_skipped_with_that_reason(job, run_cycle, graph, dbx, demo_sp):
    user = unassigned_user(graph, demo_sp)
    assign(graph, demo_sp, user["id"], "00000000-0000-0000-0000-000000000000")
    run_cycle(job)
    skipped = ProvisioningLog.objects.get(job=job, source_id=user["id"])
    assert (skipped.action, skipped.status, skipped.error_code) == (Action.SKIP, LogStatus.SKIPPED,
                                                                    "DefaultAccessRole")
    assert "Default Access role" in skipped.error_reason
    assert user["userPrincipalName"].lower() not in team(dbx)


def test_a_second_cycle_with_no_changes_writes_nothing(started, run_cycle, dbx):
    dbx.reset_stats()
    cycle = run_cycle(started)
    assert (cycle.kind, cycle.status) == (CycleKind.INCREMENTAL, CycleStatus.SUCCEEDED)
    assert write_calls(dbx) == {}
    assert cycle.counters == {}


def test_incremental_create_and_attribute_changes(started, run_cycle, graph, dbx, demo_sp):
    user = unassigned_user(graph, demo_sp)
    assign(graph, demo_sp, user["id"], role_id(demo_sp))
    linked = ObjectLink.objects.filter(job=started, object_type="user").exclude(
        target_email=started.target_admin_email).first()
    graph.graph("PATCH", f"/v1.0/users/{linked.source_id}", json={"givenName": "Renamed", "surname": "Person"})
    dbx.reset_stats()
    cycle = run_cycle(started)
    assert cycle.kind == CycleKind.INCREMENTAL and cycle.status == CycleStatus.SUCCEEDED, cycle.error
    members = team(dbx)
    assert user["userPrincipalName"].lower() in members
    renamed = next(m for m in members.values() if m["team_member_id"] == linked.target_id)
    assert (renamed["given_name"], renamed["surname"]) == ("Renamed", "Person")
    update = ProvisioningLog.objects.get(job=started, source_id=linked.source_id, cycle_id=cycle.cycle_id)
    assert update.action == Action.UPDATE
    assert {(p["name"], p["new"]) for p in update.modified_properties} == {("givenName", "Renamed"),
                                                                           ("surname", "Person")}
    # At most two Dropbox calls per change: a batched lookup and the write.
    calls = dbx.stats()["requests"]
    writes = sum(write_calls(dbx).values())
    assert writes == 2  # one add, one set_profile
    assert sum(n for r, n in calls.items() if r.startswith("POST /2/team/")) <= 2 * 2 + 2


def test_attribute_changes_alone_cost_one_write_each_and_two_reads_in_all(started, run_cycle, graph, dbx):
    """No group is touched: the target's groups are not listed; the admin check and one batched
    lookup are the only reads, whatever the number of changes."""
    links = list(ObjectLink.objects.filter(job=started, object_type="user").exclude(
        target_email=started.target_admin_email)[:3])
    for n, link in enumerate(links):
        graph.graph("PATCH", f"/v1.0/users/{link.source_id}", json={"givenName": f"Changed{n}"})
    dbx.reset_stats()
    cycle = run_cycle(started)
    assert cycle.kind == CycleKind.INCREMENTAL and cycle.status == CycleStatus.SUCCEEDED, cycle.error
    calls = {r: n for r, n in dbx.stats()["requests"].items() if r.startswith("POST /2/")}
    assert calls == {"POST /2/team/token/get_authenticated_admin": 1, "POST /2/team/members/get_info_v2": 1,
                     "POST /2/team/members/set_profile_v2": 3}


def test_a_rename_of_the_email_follows(started, run_cycle, graph, dbx):
    link = ObjectLink.objects.filter(job=started, object_type="user").exclude(
        target_email=started.target_admin_email).first()
    graph.graph("PATCH", f"/v1.0/users/{link.source_id}", json={"userPrincipalName": "renamed.person@contoso.com"})
    run_cycle(started)
    member = next(m for m in dbx.state()["members"] if m["team_member_id"] == link.target_id)
    assert member["email"] == "renamed.person@contoso.com"


def test_disable_then_enable(started, run_cycle, graph, dbx):
    link = ObjectLink.objects.filter(job=started, object_type="user").exclude(
        target_email=started.target_admin_email).first()
    dbx.control("POST", f"members/{link.target_email}/accept", {}) if team(dbx)[link.target_email]["status"] == "invited" else None
    graph.graph("PATCH", f"/v1.0/users/{link.source_id}", json={"accountEnabled": False})
    cycle = run_cycle(started)
    assert team(dbx)[link.target_email]["status"] == "suspended"
    assert ProvisioningLog.objects.get(job=started, cycle_id=cycle.cycle_id, object_type="user").action == Action.DISABLE
    assert ObjectLink.objects.get(pk=link.pk).state == LinkState.DISABLED

    graph.graph("PATCH", f"/v1.0/users/{link.source_id}", json={"accountEnabled": True})
    cycle = run_cycle(started)
    assert team(dbx)[link.target_email]["status"] == "active"
    assert ProvisioningLog.objects.get(job=started, cycle_id=cycle.cycle_id, object_type="user").action == Action.ENABLE
    assert ObjectLink.objects.get(pk=link.pk).state == LinkState.ACTIVE


def active_link(job, dbx):
    """A linked member that has accepted its invitation (invited members cannot be suspended)."""
    link = ObjectLink.objects.filter(job=job, object_type="user").exclude(target_email=job.target_admin_email).last()
    if team(dbx)[link.target_email]["status"] == "invited":
        dbx.control("POST", f"members/{link.target_email}/accept", {})
    return link


def test_soft_delete_suspends_and_restore_brings_back(started, run_cycle, graph, dbx):
    link = active_link(started, dbx)
    graph.graph("DELETE", f"/v1.0/users/{link.source_id}")
    cycle = run_cycle(started)
    assert team(dbx)[link.target_email]["status"] == "suspended"
    log = ProvisioningLog.objects.get(job=started, cycle_id=cycle.cycle_id, source_id=link.source_id)
    assert (log.action, log.error_code) == (Action.DISABLE, "")
    assert "deleted in Microsoft Entra ID" in log.steps[-1]["description"]

    assert graph.graph("POST", f"/v1.0/directory/deletedItems/{link.source_id}/restore").status_code == 200
    run_cycle(started)
    assert team(dbx)[link.target_email]["status"] == "active"


def test_a_hard_delete_removes_the_member(started, run_cycle, graph, dbx):
    link = active_link(started, dbx)
    graph.graph("DELETE", f"/v1.0/users/{link.source_id}")
    graph.graph("DELETE", f"/v1.0/directory/deletedItems/{link.source_id}")
    cycle = run_cycle(started)
    assert link.target_email not in team(dbx)
    assert ProvisioningLog.objects.get(job=started, cycle_id=cycle.cycle_id, object_type="user").action == Action.DELETE
    assert not ObjectLink.objects.filter(pk=link.pk).exists()


def test_unassign_suspends_and_reassign_restores(started, run_cycle, graph, dbx, demo_sp):
    direct = next(a for a in graph.get_all(f"/v1.0/servicePrincipals/{demo_sp['id']}/appRoleAssignedTo")
                  if a["principalType"] == "User" and a["appRoleId"] != "00000000-0000-0000-0000-000000000000"
                  and ObjectLink.objects.filter(job=started, source_id=a["principalId"]).exclude(
                      target_email=started.target_admin_email).exists())
    link = ObjectLink.objects.get(job=started, source_id=direct["principalId"])
    if team(dbx)[link.target_email]["status"] == "invited":
        dbx.control("POST", f"members/{link.target_email}/accept", {})
    in_groups = [g for g in graph.get_all(f"/v1.0/users/{direct['principalId']}/memberOf")]
    for group in in_groups:
        graph.graph("DELETE", f"/v1.0/groups/{group['id']}/members/{direct['principalId']}/$ref")
    graph.graph("DELETE", f"/v1.0/servicePrincipals/{demo_sp['id']}/appRoleAssignedTo/{direct['id']}")
    cycle = run_cycle(started)
    assert team(dbx)[link.target_email]["status"] == "suspended"
    log = ProvisioningLog.objects.get(job=started, cycle_id=cycle.cycle_id, source_id=link.source_id)
    assert log.action == Action.DISABLE and "not assigned" in log.steps[-1]["description"]

    assign(graph, demo_sp, direct["principalId"], direct["appRoleId"])
    run_cycle(started)
    assert team(dbx)[link.target_email]["status"] == "active"


def test_a_group_membership_change_provisions_and_deprovisions(started, run_cycle, graph, dbx, demo_sp):
    group = next(a for a in graph.get_all(f"/v1.0/servicePrincipals/{demo_sp['id']}/appRoleAssignedTo")
                 if a["principalType"] == "Group" and a["appRoleId"] != "00000000-0000-0000-0000-000000000000")
    newcomer = unassigned_user(graph, demo_sp)
    graph.graph("POST", f"/v1.0/groups/{group['principalId']}/members/$ref",
                json={"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{newcomer['id']}"})
    run_cycle(started)
    assert newcomer["userPrincipalName"].lower() in team(dbx)
    link = ObjectLink.objects.get(job=started, source_id=newcomer["id"])
    assert link.state == LinkState.ACTIVE

    dbx.control("POST", f"members/{link.target_email}/accept", {})
    graph.graph("DELETE", f"/v1.0/groups/{group['principalId']}/members/{newcomer['id']}/$ref")
    run_cycle(started)
    assert team(dbx)[link.target_email]["status"] == "suspended"


def test_a_scoping_filter_change_is_picked_up_without_a_restart(started, run_cycle, graph, dbx):
    from provisioning.models import ObjectMapping

    keep = ObjectLink.objects.filter(job=started, object_type="user").exclude(
        target_email=started.target_admin_email)
    department = entra_connector().get_user(keep.first().source_id, ["department"])["department"]
    mapping = ObjectMapping.objects.get(job=started, object_type="user")
    mapping.scoping_filters = [{"clauses": [{"attribute": "department", "operator": "EQUALS", "value": department}]}]
    mapping.save()
    for link in keep:
        if team(dbx)[link.target_email]["status"] == "invited":
            dbx.control("POST", f"members/{link.target_email}/accept", {})
    cycle = run_cycle(started)
    assert cycle.kind == CycleKind.FULL, "a configuration change forces a full re-evaluation"
    members = team(dbx)
    for link in keep:
        user = entra_connector().get_user(link.source_id, ["department"])
        expected = "active" if user.get("department") == department else "suspended"
        assert members[link.target_email]["status"] == expected, link.target_email
    skipped = ProvisioningLog.objects.filter(job=started, cycle_id=cycle.cycle_id, action=Action.DISABLE)
    assert skipped and all("scoping filters" in log.steps[-1]["description"] for log in skipped)


def create_group(graph, name: str, members: list[str]) -> dict:
    answer = graph.graph("POST", "/v1.0/groups", json={
        "displayName": name, "mailEnabled": False, "mailNickname": name.replace(" ", "").lower(),
        "securityEnabled": True,
        "members@odata.bind": [f"https://graph.microsoft.com/v1.0/directoryObjects/{m}" for m in members]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_nested_groups_count_when_the_job_says_so(started, run_cycle, graph, dbx, demo_sp):
    first = unassigned_user(graph, demo_sp)
    child = create_group(graph, "Nested Child", [first["id"]])
    parent = create_group(graph, "Nested Parent", [child["id"]])
    assign(graph, demo_sp, parent["id"], role_id(demo_sp))
    run_cycle(started)
    assert first["userPrincipalName"].lower() not in team(dbx), "direct members only, as Entra does by default"

    started.expand_nested_groups = True
    started.save()
    cycle = run_cycle(started)
    assert cycle.kind == CycleKind.FULL
    assert first["userPrincipalName"].lower() in team(dbx)

    second = unassigned_user(graph, demo_sp)
    grandchild = create_group(graph, "Nested Grandchild", [second["id"]])
    graph.graph("POST", f"/v1.0/groups/{child['id']}/members/$ref",
                json={"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{grandchild['id']}"})
    cycle = run_cycle(started)
    assert cycle.kind == CycleKind.INCREMENTAL
    assert second["userPrincipalName"].lower() in team(dbx)

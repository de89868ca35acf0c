"""Provision on demand: one user or a small group, now, with the four steps."""

from __future__ import annotations

import pytest

from provisioning.constants import Action, LogStatus
from provisioning.engine.ondemand import OnDemand, OnDemandError
from provisioning.models import ObjectLink, OnDemandRun, ProvisioningLog
from tests.services import entra_connector

from .conftest import team

pytestmark = pytest.mark.django_db


def assigned_user(sp) -> dict:
    connector = entra_connector()
    assignment = next(a for a in connector.iter_assignments(sp["id"])
                      if a["principalType"] == "User" and a["appRoleId"] != "00000000-0000-0000-0000-000000000000"
                      and a["principalDisplayName"] != "Dana Admin")
    return connector.get_user(assignment["principalId"], ["accountEnabled"])


def test_it_provisions_one_user_with_the_four_steps(job, services, demo_sp):
    _, dbx = services
    user = assigned_user(demo_sp)
    steps = []
    log_ids = OnDemand(job, report=lambda identity, item: steps.append((identity, item["name"], item["status"])),
                       initiated_by="alice@example.org").provision("user", user["id"])
    assert [name for _, name, _ in steps] == [
        "Import user", "Determine if user is in scope", "Match user between source and target system",
        "Perform action"]
    assert all(identity == user["userPrincipalName"] for identity, _, _ in steps)
    assert user["userPrincipalName"].lower() in team(dbx)
    (log,) = ProvisioningLog.objects.filter(pk__in=log_ids)
    assert log.initiated_by == "alice@example.org" and log.status == LogStatus.SUCCESS
    assert log.action in (Action.CREATE, Action.UPDATE, Action.ENABLE, Action.OTHER)
    assert ObjectLink.objects.filter(job=job, source_id=user["id"]).exists()


def test_an_unassigned_user_is_skipped_and_logged(job, services, demo_sp):
    connector = entra_connector()
    assigned = {a["principalId"] for a in connector.iter_assignments(demo_sp["id"])}
    user = next(u for u in connector.iter_users() if u["id"] not in assigned)
    steps = []
    log_ids = OnDemand(job, report=lambda i, item: steps.append(item)).provision("user", user["id"])
    assert steps[1]["status"] == "Skipped"
    log = ProvisioningLog.objects.get(pk=log_ids[0])
    assert (log.action, log.status) == (Action.SKIP, LogStatus.SKIPPED)


def test_a_group_with_more_than_five_members_is_refused(job, services, demo_sp):
    connector = entra_connector()
    big = next(g for g in connector.iter_groups() if len(list(connector.iter_group_members(g["id"]))) > 5)
    with pytest.raises(OnDemandError) as caught:
        OnDemand(job).provision("group", big["id"])
    assert "up to 5 members" in str(caught.value)


def test_a_small_assigned_group_and_its_members_are_provisioned(job, services, demo_sp):
    graph, dbx = services
    members = [u for u in entra_connector().iter_users()][:3]
    created = graph.graph("POST", "/v1.0/groups", json={
        "displayName": "Project Kestrel", "mailEnabled": False, "mailNickname": "kestrel", "securityEnabled": True,
        "members@odata.bind": [f"https://graph.microsoft.com/v1.0/directoryObjects/{u['id']}" for u in members]})
    assert created.status_code == 201, created.text
    group = created.json()
    role = next(r["id"] for r in demo_sp["appRoles"] if r["displayName"] == "User")
    graph.graph("POST", f"/v1.0/servicePrincipals/{demo_sp['id']}/appRoleAssignedTo",
                json={"principalId": group["id"], "resourceId": demo_sp["id"], "appRoleId": role})
    steps = []
    OnDemand(job, report=lambda i, item: steps.append((i, item["name"]))).provision("group", group["id"])
    assert ("Project Kestrel", "Perform action") in steps
    dropbox_group = next(g for g in dbx.state()["groups"] if g["group_name"] == "Project Kestrel")
    # The admin who authorized the portal is never added to or removed from groups.
    assert dropbox_group["member_count"] == sum(1 for u in members if u["accountEnabled"]
                                                and u["userPrincipalName"] != job.target_admin_email)
    for user in members:
        if user["accountEnabled"]:
            assert user["userPrincipalName"].lower() in team(dbx)


def test_the_task_records_its_steps_for_the_page(job, services, demo_sp):
    from provisioning.engine.ondemand import run

    user = assigned_user(demo_sp)
    record = OnDemandRun.objects.create(job=job, object_type="user", source_id=user["id"], requested_by="alice")
    record = run(record.pk)
    assert record.status == "done" and len(record.steps) == 4 and record.log_ids

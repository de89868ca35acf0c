"""Dropbox admin roles from Entra app roles, end to end: an application instantiated from the
gallery, app roles added to it in Entra, users assigned with them, and ``adminRole`` mapped
from ``SingleAppRoleAssignment([appRoleAssignments])``. A real worker runs the cycles; the
Dropbox emulator says which roles each member ended with."""

from __future__ import annotations

import uuid

import pytest

from emulators.graph.catalog import DROPBOX_FOR_BUSINESS_TEMPLATE_ID
from provisioning.constants import Action, LogStatus, MappingType
from provisioning.models import AttributeMapping, ObjectMapping, ProvisioningLog

from ..services import provisioned_job
from .conftest import team
from .test_cycles import assign, role_id

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROLE_MAP = ('Switch(SingleAppRoleAssignment([appRoleAssignments]), "", "Dropbox.UserManagementAdmin", '
            '"User management admin", "Dropbox.TeamAdmin", "Team admin", "Dropbox.Galactic", "Galactic admin")')


def _role(value: str, name: str) -> dict:
    return {"id": str(uuid.uuid4()), "displayName": name, "value": value, "description": name,
            "allowedMemberTypes": ["User"], "isEnabled": True}


@pytest.fixture
def instance(graph) -> dict:
    """A new Dropbox for Business application in the tenant, with three admin app roles added."""
    created = graph.graph("POST", f"/v1.0/applicationTemplates/{DROPBOX_FOR_BUSINESS_TEMPLATE_ID}/instantiate",
                          json={"displayName": "Dropbox (roles)"}).json()
    application = created["application"]
    roles = [*application["appRoles"], _role("Dropbox.UserManagementAdmin", "User management admin"),
             _role("Dropbox.TeamAdmin", "Team admin"), _role("Dropbox.Galactic", "Galactic admin")]
    assert graph.graph("PATCH", f"/v1.0/applications/{application['id']}", json={"appRoles": roles}).status_code == 204
    return graph.graph("GET", f"/v1.0/servicePrincipals/{created['servicePrincipal']['id']}").json()


@pytest.fixture
def role_job(instance, refresh_token):
    job = provisioned_job(instance, refresh_token)
    users = ObjectMapping.objects.get(job=job, object_type="user")
    AttributeMapping.objects.create(object_mapping=users, target_attribute="adminRole",
                                    mapping_type=MappingType.EXPRESSION, expression=ROLE_MAP)
    return job


def user(graph, upn: str) -> dict:
    return graph.graph("GET", f"/v1.0/users/{upn}?$select=id,userPrincipalName").json()


def people(graph, dbx, count: int) -> list[dict]:
    """Enabled tenant users with no Dropbox account yet."""
    members = team(dbx)
    found = [u for u in graph.get_all("/v1.0/users?$select=id,userPrincipalName,accountEnabled&$top=999")
             if u.get("accountEnabled") and u["userPrincipalName"].lower() not in members]
    return found[:count]


def roles_of(dbx, email: str) -> list[str]:
    return team(dbx)[email.lower()]["roles"]


def the_log(job, cycle, source_id: str) -> ProvisioningLog:
    return ProvisioningLog.objects.get(job=job, cycle_id=cycle.cycle_id, source_id=source_id)


def test_app_roles_become_dropbox_admin_roles_on_create_and_on_change(role_job, instance, run_cycle, graph, dbx):
    manager, worker, stranger = people(graph, dbx, 3)
    assign(graph, instance, manager["id"], role_id(instance, "User management admin"))
    worker_assignment = assign(graph, instance, worker["id"], role_id(instance, "User"))
    assign(graph, instance, stranger["id"], role_id(instance, "Galactic admin"))
    admin = user(graph, role_job.target_admin_email)
    assign(graph, instance, admin["id"], role_id(instance, "User"))  # would demote the authorizing admin

    first = run_cycle(role_job)

    assert roles_of(dbx, manager["userPrincipalName"]) == ["User management admin"]
    assert roles_of(dbx, worker["userPrincipalName"]) == []
    assert "Team admin" in roles_of(dbx, role_job.target_admin_email)
    protected = the_log(role_job, first, admin["id"])
    assert (protected.action, protected.error_code) == (Action.SKIP, "ProtectedAdmin")
    # A role the team does not have fails that user alone, with the roles it has.
    failed = the_log(role_job, first, stranger["id"])
    assert failed.status == LogStatus.FAILURE
    assert 'Dropbox has no admin role named "Galactic admin"' in failed.error_reason
    assert "user management admin" in failed.error_reason
    assert stranger["userPrincipalName"].lower() not in team(dbx)

    # The worker is given the Team admin role in Entra: the next (incremental) cycle promotes it.
    graph.graph("DELETE", f"/v1.0/servicePrincipals/{instance['id']}/appRoleAssignedTo/{worker_assignment['id']}")
    assign(graph, instance, worker["id"], role_id(instance, "Team admin"))
    second = run_cycle(role_job)

    assert roles_of(dbx, worker["userPrincipalName"]) == ["Team admin"]
    promoted = the_log(role_job, second, worker["id"])
    assert (promoted.action, promoted.status) == (Action.UPDATE, LogStatus.SUCCESS)
    assert {"name": "adminRole", "old": "", "new": "Team admin"} in promoted.modified_properties

    # And back to a plain member: demoted, with the old and new roles in the log.
    for assignment in graph.get_all(f"/v1.0/servicePrincipals/{instance['id']}/appRoleAssignedTo"):
        if assignment["principalId"] == worker["id"]:
            graph.graph("DELETE", f"/v1.0/servicePrincipals/{instance['id']}/appRoleAssignedTo/{assignment['id']}")
    assign(graph, instance, worker["id"], role_id(instance, "User"))
    third = run_cycle(role_job)

    assert roles_of(dbx, worker["userPrincipalName"]) == []
    demoted = the_log(role_job, third, worker["id"])
    assert {"name": "adminRole", "old": "Team admin", "new": ""} in demoted.modified_properties
    assert "Team admin" in roles_of(dbx, role_job.target_admin_email)


def test_without_an_admin_role_mapping_roles_made_in_dropbox_are_left_alone(instance, refresh_token, run_cycle,
                                                                          graph, dbx):
    job = provisioned_job(instance, refresh_token)
    (person,) = people(graph, dbx, 1)
    assign(graph, instance, person["id"], role_id(instance, "Team admin"))
    run_cycle(job)
    email = person["userPrincipalName"].lower()
    assert roles_of(dbx, email) == []
    member = team(dbx)[email]
    dbx.control("POST", f"members/{email}/accept", {})
    dbx.control("POST", f"members/{email}/promote", {})

    run_cycle(job, force_full=True)

    assert roles_of(dbx, email) == ["Team admin"], member

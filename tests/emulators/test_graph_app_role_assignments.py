"""App role assignments on the Dropbox for Business service principal:
creating and removing them, and the validation the real service applies."""

from __future__ import annotations

import pytest

from emulators.demo import DROPBOX_FOR_BUSINESS_APP_ID

DEFAULT_ACCESS = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


@pytest.fixture
def dropbox(graph_emulator) -> dict:
    return graph_emulator.graph(
        "GET", f"/v1.0/servicePrincipals?$filter=appId eq '{DROPBOX_FOR_BUSINESS_APP_ID}'").json()["value"][0]


def role(sp: dict, name: str) -> str:
    return next(r["id"] for r in sp["appRoles"] if r["displayName"] == name)


def user_id(graph_emulator, upn: str) -> str:
    return graph_emulator.graph("GET", f"/v1.0/users/{upn}").json()["id"]


def assign(graph_emulator, sp: dict, principal: str, app_role: str, resource: str | None = None):
    return graph_emulator.graph("POST", f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo", json={
        "principalId": principal, "resourceId": resource or sp["id"], "appRoleId": app_role})


def test_the_demo_assigns_users_groups_and_default_access(graph_emulator, dropbox):
    assignments = graph_emulator.get_all(f"/v1.0/servicePrincipals/{dropbox['id']}/appRoleAssignedTo")

    assert {a["principalType"] for a in assignments} == {"User", "Group"}
    assert DEFAULT_ACCESS in {a["appRoleId"] for a in assignments}
    groups = {a["principalDisplayName"] for a in assignments if a["principalType"] == "Group"}
    assert groups == {"Sales", "Dropbox Users", "Leadership"}
    admin = next(a for a in assignments if a["principalDisplayName"] == "Dana Admin")
    assert set(admin) == {"id", "deletedDateTime", "appRoleId", "createdDateTime", "principalDisplayName",
                          "principalId", "principalType", "resourceDisplayName", "resourceId"}
    assert admin["deletedDateTime"] is None
    assert admin["resourceDisplayName"] == "Dropbox for Business"
    assert admin["resourceId"] == dropbox["id"]


def test_it_assigns_a_user_and_removes_the_assignment(graph_emulator, dropbox):
    assignments = graph_emulator.get_all(f"/v1.0/servicePrincipals/{dropbox['id']}/appRoleAssignedTo")
    direct = {a["principalId"] for a in assignments}
    person = next(u for u in graph_emulator.get_all("/v1.0/users?$filter=department eq 'Finance'")
                  if u["id"] not in direct)

    created = assign(graph_emulator, dropbox, person["id"], role(dropbox, "User"))

    assert created.status_code == 201
    body = created.json()
    assert body["principalId"] == person["id"] and body["principalType"] == "User"
    assert body["principalDisplayName"] == person["displayName"]
    assert body["appRoleId"] == role(dropbox, "User")
    listed = graph_emulator.get_all(f"/v1.0/servicePrincipals/{dropbox['id']}/appRoleAssignedTo")
    assert body["id"] in {a["id"] for a in listed}
    removed = graph_emulator.graph("DELETE", f"/v1.0/servicePrincipals/{dropbox['id']}/appRoleAssignedTo/{body['id']}")
    assert removed.status_code == 204
    listed = graph_emulator.get_all(f"/v1.0/servicePrincipals/{dropbox['id']}/appRoleAssignedTo")
    assert body["id"] not in {a["id"] for a in listed}


def test_it_assigns_a_group_with_default_access(graph_emulator, dropbox):
    legal = graph_emulator.graph("GET", "/v1.0/groups?$filter=displayName eq 'Legal'").json()["value"][0]

    answer = assign(graph_emulator, dropbox, legal["id"], DEFAULT_ACCESS)

    assert answer.status_code == 201
    assert answer.json()["principalType"] == "Group"
    assert answer.json()["principalDisplayName"] == "Legal"


def test_it_refuses_a_duplicate_assignment(graph_emulator, dropbox):
    admin = user_id(graph_emulator, "admin@contoso.com")

    answer = assign(graph_emulator, dropbox, admin, role(dropbox, "User"))

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "Request_BadRequest"
    assert answer.json()["error"]["message"] == "Permission being assigned already exists on the object"


def test_it_refuses_a_role_the_application_does_not_have(graph_emulator, dropbox):
    answer = assign(graph_emulator, dropbox, user_id(graph_emulator, "adele.vance@contoso.com"),
                    "12345678-1234-4234-8234-123456789012")

    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        f"Permission being assigned was not found on application '{DROPBOX_FOR_BUSINESS_APP_ID}'.")


def test_it_refuses_an_unknown_principal(graph_emulator, dropbox):
    answer = assign(graph_emulator, dropbox, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", role(dropbox, "User"))

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "Request_ResourceNotFound"


def test_it_refuses_a_resource_other_than_the_service_principal_in_the_url(graph_emulator, dropbox):
    graph_sp = graph_emulator.graph("GET", "/v1.0/servicePrincipals?$filter=displayName eq 'Microsoft Graph'"
                                    ).json()["value"][0]

    answer = assign(graph_emulator, dropbox, user_id(graph_emulator, "adele.vance@contoso.com"),
                    role(dropbox, "User"), resource=graph_sp["id"])

    assert answer.status_code == 400
    assert answer.json()["error"]["details"][0]["target"] == "resourceId"


def test_it_requires_principal_resource_and_role(graph_emulator, dropbox):
    answer = graph_emulator.graph("POST", f"/v1.0/servicePrincipals/{dropbox['id']}/appRoleAssignedTo",
                                  json={"principalId": user_id(graph_emulator, "adele.vance@contoso.com")})

    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Property resourceId value is required but is empty or missing."


def test_it_answers_404_when_removing_an_unknown_assignment(graph_emulator, dropbox):
    answer = graph_emulator.graph("DELETE", f"/v1.0/servicePrincipals/{dropbox['id']}/appRoleAssignedTo/nope")

    assert answer.status_code == 404


def test_assignments_are_read_from_app_role_assigned_to_not_from_delta(graph_emulator, dropbox):
    _, users_link, _ = graph_emulator.delta_round("/v1.0/users/delta?$select=displayName")
    _, groups_link, _ = graph_emulator.delta_round("/v1.0/groups/delta?$select=displayName,members")
    adele = user_id(graph_emulator, "adele.vance@contoso.com")
    legal = graph_emulator.graph("GET", "/v1.0/groups?$filter=displayName eq 'Legal'").json()["value"][0]["id"]

    added = assign(graph_emulator, dropbox, legal, role(dropbox, "User")).json()
    existing = next(a for a in graph_emulator.get_all(f"/v1.0/users/{adele}/appRoleAssignments"))
    graph_emulator.graph("DELETE", f"/v1.0/servicePrincipals/{dropbox['id']}/appRoleAssignedTo/{existing['id']}")

    # Entra's user and group delta do not track app role assignments.
    assert graph_emulator.delta_round(users_link)[0] == []
    assert graph_emulator.delta_round(groups_link)[0] == []
    now = {a["id"]: a["principalId"] for a in
           graph_emulator.get_all(f"/v1.0/servicePrincipals/{dropbox['id']}/appRoleAssignedTo")}
    assert now[added["id"]] == legal
    assert existing["id"] not in now


def test_it_pages_assignments(graph_emulator, dropbox):
    first = graph_emulator.graph("GET", f"/v1.0/servicePrincipals/{dropbox['id']}/appRoleAssignedTo?$top=5").json()

    assert len(first["value"]) == 5
    assert first["@odata.context"].endswith(f"$metadata#servicePrincipals('{dropbox['id']}')/appRoleAssignedTo")
    everything = graph_emulator.get_all(f"/v1.0/servicePrincipals/{dropbox['id']}/appRoleAssignedTo?$top=5")
    assert len(everything) == 14  # the demo's (the portal's own app registration has two more)
    assert len({a["id"] for a in everything}) == 14

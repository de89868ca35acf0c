"""``applicationTemplates/{id}/instantiate``: each instance of a gallery application is a new
application object and service principal owned by the tenant, with the template's app roles;
the application's app roles can then be changed and its service principal follows."""

from __future__ import annotations

import uuid

import pytest

from emulators.demo import DEMO_TENANT_ID, DROPBOX_FOR_BUSINESS_APP_ID
from emulators.graph.catalog import DROPBOX_FOR_BUSINESS_TEMPLATE_ID as TEMPLATE


@pytest.fixture(autouse=True)
def empty_tenant(graph_emulator):
    graph_emulator.reset("empty")


def instantiate(graph_emulator, name: str = "Dropbox for Business", template: str = TEMPLATE):
    return graph_emulator.graph("POST", f"/v1.0/applicationTemplates/{template}/instantiate",
                                json={"displayName": name})


def test_the_gallery_lists_the_dropbox_template_by_name(graph_emulator):
    found = graph_emulator.graph(
        "GET", "/v1.0/applicationTemplates?$filter=displayName eq 'Dropbox for Business'").json()["value"]
    assert [t["id"] for t in found] == [TEMPLATE]
    assert found[0]["supportedProvisioningTypes"] == ["sync"]
    assert not any(name.startswith("_") for name in found[0])
    one = graph_emulator.graph("GET", f"/v1.0/applicationTemplates/{TEMPLATE}").json()
    assert one["displayName"] == "Dropbox for Business"


def test_each_instance_is_a_new_application_and_service_principal(graph_emulator):
    first, second = instantiate(graph_emulator, "Dropbox (sales)"), instantiate(graph_emulator, "Dropbox (legal)")

    assert first.status_code == second.status_code == 201
    a, b = first.json(), second.json()
    assert a["@odata.context"].endswith("$metadata#microsoft.graph.applicationServicePrincipal")
    assert a["application"]["id"] != b["application"]["id"]
    assert a["servicePrincipal"]["id"] != b["servicePrincipal"]["id"]
    assert a["application"]["appId"] != b["application"]["appId"] != DROPBOX_FOR_BUSINESS_APP_ID
    sp = a["servicePrincipal"]
    assert sp["appId"] == a["application"]["appId"]
    assert sp["displayName"] == "Dropbox (sales)"
    assert sp["applicationTemplateId"] == TEMPLATE
    assert sp["appOwnerOrganizationId"] == DEMO_TENANT_ID
    assert {role["displayName"] for role in sp["appRoles"]} == {"User", "msiam_access"}
    listed = graph_emulator.graph(
        "GET", f"/v1.0/servicePrincipals?$filter=applicationTemplateId eq '{TEMPLATE}'").json()["value"]
    assert sorted(s["displayName"] for s in listed) == ["Dropbox (legal)", "Dropbox (sales)"]


def test_an_assignment_to_one_instance_is_not_on_the_other(graph_emulator):
    a = instantiate(graph_emulator, "A").json()["servicePrincipal"]
    b = instantiate(graph_emulator, "B").json()["servicePrincipal"]
    user = graph_emulator.graph("POST", "/v1.0/users", json={
        "accountEnabled": True, "displayName": "Pat", "mailNickname": "pat", "userPrincipalName": "pat@contoso.com",
        "passwordProfile": {"password": "Aa1!aaaaaa"}}).json()
    role = next(r["id"] for r in a["appRoles"] if r["displayName"] == "User")
    assert graph_emulator.graph("POST", f"/v1.0/servicePrincipals/{a['id']}/appRoleAssignedTo", json={
        "principalId": user["id"], "resourceId": a["id"], "appRoleId": role}).status_code == 201

    assert len(graph_emulator.get_all(f"/v1.0/servicePrincipals/{a['id']}/appRoleAssignedTo")) == 1
    assert graph_emulator.get_all(f"/v1.0/servicePrincipals/{b['id']}/appRoleAssignedTo") == []


@pytest.mark.parametrize("body, status, code", [
    ({}, 400, "Request_BadRequest"),
    ({"displayName": "  "}, 400, "Request_BadRequest"),
    ({"displayName": "x" * 257}, 400, "Request_BadRequest"),
], ids=["no name", "blank name", "too long"])
def test_it_refuses_a_bad_instance(graph_emulator, body, status, code):
    answer = graph_emulator.graph("POST", f"/v1.0/applicationTemplates/{TEMPLATE}/instantiate", json=body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert graph_emulator.graph(
        "GET", f"/v1.0/servicePrincipals?$filter=applicationTemplateId eq '{TEMPLATE}'").json()["value"] == []


def test_an_unknown_template_is_not_found(graph_emulator):
    answer = instantiate(graph_emulator, template=str(uuid.uuid4()))
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "Request_ResourceNotFound"


def test_new_app_roles_reach_the_service_principal_and_an_enabled_role_cannot_be_dropped(graph_emulator):
    created = instantiate(graph_emulator).json()
    app, sp = created["application"], created["servicePrincipal"]
    admin = {"id": str(uuid.uuid4()), "displayName": "Team admin", "value": "Dropbox.TeamAdmin",
             "description": "Dropbox team admin", "allowedMemberTypes": ["User"], "isEnabled": True}
    answer = graph_emulator.graph("PATCH", f"/v1.0/applications/{app['id']}",
                                  json={"appRoles": [*app["appRoles"], admin]})
    assert answer.status_code == 204
    roles = graph_emulator.graph("GET", f"/v1.0/servicePrincipals/{sp['id']}").json()["appRoles"]
    assert {r["value"] for r in roles} >= {"Dropbox.TeamAdmin"}
    by_app_id = graph_emulator.graph("GET", f"/v1.0/applications(appId='{app['appId']}')").json()
    assert by_app_id["id"] == app["id"]

    dropped = graph_emulator.graph("PATCH", f"/v1.0/applications/{app['id']}", json={"appRoles": app["appRoles"]})
    assert dropped.status_code == 400
    assert dropped.json()["error"]["code"] == "CannotDeleteOrUpdateEnabledEntitlement"
    duplicate = graph_emulator.graph("PATCH", f"/v1.0/applications/{app['id']}",
                                     json={"appRoles": [*app["appRoles"], admin, {**admin, "id": str(uuid.uuid4())}]})
    assert duplicate.status_code == 400

"""Adding a gallery application creates its service principal from the appId,
as the Entra gallery does; lookups by appId and display name."""

from __future__ import annotations

import pytest

from emulators.demo import DROPBOX_FOR_BUSINESS_APP_ID


@pytest.fixture(autouse=True)
def empty_tenant(graph_emulator):
    graph_emulator.reset("empty")


def test_the_empty_tenant_has_no_dropbox_service_principal(graph_emulator):
    body = graph_emulator.graph(
        "GET", f"/v1.0/servicePrincipals?$filter=appId eq '{DROPBOX_FOR_BUSINESS_APP_ID}'").json()

    assert body["value"] == []
    names = {sp["displayName"] for sp in graph_emulator.get_all("/v1.0/servicePrincipals")}
    assert names == {"Provisioning Portal", "Microsoft Graph"}


def test_it_creates_the_dropbox_service_principal_from_its_app_id(graph_emulator):
    answer = graph_emulator.graph("POST", "/v1.0/servicePrincipals", json={"appId": DROPBOX_FOR_BUSINESS_APP_ID})

    assert answer.status_code == 201
    sp = answer.json()
    assert sp["@odata.context"].endswith("/v1.0/$metadata#servicePrincipals/$entity")
    assert sp["appId"] == DROPBOX_FOR_BUSINESS_APP_ID
    assert sp["displayName"] == "Dropbox for Business"
    assert sp["servicePrincipalType"] == "Application"
    assert sp["appRoleAssignmentRequired"] is True
    assert {role["displayName"] for role in sp["appRoles"]} == {"User", "msiam_access"}
    assert all(role["allowedMemberTypes"] == ["User"] and role["isEnabled"] for role in sp["appRoles"])
    found = graph_emulator.graph(
        "GET", f"/v1.0/servicePrincipals?$filter=appId eq '{DROPBOX_FOR_BUSINESS_APP_ID}'").json()["value"]
    assert [s["id"] for s in found] == [sp["id"]]
    by_name = graph_emulator.graph(
        "GET", "/v1.0/servicePrincipals?$filter=displayName eq 'Dropbox for Business'&$select=id").json()["value"]
    assert by_name == [{"id": sp["id"]}]
    by_key = graph_emulator.graph("GET", f"/v1.0/servicePrincipals(appId='{DROPBOX_FOR_BUSINESS_APP_ID}')").json()
    assert by_key["id"] == sp["id"]
    assert graph_emulator.graph("GET", f"/v1.0/servicePrincipals/{sp['id']}").json()["appRoles"] == sp["appRoles"]


def test_it_refuses_an_unknown_app_id(graph_emulator):
    answer = graph_emulator.graph("POST", "/v1.0/servicePrincipals",
                                  json={"appId": "11111111-2222-3333-4444-555555555555"})

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "Request_BadRequest"
    assert error["message"] == ("The appId '11111111-2222-3333-4444-555555555555' of the service principal does not "
                                "reference a valid application object.")
    assert error["details"] == [{"code": "NoBackingApplicationObject", "target": "appId"}]


def test_it_refuses_a_second_service_principal_for_the_same_app(graph_emulator):
    graph_emulator.graph("POST", "/v1.0/servicePrincipals", json={"appId": DROPBOX_FOR_BUSINESS_APP_ID})

    answer = graph_emulator.graph("POST", "/v1.0/servicePrincipals", json={"appId": DROPBOX_FOR_BUSINESS_APP_ID})

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "Request_MultipleObjectsWithSameKeyValue"
    assert answer.json()["error"]["message"] == (
        "The service principal cannot be created, updated, or restored because the service principal name "
        f"{DROPBOX_FOR_BUSINESS_APP_ID} is already in use.")


def test_it_answers_404_for_an_unknown_service_principal(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/servicePrincipals/9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "Request_ResourceNotFound"

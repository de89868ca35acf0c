"""The claims Entra puts in a signed-in person's id token for the portal's own app registration:
``roles`` from its app roles assigned to the person or a group it is a direct member of,
``groups`` with nested groups, and the groups overage claim above 200 groups."""

from __future__ import annotations

import pytest

from emulators.graph.catalog import PORTAL_ROLE_ADMINISTRATOR, PORTAL_ROLE_READER

from .test_graph_sign_in import REDIRECT_URI, open_sign_in_page, redirect_query, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")

UPN = "megan.bowen@contoso.com"


@pytest.fixture(autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


def claims(graph_emulator, upn: str = UPN) -> dict:
    app = graph_emulator.msal_app()
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    _, action, context = open_sign_in_page(graph_emulator.session(), flow["auth_uri"])
    browser = graph_emulator.session()
    _, action, context = open_sign_in_page(browser, flow["auth_uri"])
    answer = redirect_query(sign_in(browser, action, context, upn, graph_emulator.user_password))
    return app.acquire_token_by_auth_code_flow(flow, answer)["id_token_claims"]


def portal_sp(graph_emulator) -> dict:
    return graph_emulator.graph(
        "GET", f"/v1.0/servicePrincipals?$filter=appId eq '{graph_emulator.client_id}'").json()["value"][0]


def assign(graph_emulator, principal: str, role: str) -> None:
    sp = portal_sp(graph_emulator)
    answer = graph_emulator.graph("POST", f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo",
                                  json={"principalId": principal, "resourceId": sp["id"], "appRoleId": role})
    assert answer.status_code == 201, answer.text


def uid(graph_emulator, upn: str = UPN) -> str:
    return graph_emulator.graph("GET", f"/v1.0/users/{upn}").json()["id"]


def test_the_portal_registration_defines_its_two_app_roles(graph_emulator):
    roles = {r["value"]: r for r in portal_sp(graph_emulator)["appRoles"]}
    assert set(roles) == {"Provisioning.Administrator", "Provisioning.Reader"}
    assert roles["Provisioning.Reader"]["allowedMemberTypes"] == ["User", "Application"]


def test_no_role_no_roles_claim(graph_emulator):
    assert "roles" not in claims(graph_emulator)


def test_roles_come_from_direct_and_group_assignments(graph_emulator):
    assign(graph_emulator, uid(graph_emulator), PORTAL_ROLE_READER)
    group = graph_emulator.get_all(f"/v1.0/users/{UPN}/memberOf?$select=id")[0]["id"]
    assign(graph_emulator, group, PORTAL_ROLE_ADMINISTRATOR)
    assert claims(graph_emulator)["roles"] == ["Provisioning.Administrator", "Provisioning.Reader"]


def test_groups_hold_security_groups_nested_ones_included(graph_emulator):
    expected = {g["id"] for g in graph_emulator.get_all(f"/v1.0/users/{UPN}/transitiveMemberOf?$select=id,"
                                                        "securityEnabled") if g.get("securityEnabled")}
    assert expected
    assert set(claims(graph_emulator)["groups"]) == expected


def test_above_200_groups_the_token_carries_the_overage_claim(graph_emulator):
    user = uid(graph_emulator)
    for n in range(201):
        assert graph_emulator.graph("POST", "/v1.0/groups", json={
            "displayName": f"Many {n}", "mailEnabled": False, "mailNickname": f"many{n}", "securityEnabled": True,
            "members@odata.bind": [f"https://graph.microsoft.com/v1.0/directoryObjects/{user}"]}).status_code == 201
    found = claims(graph_emulator)
    assert "groups" not in found
    assert found["_claim_names"] == {"groups": "src1"}
    assert found["_claim_sources"]["src1"]["endpoint"].endswith(f"/users/{user}/getMemberObjects")


def test_a_token_for_the_portals_own_api_carries_the_roles_given_to_the_calling_app(graph_emulator):
    import jwt

    sp = portal_sp(graph_emulator)
    assign(graph_emulator, sp["id"], PORTAL_ROLE_READER)
    app = graph_emulator.msal_app()
    result = app.acquire_token_for_client([f"api://{graph_emulator.client_id}/.default"])
    token = result["access_token"]

    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    keys = graph_emulator.session().get(
        f"https://login.microsoftonline.com/{graph_emulator.tenant_id}/discovery/v2.0/keys").json()
    key = jwt.PyJWKSet.from_dict(keys)[header["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=graph_emulator.client_id,
                        issuer=f"https://login.microsoftonline.com/{graph_emulator.tenant_id}/v2.0")
    assert claims["roles"] == ["Provisioning.Reader"]
    assert claims["idtyp"] == "app" and claims["oid"] == sp["id"] and claims["azp"] == graph_emulator.client_id

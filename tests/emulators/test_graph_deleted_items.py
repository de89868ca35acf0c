"""Soft delete, restore and permanent delete through deletedItems: a deleted
user loses its memberships and app role assignments and gets them back."""

from __future__ import annotations

import pytest

from emulators.demo import DROPBOX_FOR_BUSINESS_APP_ID


@pytest.fixture(autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


def dropbox_sp(graph_emulator) -> str:
    return graph_emulator.graph(
        "GET", f"/v1.0/servicePrincipals?$filter=appId eq '{DROPBOX_FOR_BUSINESS_APP_ID}'").json()["value"][0]["id"]


def groups_of(graph_emulator, uid: str) -> list[str]:
    return sorted(g["displayName"] for g in graph_emulator.get_all(f"/v1.0/users/{uid}/memberOf"))


def assigned(graph_emulator, sp_id: str) -> set[str]:
    return {a["principalId"] for a in graph_emulator.get_all(f"/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo")}


def test_the_demo_has_recently_deleted_users(graph_emulator):
    deleted = graph_emulator.get_all("/v1.0/directory/deletedItems/microsoft.graph.user")

    assert len(deleted) == 3
    for user in deleted:
        # Entra prefixes a deleted user's name with its id, freeing the name for reuse.
        assert user["userPrincipalName"].startswith(user["id"].replace("-", ""))
        assert user["userPrincipalName"].endswith("@contoso.com")


def test_a_deleted_user_is_listed_with_its_deletion_time(graph_emulator):
    uid = graph_emulator.graph("GET", "/v1.0/users/alex.wilber@contoso.com").json()["id"]
    graph_emulator.graph("DELETE", f"/v1.0/users/{uid}")

    item = graph_emulator.graph("GET", f"/v1.0/directory/deletedItems/{uid}").json()
    listed = graph_emulator.graph(
        "GET", "/v1.0/directory/deletedItems/microsoft.graph.user?$select=id,displayName,deletedDateTime").json()

    assert item["@odata.type"] == "#microsoft.graph.user"
    assert item["deletedDateTime"].endswith("Z")
    assert listed["@odata.context"].endswith("$metadata#directory/deletedItems/microsoft.graph.user"
                                             "(id,displayName,deletedDateTime)")
    assert {"id": uid, "displayName": "Alex Wilber", "deletedDateTime": item["deletedDateTime"]} in listed["value"]


def test_soft_delete_removes_memberships_and_assignments_until_restore(graph_emulator):
    sp_id = dropbox_sp(graph_emulator)
    uid = graph_emulator.graph("GET", "/v1.0/users/adele.vance@contoso.com").json()["id"]
    groups_before = groups_of(graph_emulator, uid)
    assert groups_before and uid in assigned(graph_emulator, sp_id)

    graph_emulator.graph("DELETE", f"/v1.0/users/{uid}")
    retail = graph_emulator.graph("GET", "/v1.0/groups?$filter=displayName eq 'Retail'").json()["value"][0]["id"]
    assert uid not in {m["id"] for m in graph_emulator.get_all(f"/v1.0/groups/{retail}/members")}
    assert uid not in assigned(graph_emulator, sp_id)

    restored = graph_emulator.graph("POST", f"/v1.0/directory/deletedItems/{uid}/restore")
    assert restored.status_code == 200
    assert restored.json()["@odata.type"] == "#microsoft.graph.user"
    assert restored.json()["userPrincipalName"] == "adele.vance@contoso.com"
    assert groups_of(graph_emulator, uid) == groups_before
    assert uid in assigned(graph_emulator, sp_id)
    assert graph_emulator.graph("GET", "/v1.0/users/adele.vance@contoso.com").status_code == 200


def test_the_name_of_a_deleted_user_can_be_reused_and_then_blocks_restore(graph_emulator):
    uid = graph_emulator.graph("GET", "/v1.0/users/megan.bowen@contoso.com").json()["id"]
    graph_emulator.graph("DELETE", f"/v1.0/users/{uid}")
    created = graph_emulator.graph("POST", "/v1.0/users", json={
        "accountEnabled": True, "displayName": "Megan Bowen", "mailNickname": "meganb2",
        "userPrincipalName": "megan.bowen@contoso.com", "passwordProfile": {"password": "Xy7!secure-Passw0rd"}})
    assert created.status_code == 201

    answer = graph_emulator.graph("POST", f"/v1.0/directory/deletedItems/{uid}/restore")

    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == \
        "Another object with the same value for property userPrincipalName already exists."


def test_permanent_delete_removes_the_user_for_good(graph_emulator):
    uid = graph_emulator.graph("GET", "/v1.0/users/alex.wilber@contoso.com").json()["id"]
    graph_emulator.graph("DELETE", f"/v1.0/users/{uid}")

    purged = graph_emulator.graph("DELETE", f"/v1.0/directory/deletedItems/{uid}")
    again = graph_emulator.graph("POST", f"/v1.0/directory/deletedItems/{uid}/restore")

    assert purged.status_code == 204
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "Request_ResourceNotFound"
    assert graph_emulator.state()["deleted_users"] == 3


def test_a_deleted_microsoft_365_group_can_be_restored_with_its_members(graph_emulator):
    phoenix = graph_emulator.graph("GET", "/v1.0/groups?$filter=displayName eq 'Project Phoenix'").json()["value"][0]
    members = sorted(m["id"] for m in graph_emulator.get_all(f"/v1.0/groups/{phoenix['id']}/members"))

    graph_emulator.graph("DELETE", f"/v1.0/groups/{phoenix['id']}")
    listed = graph_emulator.get_all("/v1.0/directory/deletedItems/microsoft.graph.group")
    graph_emulator.graph("POST", f"/v1.0/directory/deletedItems/{phoenix['id']}/restore")

    assert [g["displayName"] for g in listed] == ["Project Phoenix"]
    assert sorted(m["id"] for m in graph_emulator.get_all(f"/v1.0/groups/{phoenix['id']}/members")) == members

"""transitiveMembers expands nested groups once each and stops at cycles."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


def group_id(graph_emulator, name: str) -> str:
    return graph_emulator.graph("GET", f"/v1.0/groups?$filter=displayName eq '{name}'").json()["value"][0]["id"]


def ids(items: list[dict]) -> list[str]:
    return sorted(item["id"] for item in items)


def test_members_are_direct_and_typed(graph_emulator):
    body = graph_emulator.graph("GET", f"/v1.0/groups/{group_id(graph_emulator, 'All Staff')}/members").json()

    assert body["@odata.context"].endswith("/v1.0/$metadata#directoryObjects")
    assert len(body["value"]) == 10
    assert {m["@odata.type"] for m in body["value"]} == {"#microsoft.graph.group"}
    assert {"displayName", "mailNickname", "securityEnabled"} <= set(body["value"][0])


def test_transitive_members_expand_nested_groups(graph_emulator):
    all_staff = group_id(graph_emulator, "All Staff")
    departments = graph_emulator.get_all(f"/v1.0/groups/{all_staff}/members")
    people = [m for d in departments for m in graph_emulator.get_all(f"/v1.0/groups/{d['id']}/members")]

    transitive = graph_emulator.get_all(f"/v1.0/groups/{all_staff}/transitiveMembers?$top=999")

    assert ids(transitive) == ids(departments + people)
    users = [m for m in transitive if m["@odata.type"] == "#microsoft.graph.user"]
    assert len(users) == 200
    assert "userPrincipalName" in users[0]


def test_transitive_members_list_a_member_reachable_twice_once(graph_emulator):
    dropbox_users = group_id(graph_emulator, "Dropbox Users")
    marketing = group_id(graph_emulator, "Marketing")
    megan = graph_emulator.graph("GET", "/v1.0/users/megan.bowen@contoso.com").json()["id"]
    graph_emulator.graph("POST", f"/v1.0/groups/{dropbox_users}/members/$ref",
                         json={"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{megan}"})

    transitive = graph_emulator.get_all(f"/v1.0/groups/{dropbox_users}/transitiveMembers")

    assert [m["id"] for m in transitive].count(megan) == 1
    assert marketing in ids(transitive)


def test_transitive_members_stop_at_a_cycle(graph_emulator):
    sales, legal = group_id(graph_emulator, "Sales"), group_id(graph_emulator, "Legal")
    for parent, child in ((sales, legal), (legal, sales)):
        answer = graph_emulator.graph("POST", f"/v1.0/groups/{parent}/members/$ref",
                                      json={"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{child}"})
        assert answer.status_code == 204
    sales_people = graph_emulator.get_all(f"/v1.0/groups/{sales}/members")
    legal_people = graph_emulator.get_all(f"/v1.0/groups/{legal}/members")

    transitive = graph_emulator.get_all(f"/v1.0/groups/{sales}/transitiveMembers")

    expected = {m["id"] for m in sales_people + legal_people} - {sales}
    assert ids(transitive) == sorted(expected)
    assert sales not in ids(transitive)


def test_a_user_lists_its_transitive_groups(graph_emulator):
    megan = graph_emulator.graph("GET", "/v1.0/users/megan.bowen@contoso.com").json()["id"]

    direct = {g["displayName"] for g in graph_emulator.get_all(f"/v1.0/users/{megan}/memberOf")}
    transitive = {g["displayName"] for g in graph_emulator.get_all(f"/v1.0/users/{megan}/transitiveMemberOf")}

    assert "Marketing" in direct and "All Staff" not in direct
    assert {"Marketing", "All Staff", "Dropbox Users"} <= transitive

"""Delta queries on groups: membership changes in members@delta, large
groups split across pages, and group writes in the next round."""

from __future__ import annotations

import pytest

USER = "#microsoft.graph.user"
GROUP = "#microsoft.graph.group"


@pytest.fixture(autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


def group_named(graph_emulator, name: str) -> dict:
    return graph_emulator.graph("GET", f"/v1.0/groups?$filter=displayName eq '{name}'").json()["value"][0]


def user_id(graph_emulator, upn: str) -> str:
    return graph_emulator.graph("GET", f"/v1.0/users/{upn}").json()["id"]


def ref(oid: str) -> dict:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{oid}"}


def test_the_initial_round_lists_members_of_every_group(graph_emulator):
    items, _, _ = graph_emulator.delta_round("/v1.0/groups/delta?$select=displayName,members")

    by_name = {item["displayName"]: item for item in items}
    assert len(by_name) == 15
    all_staff = by_name["All Staff"]
    assert len(all_staff["members@delta"]) == 10
    assert {entry["@odata.type"] for entry in all_staff["members@delta"]} == {GROUP}
    sales = graph_emulator.get_all(f"/v1.0/groups/{by_name['Sales']['id']}/members?$select=id")
    assert sorted(e["id"] for e in by_name["Sales"]["members@delta"]) == sorted(m["id"] for m in sales)
    assert all(entry["@odata.type"] == USER for entry in by_name["Sales"]["members@delta"])


def test_without_select_the_group_carries_its_default_properties_and_members(graph_emulator):
    items, _, _ = graph_emulator.delta_round("/v1.0/groups/delta")

    phoenix = next(item for item in items if item["displayName"] == "Project Phoenix")
    assert phoenix["groupTypes"] == ["Unified"]
    assert phoenix["mail"] == "projectphoenix@contoso.com"
    assert phoenix["securityEnabled"] is False
    assert len(phoenix["members@delta"]) == 14


def test_select_without_members_leaves_membership_out(graph_emulator):
    items, link, _ = graph_emulator.delta_round("/v1.0/groups/delta?$select=displayName")
    assert all("members@delta" not in item for item in items)
    graph_emulator.graph("POST", f"/v1.0/groups/{group_named(graph_emulator, 'Legal')['id']}/members/$ref",
                         json=ref(user_id(graph_emulator, "adele.vance@contoso.com")))

    items, _, _ = graph_emulator.delta_round(link)

    assert items == []


def test_a_big_group_is_split_across_pages(graph_emulator):
    graph_emulator.configure(delta_members_chunk=3)

    items, _, pages = graph_emulator.delta_round("/v1.0/groups/delta?$select=displayName,members")

    sales_id = group_named(graph_emulator, "Sales")["id"]
    pieces = [item for item in items if item["id"] == sales_id]
    members = graph_emulator.get_all(f"/v1.0/groups/{sales_id}/members?$select=id")
    assert len(pieces) == -(-len(members) // 3)
    assert all(piece["displayName"] == "Sales" and len(piece["members@delta"]) <= 3 for piece in pieces)
    merged = [entry["id"] for piece in pieces for entry in piece["members@delta"]]
    assert sorted(merged) == sorted(m["id"] for m in members)
    assert pages > 15


def test_member_add_and_remove_show_in_members_delta(graph_emulator):
    legal = group_named(graph_emulator, "Legal")
    _, link, _ = graph_emulator.delta_round("/v1.0/groups/delta?$select=displayName,members")
    adele = user_id(graph_emulator, "adele.vance@contoso.com")
    leaving = graph_emulator.graph("GET", f"/v1.0/groups/{legal['id']}/members").json()["value"][0]["id"]

    added = graph_emulator.graph("POST", f"/v1.0/groups/{legal['id']}/members/$ref", json=ref(adele))
    removed = graph_emulator.graph("DELETE", f"/v1.0/groups/{legal['id']}/members/{leaving}/$ref")
    items, _, _ = graph_emulator.delta_round(link, headers={"Prefer": "return=minimal"})

    assert added.status_code == 204 and removed.status_code == 204
    assert items == [{"id": legal["id"], "members@delta": [
        {"@odata.type": USER, "id": adele},
        {"@odata.type": USER, "id": leaving, "@removed": {"reason": "deleted"}},
    ]}]


def test_adding_an_existing_member_is_refused(graph_emulator):
    legal = group_named(graph_emulator, "Legal")
    member = graph_emulator.graph("GET", f"/v1.0/groups/{legal['id']}/members").json()["value"][0]["id"]

    answer = graph_emulator.graph("POST", f"/v1.0/groups/{legal['id']}/members/$ref", json=ref(member))

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "Request_BadRequest"
    assert answer.json()["error"]["message"] == ("One or more added object references already exist for the "
                                                  "following modified properties: 'members'.")


def test_removing_a_non_member_answers_404(graph_emulator):
    legal = group_named(graph_emulator, "Legal")
    adele = user_id(graph_emulator, "adele.vance@contoso.com")

    answer = graph_emulator.graph("DELETE", f"/v1.0/groups/{legal['id']}/members/{adele}/$ref")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "Request_ResourceNotFound"


def test_group_create_rename_and_delete_show_up(graph_emulator):
    _, link, _ = graph_emulator.delta_round("/v1.0/groups/delta?$select=displayName,description,members")
    adele = user_id(graph_emulator, "adele.vance@contoso.com")

    created = graph_emulator.graph("POST", "/v1.0/groups", json={
        "displayName": "Dropbox Pilot", "mailEnabled": False, "mailNickname": "dropboxpilot",
        "securityEnabled": True, "members@odata.bind": [f"https://graph.microsoft.com/v1.0/users/{adele}"]})
    assert created.status_code == 201
    gid = created.json()["id"]
    items, link, _ = graph_emulator.delta_round(link)
    assert items == [{"displayName": "Dropbox Pilot", "id": gid,
                      "members@delta": [{"@odata.type": USER, "id": adele}]}]

    graph_emulator.graph("PATCH", f"/v1.0/groups/{gid}", json={"displayName": "Dropbox Rollout"})
    items, link, _ = graph_emulator.delta_round(link, headers={"Prefer": "return=minimal"})
    assert items == [{"displayName": "Dropbox Rollout", "id": gid}]

    graph_emulator.graph("DELETE", f"/v1.0/groups/{gid}")
    items, _, _ = graph_emulator.delta_round(link)
    assert items == [{"id": gid, "@removed": {"reason": "deleted"}}]
    assert graph_emulator.graph("GET", f"/v1.0/groups/{gid}").status_code == 404


def test_a_deleted_user_leaves_its_groups_in_the_group_delta(graph_emulator):
    _, link, _ = graph_emulator.delta_round("/v1.0/groups/delta?$select=displayName,members")
    megan = user_id(graph_emulator, "megan.bowen@contoso.com")
    marketing = group_named(graph_emulator, "Marketing")

    graph_emulator.graph("DELETE", f"/v1.0/users/{megan}")
    items, _, _ = graph_emulator.delta_round(link)

    entry = next(item for item in items if item["id"] == marketing["id"])
    assert {"@odata.type": USER, "id": megan, "@removed": {"reason": "deleted"}} in entry["members@delta"]


def test_members_bound_in_a_patch_are_added(graph_emulator):
    legal = group_named(graph_emulator, "Legal")
    _, link, _ = graph_emulator.delta_round("/v1.0/groups/delta?$select=displayName,members")
    adele, alex = (user_id(graph_emulator, f"{name}@contoso.com") for name in ("adele.vance", "alex.wilber"))

    answer = graph_emulator.graph("PATCH", f"/v1.0/groups/{legal['id']}", json={"members@odata.bind": [
        f"https://graph.microsoft.com/v1.0/directoryObjects/{adele}",
        f"https://graph.microsoft.com/v1.0/directoryObjects/{alex}"]})
    items, _, _ = graph_emulator.delta_round(link, headers={"Prefer": "return=minimal"})

    assert answer.status_code == 204
    assert items == [{"id": legal["id"], "members@delta": [{"@odata.type": USER, "id": adele},
                                                            {"@odata.type": USER, "id": alex}]}]

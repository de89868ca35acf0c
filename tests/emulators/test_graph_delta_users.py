"""Delta queries on users: an initial round with the current state, then
rounds with only what changed, for every kind of write."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

SELECT = "displayName,jobTitle,accountEnabled,department"
PASSWORD = "Xy7!secure-Passw0rd"


@pytest.fixture(autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


def start(graph_emulator, select: str = SELECT) -> str:
    return graph_emulator.delta_round(f"/v1.0/users/delta?$select={select}")[1]


def user_id(graph_emulator, upn: str) -> str:
    return graph_emulator.graph("GET", f"/v1.0/users/{upn}").json()["id"]


def test_the_initial_round_returns_every_user_across_pages(graph_emulator):
    items, delta_link, pages = graph_emulator.delta_round(f"/v1.0/users/delta?$select={SELECT}")

    assert pages == 2
    assert len(items) == 200
    assert len({item["id"] for item in items}) == 200
    assert all(set(item) <= {"id", "displayName", "jobTitle", "accountEnabled", "department"} for item in items)
    assert sum(1 for item in items if item["accountEnabled"] is False) == 9
    assert delta_link.startswith(f"{graph_emulator.url}/v1.0/users/delta?$deltatoken=")
    assert "select" not in parse_qs(urlsplit(delta_link).query)


def test_the_initial_round_without_select_returns_the_default_properties(graph_emulator):
    items, _, _ = graph_emulator.delta_round("/v1.0/users/delta")

    adele = next(item for item in items if item.get("userPrincipalName") == "adele.vance@contoso.com")
    assert set(adele) <= {"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                          "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}
    assert "accountEnabled" not in adele


def test_latest_gives_only_a_delta_link(graph_emulator):
    body = graph_emulator.graph("GET", "/v1.0/users/delta?$deltatoken=latest").json()

    assert body["value"] == []
    assert "@odata.nextLink" not in body
    assert "$deltatoken=" in body["@odata.deltaLink"]
    graph_emulator.graph("PATCH", "/v1.0/users/adele.vance@contoso.com", json={"jobTitle": "Buyer"})
    items, _, _ = graph_emulator.delta_round(body["@odata.deltaLink"])
    assert [item["jobTitle"] for item in items] == ["Buyer"]


def test_a_round_without_changes_is_empty(graph_emulator):
    link = start(graph_emulator)

    items, next_link, pages = graph_emulator.delta_round(link)

    assert items == [] and pages == 1
    assert next_link != link


def test_a_created_user_shows_up(graph_emulator):
    link = start(graph_emulator)
    created = graph_emulator.graph("POST", "/v1.0/users", json={
        "accountEnabled": True, "displayName": "Nestor Wilke", "mailNickname": "nestorw", "department": "Sales",
        "userPrincipalName": "nestor.wilke@contoso.com", "passwordProfile": {"password": PASSWORD}}).json()

    items, _, _ = graph_emulator.delta_round(link)

    assert items == [{"displayName": "Nestor Wilke", "accountEnabled": True, "department": "Sales",
                      "id": created["id"]}]


def test_an_update_shows_the_selected_properties(graph_emulator):
    link = start(graph_emulator)
    graph_emulator.graph("PATCH", "/v1.0/users/megan.bowen@contoso.com", json={"jobTitle": "Marketing Lead"})

    items, _, _ = graph_emulator.delta_round(link)

    assert len(items) == 1
    assert items[0]["id"] == user_id(graph_emulator, "megan.bowen@contoso.com")
    assert items[0]["jobTitle"] == "Marketing Lead"
    assert items[0]["displayName"] == "Megan Bowen" and items[0]["department"] == "Marketing"


def test_prefer_return_minimal_shows_only_changed_properties(graph_emulator):
    link = start(graph_emulator)
    graph_emulator.graph("PATCH", "/v1.0/users/megan.bowen@contoso.com", json={"jobTitle": None})

    items, _, _ = graph_emulator.delta_round(link, headers={"Prefer": "return=minimal"})

    assert items == [{"jobTitle": None, "id": user_id(graph_emulator, "megan.bowen@contoso.com")}]


def test_a_disabled_user_shows_up_with_account_enabled_false(graph_emulator):
    link = start(graph_emulator)
    graph_emulator.graph("PATCH", "/v1.0/users/alex.wilber@contoso.com", json={"accountEnabled": False})

    items, _, _ = graph_emulator.delta_round(link, headers={"Prefer": "return=minimal"})

    assert items == [{"accountEnabled": False, "id": user_id(graph_emulator, "alex.wilber@contoso.com")}]


def test_a_change_outside_the_selected_properties_does_not_show(graph_emulator):
    link = start(graph_emulator, select="displayName")
    graph_emulator.graph("PATCH", "/v1.0/users/alex.wilber@contoso.com", json={"officeLocation": "Boston 3/402"})

    items, _, _ = graph_emulator.delta_round(link)

    assert items == []


def test_soft_delete_restore_and_hard_delete_show_up_in_turn(graph_emulator):
    uid = user_id(graph_emulator, "lynne.robbins@contoso.com")
    link = start(graph_emulator)

    graph_emulator.graph("DELETE", f"/v1.0/users/{uid}")
    items, link, _ = graph_emulator.delta_round(link)
    assert items == [{"id": uid, "@removed": {"reason": "changed"}}]

    graph_emulator.graph("POST", f"/v1.0/directory/deletedItems/{uid}/restore")
    items, link, _ = graph_emulator.delta_round(link)
    assert items == [{"displayName": "Lynne Robbins", "jobTitle": items[0]["jobTitle"], "accountEnabled": True,
                      "department": "Retail", "id": uid}]

    graph_emulator.graph("DELETE", f"/v1.0/users/{uid}")
    graph_emulator.graph("DELETE", f"/v1.0/directory/deletedItems/{uid}")
    items, _, _ = graph_emulator.delta_round(link)
    assert items == [{"id": uid, "@removed": {"reason": "deleted"}}]


def test_the_query_is_baked_into_the_tokens(graph_emulator):
    link = start(graph_emulator, select="displayName")
    assert "select" not in link.lower()
    graph_emulator.graph("PATCH", "/v1.0/users/alex.wilber@contoso.com", json={"displayName": "Alex W."})

    items, _, _ = graph_emulator.delta_round(link)

    assert items == [{"displayName": "Alex W.", "id": user_id(graph_emulator, "alex.wilber@contoso.com")}]


def test_it_tracks_only_the_filtered_ids(graph_emulator):
    adele, alex = user_id(graph_emulator, "adele.vance@contoso.com"), user_id(graph_emulator, "alex.wilber@contoso.com")
    items, link, _ = graph_emulator.delta_round(f"/v1.0/users/delta?$filter=id eq '{adele}'&$select=jobTitle")
    assert [item["id"] for item in items] == [adele]
    graph_emulator.graph("PATCH", f"/v1.0/users/{adele}", json={"jobTitle": "Buyer"})
    graph_emulator.graph("PATCH", f"/v1.0/users/{alex}", json={"jobTitle": "Buyer"})

    items, _, _ = graph_emulator.delta_round(link)

    assert items == [{"jobTitle": "Buyer", "id": adele}]


def test_it_pages_large_change_sets(graph_emulator):
    graph_emulator.configure(delta_page_size=10)
    link = start(graph_emulator)
    ids = [u["id"] for u in graph_emulator.graph("GET", "/v1.0/users?$top=25").json()["value"]]
    for uid in ids:
        graph_emulator.graph("PATCH", f"/v1.0/users/{uid}", json={"jobTitle": "Renamed"})

    items, _, pages = graph_emulator.delta_round(link)

    assert pages == 3
    assert sorted(item["id"] for item in items) == sorted(ids)


@pytest.mark.parametrize("token", ["garbage", "eyJyIjoidXNlcnMifQ"])
def test_it_refuses_a_token_it_did_not_issue(graph_emulator, token):
    answer = graph_emulator.graph("GET", f"/v1.0/users/delta?$deltatoken={token}")

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "syncStateNotFound"
    assert answer.json()["error"]["message"] == (
        "The sync state generation is not found. The delta token is expired and data must be synchronized again.")


def test_it_refuses_a_token_from_before_a_reset(graph_emulator):
    link = start(graph_emulator)
    graph_emulator.reset("demo")

    answer = graph_emulator.graph("GET", link)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "syncStateNotFound"


def test_it_refuses_an_expired_token(graph_emulator):
    link = start(graph_emulator)
    graph_emulator.configure(delta_token_lifetime=0)

    answer = graph_emulator.graph("GET", link)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "syncStateNotFound"


def test_a_groups_token_is_refused_for_users(graph_emulator):
    groups_link = graph_emulator.graph("GET", "/v1.0/groups/delta?$deltatoken=latest").json()["@odata.deltaLink"]
    token = parse_qs(urlsplit(groups_link).query)["$deltatoken"][0]

    answer = graph_emulator.graph("GET", f"/v1.0/users/delta?$deltatoken={token}")

    assert answer.status_code == 400

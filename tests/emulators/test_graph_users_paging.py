"""Listing users: absolute @odata.nextLink pages with $skiptoken, page sizes
of 1 to 999 (100 by default), and Graph's refusal of anything else."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest


@pytest.fixture(scope="module", autouse=True)
def large_tenant(graph_emulator):
    graph_emulator.reset("synthetic:2500")


def test_it_pages_users_past_999(graph_emulator):
    first = graph_emulator.graph("GET", "/v1.0/users?$top=999").json()

    assert len(first["value"]) == 999
    link = first["@odata.nextLink"]
    assert link.startswith(f"{graph_emulator.url}/v1.0/users?")
    assert "$top=999" in link and "$skiptoken=" in link
    users = graph_emulator.get_all("/v1.0/users?$top=999")
    assert len(users) == 2500
    assert len({user["id"] for user in users}) == 2500


def test_it_pages_by_100_by_default(graph_emulator):
    body = graph_emulator.graph("GET", "/v1.0/users").json()

    assert len(body["value"]) == 100
    assert body["@odata.context"] == f"{graph_emulator.url}/v1.0/$metadata#users"
    assert list(body) == ["@odata.context", "@odata.nextLink", "value"]
    assert len(graph_emulator.get_all("/v1.0/users")) == 2500


def test_it_keeps_the_query_in_the_next_link(graph_emulator):
    body = graph_emulator.graph("GET", "/v1.0/users?$top=5&$select=displayName,id").json()

    query = parse_qs(urlsplit(body["@odata.nextLink"]).query)
    assert query["$select"] == ["displayName,id"]
    second = graph_emulator.graph("GET", body["@odata.nextLink"]).json()
    assert set(second["value"][0]) == {"displayName", "id"}
    assert second["value"][0]["id"] not in {user["id"] for user in body["value"]}


def test_it_ends_without_a_next_link(graph_emulator):
    body = graph_emulator.graph("GET", "/v1.0/groups?$top=999").json()

    assert len(body["value"]) == 25
    assert "@odata.nextLink" not in body


@pytest.mark.parametrize("top", ["0", "1000", "-1", "many"])
def test_it_refuses_a_page_size_outside_1_to_999(graph_emulator, top):
    answer = graph_emulator.graph("GET", f"/v1.0/users?$top={top}")

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "Request_UnsupportedQuery"
    assert error["message"] == f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."


def test_it_refuses_skip(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/users?$skip=10")

    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "'$skip' is not supported by the service."


def test_it_refuses_a_skiptoken_it_did_not_issue(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/users?$skiptoken=RFNwdAIAAQAAAB")

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "Directory_ExpiredPageToken"


def test_it_builds_links_on_the_host_the_request_arrived_at(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/users?$top=1", headers={"Host": "graph.example.test"})

    assert answer.json()["@odata.nextLink"].startswith("http://graph.example.test/v1.0/users?")

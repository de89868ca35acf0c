"""$select, $filter, $count, $search and $orderby on directory objects, with
the default property sets and the advanced-query rules of the real service."""

from __future__ import annotations

import pytest

EVENTUAL = {"ConsistencyLevel": "eventual"}


@pytest.fixture(scope="module", autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


def test_it_returns_the_default_user_properties(graph_emulator):
    user = graph_emulator.graph("GET", "/v1.0/users/adele.vance@contoso.com").json()

    assert list(user) == ["@odata.context", "businessPhones", "displayName", "givenName", "jobTitle", "mail",
                          "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"]
    assert user["@odata.context"].endswith("/v1.0/$metadata#users/$entity")
    assert "accountEnabled" not in user and "department" not in user and "employeeId" not in user


def test_it_returns_only_the_selected_properties(graph_emulator):
    body = graph_emulator.graph(
        "GET", "/v1.0/users?$select=id,accountEnabled,department,employeeId&$top=3").json()

    assert body["@odata.context"].endswith("/v1.0/$metadata#users(id,accountEnabled,department,employeeId)")
    for user in body["value"]:
        assert list(user) == ["id", "accountEnabled", "department", "employeeId"]
        assert isinstance(user["accountEnabled"], bool)


def test_it_refuses_an_unknown_property_in_select(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/users?$select=displayName,shoeSize")

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "Request_UnsupportedQuery"
    assert answer.json()["error"]["message"] == \
        "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'."


def test_it_filters_with_eq(graph_emulator):
    body = graph_emulator.graph(
        "GET", "/v1.0/users?$filter=userPrincipalName eq 'MEGAN.BOWEN@contoso.com'&$select=displayName").json()

    assert body["value"] == [{"displayName": "Megan Bowen"}]


def test_it_filters_with_startswith_and_or(graph_emulator):
    body = graph_emulator.graph(
        "GET", "/v1.0/users?$filter=startswith(displayName,'Adele') or startswith(displayName,'Alex W')"
               "&$select=displayName").json()

    assert sorted(u["displayName"] for u in body["value"]) == ["Adele Vance", "Alex Wilber"]


def test_it_filters_with_and_on_booleans(graph_emulator):
    everyone = graph_emulator.get_all("/v1.0/users?$select=id,accountEnabled,department&$top=999")
    enabled_in_sales = graph_emulator.get_all(
        "/v1.0/users?$filter=accountEnabled eq true and department eq 'Sales'&$select=id,accountEnabled,department")
    every_disabled = graph_emulator.get_all("/v1.0/users?$filter=accountEnabled eq false&$select=id")

    assert len(every_disabled) == 9
    expected = [u for u in everyone if u["accountEnabled"] and u["department"] == "Sales"]
    assert enabled_in_sales and enabled_in_sales == expected


def test_it_filters_groups_and_service_principals(graph_emulator):
    groups = graph_emulator.graph("GET", "/v1.0/groups?$filter=displayName eq 'All Staff'").json()["value"]
    unified = graph_emulator.graph("GET", "/v1.0/groups?$filter=groupTypes/any(c:c eq 'Unified')").json()["value"]
    apps = graph_emulator.graph(
        "GET", "/v1.0/servicePrincipals?$filter=displayName eq 'Dropbox for Business'").json()["value"]

    assert [g["displayName"] for g in groups] == ["All Staff"]
    assert [g["displayName"] for g in unified] == ["Project Phoenix"]
    assert [a["appId"] for a in apps] == ["c3e8a1f4-2b6d-4f7e-9a0b-5d4c3b2a1f0e"]


def test_it_refuses_a_filter_that_needs_advanced_query_parameters(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/users?$filter=companyName eq 'Contoso'")

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "Request_UnsupportedQuery"
    assert answer.json()["error"]["message"] == \
        "Unsupported or invalid query filter clause specified for property 'companyName' of resource 'User'."
    advanced = graph_emulator.graph("GET", "/v1.0/users?$filter=companyName eq 'Contoso'&$count=true",
                                    headers=EVENTUAL)
    assert advanced.status_code == 200
    assert advanced.json()["@odata.count"] == 200


def test_it_refuses_ne_without_advanced_query_parameters(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/users?$filter=accountEnabled ne true")

    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(
        "Operator 'ne' is not supported because the required parameters might be missing.")


def test_it_refuses_a_malformed_filter(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/users?$filter=displayName eq")

    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("Invalid filter clause")


def test_it_counts_only_with_consistency_level_eventual(graph_emulator):
    refused = graph_emulator.graph("GET", "/v1.0/users/$count")
    counted = graph_emulator.graph("GET", "/v1.0/users/$count", headers=EVENTUAL)

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "Request_BadRequest"
    assert refused.json()["error"]["message"] == "$count is not currently supported."
    assert counted.status_code == 200
    assert counted.headers["Content-Type"].startswith("text/plain")
    assert counted.text == "200"


def test_it_ignores_count_true_without_the_header(graph_emulator):
    plain = graph_emulator.graph("GET", "/v1.0/users?$count=true&$top=1").json()
    advanced = graph_emulator.graph("GET", "/v1.0/users?$count=true&$top=1", headers=EVENTUAL).json()

    assert "@odata.count" not in plain
    assert advanced["@odata.count"] == 200
    assert list(advanced)[:3] == ["@odata.context", "@odata.count", "@odata.nextLink"]


def test_it_searches_display_names_with_the_header(graph_emulator):
    refused = graph_emulator.graph("GET", '/v1.0/users?$search="displayName:vance"')
    found = graph_emulator.graph("GET", '/v1.0/users?$search="displayName:vance"&$select=displayName',
                                 headers=EVENTUAL)

    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == ("Request with $search query parameter only works through MSGraph "
                                                   "with a special request header: 'ConsistencyLevel: eventual'")
    assert {"displayName": "Adele Vance"} in found.json()["value"]


def test_it_orders_by_display_name(graph_emulator):
    names = [u["displayName"] for u in graph_emulator.get_all("/v1.0/users?$orderby=displayName&$top=50")]

    assert len(names) == 200
    assert names == sorted(names, key=str.lower)


def test_it_needs_advanced_parameters_to_filter_and_order(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/users?$filter=department eq 'Sales'&$orderby=displayName")

    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Sorting not supported for current query."


def test_it_answers_404_for_an_unknown_user(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/users/00000000-0000-4000-8000-000000000000")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "Request_ResourceNotFound"
    assert answer.json()["error"]["message"] == ("Resource '00000000-0000-4000-8000-000000000000' does not exist or "
                                                  "one of its queried reference-property objects are not present.")


def test_it_refuses_an_unknown_segment(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/gadgets")

    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Resource not found for the segment 'gadgets'."

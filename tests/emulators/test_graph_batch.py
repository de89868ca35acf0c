"""JSON batching: up to 20 requests, answered one by one in any order, with
dependsOn, failed dependencies and per-request throttling."""

from __future__ import annotations

import pytest

PASSWORD = "Xy7!secure-Passw0rd"


@pytest.fixture(autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


def batch(graph_emulator, requests: list[dict]):
    return graph_emulator.graph("POST", "/v1.0/$batch", json={"requests": requests})


def by_id(answer) -> dict:
    assert answer.status_code == 200, answer.text
    return {item["id"]: item for item in answer.json()["responses"]}


def test_it_answers_each_request_on_its_own(graph_emulator):
    answer = batch(graph_emulator, [
        {"id": "1", "method": "GET", "url": "/users/adele.vance@contoso.com?$select=displayName"},
        {"id": "2", "method": "GET", "url": "/users/nobody@contoso.com"},
        {"id": "3", "method": "PATCH", "url": "/users/alex.wilber@contoso.com",
         "headers": {"Content-Type": "application/json"}, "body": {"jobTitle": "Brand Lead"}},
        {"id": "4", "method": "GET", "url": "groups?$top=2&$select=displayName"},
    ])

    responses = by_id(answer)
    assert responses["1"]["status"] == 200
    assert responses["1"]["body"]["displayName"] == "Adele Vance"
    assert responses["1"]["headers"]["Content-Type"].startswith("application/json")
    assert responses["2"]["status"] == 404
    assert responses["2"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert responses["3"]["status"] == 204 and "body" not in responses["3"]
    assert len(responses["4"]["body"]["value"]) == 2
    assert responses["4"]["body"]["@odata.nextLink"].startswith(f"{graph_emulator.url}/v1.0/groups?")
    title = graph_emulator.graph("GET", "/v1.0/users/alex.wilber@contoso.com?$select=jobTitle").json()["jobTitle"]
    assert title == "Brand Lead"


def test_it_refuses_more_than_20_requests(graph_emulator):
    requests = [{"id": str(n), "method": "GET", "url": "/users?$top=1"} for n in range(21)]

    answer = batch(graph_emulator, requests)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert "20" in answer.json()["error"]["message"]
    assert len(by_id(batch(graph_emulator, requests[:20]))) == 20


def test_it_fails_the_dependents_of_a_failed_request_with_424(graph_emulator):
    answer = batch(graph_emulator, [
        {"id": "create", "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
         "body": {"displayName": "No Password", "mailNickname": "nopassword", "accountEnabled": True,
                  "userPrincipalName": "no.password@contoso.com"}},
        {"id": "rename", "method": "PATCH", "url": "/users/no.password@contoso.com", "dependsOn": ["create"],
         "headers": {"Content-Type": "application/json"}, "body": {"jobTitle": "x"}},
        {"id": "after", "method": "GET", "url": "/users/no.password@contoso.com", "dependsOn": ["rename"]},
        {"id": "free", "method": "GET", "url": "/users/adele.vance@contoso.com"},
    ])

    responses = by_id(answer)
    assert responses["create"]["status"] == 400
    assert responses["rename"]["status"] == 424
    assert responses["after"]["status"] == 424
    assert responses["rename"]["body"]["error"]["code"] == "FailedDependency"
    assert responses["free"]["status"] == 200


def test_it_runs_dependents_after_their_dependency(graph_emulator):
    answer = batch(graph_emulator, [
        {"id": "read", "method": "GET", "url": "/users/nestor.wilke@contoso.com?$select=jobTitle",
         "dependsOn": ["create"]},
        {"id": "create", "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
         "body": {"displayName": "Nestor Wilke", "mailNickname": "nestorw", "accountEnabled": True,
                  "jobTitle": "Director", "userPrincipalName": "nestor.wilke@contoso.com",
                  "passwordProfile": {"password": PASSWORD}}},
    ])

    responses = by_id(answer)
    assert responses["create"]["status"] == 201
    assert responses["read"]["status"] == 200
    assert responses["read"]["body"]["jobTitle"] == "Director"


def test_it_refuses_a_write_without_content_type(graph_emulator):
    answer = batch(graph_emulator, [
        {"id": "1", "method": "PATCH", "url": "/users/adele.vance@contoso.com", "body": {"jobTitle": "x"}},
    ])

    response = by_id(answer)["1"]
    assert response["status"] == 400
    assert response["body"]["error"]["message"] == \
        "Write request id : 1 does not contain Content-Type header or body."


def test_it_refuses_absolute_urls_and_unknown_dependencies(graph_emulator):
    absolute = batch(graph_emulator, [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}])
    dangling = batch(graph_emulator, [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}])

    assert absolute.status_code == 400 and absolute.json()["error"]["code"] == "BadRequest"
    assert dangling.status_code == 400 and dangling.json()["error"]["code"] == "BadRequest"


def test_it_throttles_requests_inside_a_batch_one_by_one(graph_emulator):
    graph_emulator.configure(rate_limit=5)
    requests = [{"id": str(n), "method": "GET", "url": "/users?$top=1&$select=id"} for n in range(12)]

    answer = batch(graph_emulator, requests)

    statuses = [item["status"] for item in by_id(answer).values()]
    assert statuses.count(200) == 5
    assert statuses.count(429) == 7
    throttled = next(item for item in answer.json()["responses"] if item["status"] == 429)
    assert int(throttled["headers"]["Retry-After"]) >= 1
    assert throttled["body"]["error"]["code"] == "TooManyRequests"
    assert set(throttled["body"]["error"]["innerError"]) == {"date", "request-id", "client-request-id"}


def test_it_answers_in_any_order(graph_emulator):
    requests = [{"id": str(n), "method": "GET", "url": "/users?$top=1&$select=id"} for n in range(20)]

    orders = {tuple(item["id"] for item in batch(graph_emulator, requests).json()["responses"]) for _ in range(3)}

    assert any(order != tuple(str(n) for n in range(20)) for order in orders)

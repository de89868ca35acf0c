"""Throttling (429 with Retry-After and Graph's body) and injected service
failures (503 and 500 with Graph's bodies)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


def test_it_throttles_past_the_rate_limit(graph_emulator):
    token = graph_emulator.token()
    graph_emulator.configure(rate_limit=3)

    answers = [graph_emulator.graph("GET", "/v1.0/users?$top=1", token=token) for _ in range(6)]

    statuses = [a.status_code for a in answers]
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses
    throttled = next(a for a in answers if a.status_code == 429)
    assert int(throttled.headers["Retry-After"]) >= 1
    error = throttled.json()["error"]
    assert error["code"] == "TooManyRequests"
    assert error["message"].startswith("Too many requests from Identifier:")
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert graph_emulator.stats()["requests"]["rate_limited"] >= 1


def test_msal_still_gets_tokens_while_graph_is_throttled(graph_emulator):
    graph_emulator.configure(rate_limit=1)
    for _ in range(3):
        graph_emulator.graph("GET", "/v1.0/users?$top=1")

    result = graph_emulator.msal_app().acquire_token_for_client(["https://graph.microsoft.com/.default"])

    assert "access_token" in result


def test_it_fails_requests_with_graph_bodies_at_the_fail_rate(graph_emulator):
    token = graph_emulator.token()
    graph_emulator.configure(fail_rate=1.0)

    answers = [graph_emulator.graph("GET", "/v1.0/users?$top=1", token=token) for _ in range(12)]

    assert {a.status_code for a in answers} == {500, 503}
    unavailable = next(a for a in answers if a.status_code == 503)
    assert unavailable.json()["error"]["code"] == "serviceNotAvailable"
    assert int(unavailable.headers["Retry-After"]) >= 1
    general = next(a for a in answers if a.status_code == 500)
    assert general.json()["error"]["code"] == "generalException"
    assert "innerError" in general.json()["error"]


def test_the_fail_rate_leaves_the_token_endpoint_alone(graph_emulator):
    graph_emulator.configure(fail_rate=1.0)

    result = graph_emulator.msal_app().acquire_token_for_client(["https://graph.microsoft.com/.default"])

    assert "access_token" in result


def test_the_token_endpoint_fails_only_when_asked(graph_emulator):
    graph_emulator.configure(token_fail_rate=1.0)

    answer = graph_emulator.session().post(
        f"{graph_emulator.authority}/oauth2/v2.0/token",
        data={"client_id": graph_emulator.client_id, "client_secret": graph_emulator.client_secret,
              "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"})

    assert answer.status_code == 503
    assert answer.json()["error"] == "temporarily_unavailable"


def test_an_injected_fault_answers_every_group_as_empty(graph_emulator):
    group = graph_emulator.get_all("/v1.0/groups?$top=999")[0]
    assert graph_emulator.get_all(f"/v1.0/groups/{group['id']}/members")
    graph_emulator.configure(empty_group_members=True)
    assert graph_emulator.get_all(f"/v1.0/groups/{group['id']}/members") == []
    batch = graph_emulator.graph("POST", "/v1.0/$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": f"/groups/{group['id']}/members"}]}).json()
    assert batch["responses"][0]["body"]["value"] == []
    graph_emulator.configure(empty_group_members=False)
    assert graph_emulator.get_all(f"/v1.0/groups/{group['id']}/members")

"""The source connector against the Graph emulator, through msal and Graph as
they really answer: paging, delta, $batch, throttling, failures and errors."""

from __future__ import annotations

import pytest

from emulators.demo import DROPBOX_FOR_BUSINESS_APP_ID
from provisioning.connectors import entra
from provisioning.connectors.errors import ConfigurationError, CredentialsError, NotFoundError
from tests.services import entra_connector


def test_it_streams_users_past_999_with_top_999(graph):
    graph.reset("synthetic:2100")
    graph.reset_stats()
    connector = entra_connector()
    ids = [user["id"] for user in connector.iter_users(select=["givenName", "department"])]
    assert len(ids) == len(set(ids)) == 2100
    requests = graph.stats()["requests"]
    assert requests.get("GET /v1.0/users") == 3  # 999 + 999 + 102


def test_it_selects_only_what_it_needs(graph):
    user = next(entra_connector().iter_users(select=["department"]))
    assert set(user) <= {"id", "userPrincipalName", "displayName", "accountEnabled", "mail", "department",
                         "@odata.type"}
    assert "department" in user and "accountEnabled" in user


def test_a_delta_round_returns_all_then_only_changes(graph):
    connector = entra_connector()
    first = connector.users_delta(select=["department"])
    everyone = list(first)
    assert len(everyone) > 150 and first.delta_link

    user = everyone[0]
    graph.graph("PATCH", f"/v1.0/users/{user['id']}", json={"department": "Research"})
    second = connector.users_delta(delta_link=first.delta_link)
    changed = list(second)
    assert [(c["id"], c["department"]) for c in changed] == [(user["id"], "Research")]
    assert second.delta_link and second.delta_link != first.delta_link
    assert list(connector.users_delta(delta_link=second.delta_link)) == []


def test_a_soft_and_a_hard_delete_come_as_removed(graph):
    connector = entra_connector()
    round_ = connector.users_delta()
    users = list(round_)
    soft, hard = users[0]["id"], users[1]["id"]
    graph.graph("DELETE", f"/v1.0/users/{soft}")
    graph.graph("DELETE", f"/v1.0/users/{hard}")
    graph.graph("DELETE", f"/v1.0/directory/deletedItems/{hard}")
    removed = {c["id"]: c["@removed"]["reason"] for c in connector.users_delta(delta_link=round_.delta_link)}
    assert removed == {soft: "changed", hard: "deleted"}


def test_group_delta_carries_member_changes(graph):
    connector = entra_connector()
    round_ = connector.groups_delta()
    groups = {g["id"]: g for g in round_}
    gid, group = next((gid, g) for gid, g in groups.items() if g.get("members@delta"))
    member = group["members@delta"][0]["id"]
    graph.graph("DELETE", f"/v1.0/groups/{gid}/members/{member}/$ref")
    changes = list(connector.groups_delta(delta_link=round_.delta_link))
    assert [c["id"] for c in changes] == [gid]
    assert changes[0]["members@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": member, "@removed": {"reason": "deleted"}}]


def test_it_reads_members_of_many_groups_in_batches(graph):
    connector = entra_connector()
    group_ids = [g["id"] for g in connector.iter_groups()]
    graph.reset_stats()
    pairs = list(connector.iter_members_of_groups(group_ids))
    expected = sum(len(graph.get_all(f"/v1.0/groups/{gid}/members")) for gid in group_ids)
    assert len(pairs) == expected > 0
    batches = graph.stats()["requests"].get("POST /v1.0/$batch", 0)
    assert batches == -(-len(group_ids) // 20)


def test_it_waits_out_throttling_and_reports_the_wait(graph):
    connector = entra_connector()
    connector.token()  # before throttling starts
    graph.configure(rate_limit=5)
    users = list(entra_connector().iter_users()) + [g for g in connector.iter_groups()]
    for _ in range(6):
        list(connector.iter_groups())
    assert users
    assert connector.stats.throttled > 0
    assert connector.stats.waited_seconds > 0


def test_it_retries_server_errors(graph, no_waiting):
    connector = entra_connector()
    connector.token()
    graph.configure(fail_rate=0.3)
    ids = [u["id"] for u in connector.iter_users()]
    graph.configure(fail_rate=0)
    assert len(ids) == len(set(ids)) > 150
    assert connector.stats.retries > 0 and len(no_waiting) == connector.stats.retries


def test_a_wrong_client_secret_is_a_credentials_error(graph, settings):
    settings.ENTRA_CLIENT_SECRET = "not-the-secret"
    entra._msal_apps.clear()
    with pytest.raises(CredentialsError) as caught:
        next(entra_connector().iter_users())
    assert "AADSTS7000215" in caught.value.message or "invalid_client" in caught.value.message


def test_a_missing_permission_is_a_configuration_error(graph):
    graph.configure(permissions=["Application.ReadWrite.All"])
    with pytest.raises(ConfigurationError) as caught:
        next(entra_connector().iter_users())
    assert "permission" in caught.value.message


def test_an_unknown_object_is_not_found(graph):
    with pytest.raises(NotFoundError):
        entra_connector().get_user("00000000-0000-0000-0000-0000000000ab")


def test_it_finds_or_creates_the_gallery_apps_service_principal(graph):
    graph.reset("empty")
    connector = entra_connector()
    created, was_created = connector.ensure_service_principal(DROPBOX_FOR_BUSINESS_APP_ID)
    found, again = connector.ensure_service_principal(DROPBOX_FOR_BUSINESS_APP_ID)
    assert was_created and not again
    assert created["id"] == found["id"]
    assert created["displayName"] == "Dropbox for Business"


def test_it_adds_and_removes_assignments(graph, demo_sp):
    connector = entra_connector()
    role = next(r for r in demo_sp["appRoles"] if r["displayName"] == "User")
    assignments = list(connector.iter_assignments(demo_sp["id"]))
    before = {a["id"] for a in assignments}
    assigned = {a["principalId"] for a in assignments}
    user = next(u for u in connector.iter_users() if u["id"] not in assigned)
    created = connector.add_assignment(demo_sp["id"], user["id"], role["id"])
    assert created["principalId"] == user["id"] and created["appRoleId"] == role["id"]
    connector.remove_assignment(demo_sp["id"], created["id"])
    assert {a["id"] for a in connector.iter_assignments(demo_sp["id"])} == before

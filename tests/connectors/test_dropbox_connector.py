"""The target connector against the Dropbox emulator, through the real SDK:
batching by 20, async jobs, every per-member outcome, refresh-token renewal,
rate limits with the wait reported, and the error mapping."""

from __future__ import annotations

import threading

import pytest

from provisioning.connectors.errors import (
    BadDataError,
    ConnectorError,
    CredentialsError,
    DryRunWrite,
    NotFoundError,
    TransientError,
)
from provisioning.targets.base import NewAccount, RemoveOptions, TargetConnector
from provisioning.targets.dropbox.connector import DropboxConnector
from tests.services import dropbox_connector, dropbox_refresh_token


@pytest.fixture
def connector(dbx, refresh_token):
    return dropbox_connector(refresh_token)


def person(email: str, **values) -> NewAccount:
    return NewAccount({"email": email, **values})


def people(n: int, prefix: str = "new") -> list[NewAccount]:
    return [person(f"{prefix}.{i}@contoso.com", givenName=f"Given{i}", surname=f"Sur{i}",
                   externalId=f"ext-{prefix}-{i}") for i in range(n)]


def test_it_implements_the_target_protocol(connector):
    assert isinstance(connector, TargetConnector)
    assert connector.schema.create_batch_size == 20 and connector.names.service == "Dropbox"


def test_it_adds_members_20_per_call_and_polls_async_jobs(dbx, connector):
    dbx.configure(async_job_seconds=0.3)  # a job still in progress at the first look is polled again
    dbx.reset_stats()
    outcomes = connector.create_batch(people(45))
    assert [o.kind for o in outcomes] == ["created"] * 45
    assert outcomes[0].account.label == "new.0@contoso.com" and outcomes[0].account.status == "invited"
    requests = dbx.stats()["requests"]
    assert requests["POST /2/team/members/add_v2"] == 3
    # Batches of more than 5 members are asynchronous: each is polled until done.
    assert requests.get("POST /2/team/members/add/job_status/get_v2", 0) >= 3
    emails = {m["email"] for m in dbx.state()["members"]}
    assert {f"new.{i}@contoso.com" for i in range(45)} <= emails


def test_it_types_every_per_member_failure(dbx, connector):
    dbx.control("POST", "accounts", {
        "other@contoso.com": "user_on_another_team", "paired@contoso.com": "user_already_paired",
        "migrate@contoso.com": "user_migration_failed", "broken@contoso.com": "user_creation_failed",
    })
    batch = [
        person("adele.vance@contoso.com"),  # already on the demo team
        person("other@contoso.com"), person("paired@contoso.com"), person("migrate@contoso.com"),
        person("broken@contoso.com"),
        person("dup1@contoso.com", externalId="same-id"), person("dup2@contoso.com", externalId="same-id"),
    ]
    outcomes = {new.values["email"]: o for new, o in zip(batch, connector.create_batch(batch))}
    assert outcomes["adele.vance@contoso.com"].kind == "exists"
    assert outcomes["other@contoso.com"].kind == "invalid" and outcomes["other@contoso.com"].field == "email"
    assert outcomes["other@contoso.com"].code == "DropboxUserOnAnotherTeam"
    assert outcomes["paired@contoso.com"].code == "DropboxUserAlreadyPaired"
    assert outcomes["migrate@contoso.com"].kind == "failed"
    assert outcomes["broken@contoso.com"].code == "DropboxUserCreationFailed"
    assert outcomes["dup1@contoso.com"].kind == "created"
    assert outcomes["dup2@contoso.com"].code == "DropboxDuplicateExternalMemberId"
    assert outcomes["dup2@contoso.com"].field == "externalId"


def test_it_reports_the_license_limit(dbx, connector):
    used = len([m for m in dbx.state()["members"] if m["status"] != "removed"])
    dbx.configure(licenses=used + 1)
    outcomes = connector.create_batch(people(3, "lic"))
    assert [o.kind for o in outcomes] == ["created", "retry_later", "retry_later"]
    assert "license" in outcomes[1].message and "licenses" in outcomes[1].recommendation


def test_invalid_data_is_refused_with_the_field_at_fault(connector):
    with pytest.raises(BadDataError) as caught:
        connector.create_batch([person("long@contoso.com", givenName="x" * 51)])
    assert caught.value.field == "givenName"


def test_it_updates_suspends_unsuspends_and_removes(dbx, connector):
    member = connector.find_one("email", "alex.wilber@contoso.com")
    connector.update(member.id, {"givenName": "Alexander", "externalId": "ext-alex"})
    updated = connector.find_one("id", member.id)
    assert (updated.values["givenName"], updated.values["externalId"]) == ("Alexander", "ext-alex")
    assert connector.find_one("externalId", "ext-alex").id == member.id
    connector.disable(member.id)
    assert connector.find_one("id", member.id).status == "suspended"
    connector.enable(member.id)
    assert connector.find_one("id", member.id).status == "active"
    admin = connector.authenticated_admin()
    connector.remove(member.id, RemoveOptions(transfer_to=admin.id))
    assert connector.find_one("email", "alex.wilber@contoso.com").status == "removed"
    assert "alex.wilber@contoso.com" not in {m.label for m in connector.iter_accounts()}


def test_an_unknown_member_is_not_found(connector):
    with pytest.raises(NotFoundError):
        connector.disable("dbmid:does-not-exist")


def test_it_lists_members_page_by_page(dbx, connector):
    connector.create_batch(people(30, "page"))
    listed = list(connector.iter_accounts(page_size=7))
    assert len({m.id for m in listed}) == len(listed)
    assert {f"page.{i}@contoso.com" for i in range(30)} <= {m.label for m in listed}


def test_groups_are_created_company_managed_and_filled(dbx, connector):
    members = [o.account.id for o in connector.create_batch(people(3, "grp"))]
    group = connector.create_group({"groupName": "Engineering", "externalId": "g-eng"})
    stored = next(g for g in dbx.state()["groups"] if g["group_name"] == "Engineering")
    assert stored["group_management_type"] == "company_managed" and group.values["externalId"] == "g-eng"
    connector.add_group_members(group.id, members)
    assert sorted(connector.iter_group_members(group.id)) == sorted(members)
    connector.remove_group_members(group.id, members[:1])
    connector.update_group(group.id, {"groupName": "Engineering (all)"})
    assert sorted(connector.iter_group_members(group.id)) == sorted(members[1:])
    assert any(g.label == "Engineering (all)" for g in connector.iter_groups())
    connector.delete_group(group.id)
    assert not any(g.id == group.id for g in connector.iter_groups())


def test_a_taken_group_name_is_a_conflict(connector):
    from provisioning.connectors.errors import ConflictError

    connector.create_group({"groupName": "Twice"})
    with pytest.raises(ConflictError) as caught:
        connector.create_group({"groupName": "Twice"})
    assert caught.value.field == "groupName"


def test_it_renews_the_access_token_with_the_refresh_token(dbx, refresh_token):
    dbx.configure(token_lifetime=120)  # under 300 s: the SDK refreshes before every call
    connector = dropbox_connector(refresh_token)
    dbx.reset_stats()
    connector.describe()
    connector.describe()
    assert dbx.stats()["requests"]["POST /oauth2/token"] == 2


def test_it_waits_out_rate_limits_and_reports_the_wait(dbx, connector):
    connector.get_info()
    waits = []
    connector.on_rate_limit = waits.append
    dbx.configure(rate_limit=3)
    for _ in range(8):
        connector.get_info()
    assert connector.stats.throttled >= 1
    assert connector.stats.waited_seconds >= 1
    assert waits and all(w >= 1 for w in waits)


def test_it_gives_up_loudly_when_rate_limits_never_end(dbx, refresh_token):
    connector = dropbox_connector(refresh_token, max_rate_limit_waits=0)
    connector.get_info()
    dbx.configure(rate_limit=1)
    with pytest.raises(TransientError) as caught:
        for _ in range(5):
            connector.get_info()
    assert caught.value.code == "DropboxRateLimited"
    assert "too many requests" in caught.value.message


def test_server_errors_are_retried_then_transient(dbx, refresh_token):
    connector = dropbox_connector(refresh_token)
    connector.get_info()
    dbx.configure(fail_rate=1.0)
    connector.client._max_retries_on_error = 0
    with pytest.raises(TransientError):
        connector.get_info()


def test_a_revoked_authorization_is_a_credentials_error(dbx, connector):
    connector.get_info()
    dbx.control("POST", "tokens/revoke", {})
    with pytest.raises(CredentialsError):
        dropbox_connector(connector.client._oauth2_refresh_token).get_info()


def test_a_non_admin_authorization_is_refused_as_credentials(dbx):
    token = dropbox_refresh_token(dbx, dbx.member_email, dbx.member_password)
    with pytest.raises(CredentialsError) as caught:
        dropbox_connector(token).authenticated_admin()
    assert caught.value.code == "DropboxAdminNotActive"


def test_a_dry_run_connector_sends_no_write(dbx, refresh_token):
    connector = dropbox_connector(refresh_token, dry_run=True)
    dbx.reset_stats()
    with pytest.raises(DryRunWrite):
        connector.create_batch(people(2, "dry"))
    with pytest.raises(DryRunWrite):
        connector.disable("dbmid:anything")
    assert list(connector.iter_accounts())
    sent = dbx.stats()["requests"]
    assert not any("add_v2" in route or "suspend" in route for route in sent)


def test_without_an_authorization_it_says_so():
    with pytest.raises(CredentialsError) as caught:
        DropboxConnector(refresh_token=None)
    assert "not authorized" in caught.value.message


def test_it_lists_admin_roles_and_sets_one(connector):
    roles = {role["name"]: role["role_id"] for role in connector.available_roles()}
    assert "Team admin" in roles and "User management admin" in roles
    member = connector.find_one("email", "megan.bowen@contoso.com")
    assert connector.set_admin_roles(member.id, [roles["User management admin"]]) == \
        [roles["User management admin"]]
    assert connector.find_one("id", member.id).roles == ["User management admin"]
    connector.set_admin_roles(member.id, [])
    assert connector.find_one("id", member.id).roles == []


def test_admin_role_values_go_with_create_and_update(connector, dbx):
    outcomes = connector.create_batch([person("rolea@contoso.com", adminRole="support admin"),
                                       person("roleb@contoso.com", adminRole="Nobody admin"),
                                       person("rolec@contoso.com")])
    assert [o.kind for o in outcomes] == ["created", "invalid", "created"]
    assert outcomes[1].field == "adminRole"
    assert outcomes[1].message.startswith('Dropbox has no admin role named "Nobody admin" (the team\'s roles: ')
    assert connector.find_one("email", "rolea@contoso.com").values["adminRole"] == "Support admin"
    assert connector.find_one("email", "roleb@contoso.com") is None
    member = connector.find_one("email", "rolec@contoso.com")
    assert member.values["adminRole"] == ""

    connector.update(member.id, {"adminRole": "User management admin", "givenName": "Cee"})
    updated = connector.find_one("id", member.id)
    assert (updated.roles, updated.values["givenName"]) == (["User management admin"], "Cee")


def test_the_last_team_admin_keeps_the_role_and_nothing_else_changes(connector, dbx):
    admins = [a for a in connector.iter_accounts() if "Team admin" in a.roles]
    assert len(admins) == 1
    (admin,) = admins
    with pytest.raises(ConnectorError) as caught:
        connector.update(admin.id, {"adminRole": "", "givenName": "Changed"})
    assert caught.value.message == "Dropbox refused while trying to set a member's admin role: last admin"
    assert "Dropbox keeps at least one team admin" in caught.value.recommendation
    after = connector.find_one("id", admin.id)
    assert after.roles == admin.roles
    assert after.values["givenName"] == admin.values["givenName"]


def test_the_sdks_session_takes_proxies_and_ca_bundle_from_the_environment(monkeypatch):
    """Read once per origin, but read: a proxy for one host, none for a host NO_PROXY names, the CA bundle the
    environment gives; and no ~/.netrc, whose basic credentials would replace the SDK's Authorization."""
    from provisioning.connectors.routing import routed_session

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.contoso.test:3128")
    monkeypatch.setenv("NO_PROXY", "graph.microsoft.com")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/contoso/ca.pem")
    session = routed_session({})
    dropbox = session.merge_environment_settings("https://api.dropboxapi.com/2/team/get_info", {}, False, None, None)
    graph = session.merge_environment_settings("https://graph.microsoft.com/v1.0/users", {}, False, None, None)
    assert dropbox["proxies"].get("https") == "http://proxy.contoso.test:3128"
    assert "https" not in graph["proxies"]
    assert dropbox["verify"] == graph["verify"] == "/etc/contoso/ca.pem"
    assert session.merge_environment_settings("https://api.dropboxapi.com/2/x", {}, False, False, None)["verify"] is False
    assert session.trust_env is False


def test_many_look_ups_are_sent_several_at_once_and_each_key_is_answered(dbx, connector, monkeypatch):
    created = [o.account for o in connector.create_batch(people(250, "find"))]
    wanted = [("email", a.label) for a in created] + [("id", a.id) for a in created[:40]] + \
        [("email", f"nobody.{i}@contoso.com") for i in range(60)]
    dbx.configure(latency_ms=60)
    in_flight, peak, calls, lock = [0], [0], [], threading.Lock()
    get_info = connector.client.team_members_get_info_v2

    def counted(members):
        with lock:
            calls.append(len(members))
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            return get_info(members)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(connector.client, "team_members_get_info_v2", counted)
    try:
        found = connector.find(wanted)
    finally:
        dbx.configure(latency_ms=0)
    assert sorted(calls) == [50, 100, 100, 100], "350 look-ups, 100 per call"
    assert peak[0] > 1, "the calls overlap"
    assert all(found[("email", a.label)].id == a.id for a in created)
    assert all(found[("id", a.id)].label == a.label for a in created[:40])
    assert all(found[("email", f"nobody.{i}@contoso.com")] is None for i in range(60))

"""The target connector against the Dropbox emulator, through the real SDK:
batching by 20, async jobs, every per-member outcome, refresh-token renewal,
rate limits with the wait reported, and the error mapping."""

from __future__ import annotations

import pytest

from provisioning.connectors.dropbox import DropboxConnector, NewMember
from provisioning.connectors.errors import (
    BadDataError,
    CredentialsError,
    DryRunWrite,
    NotFoundError,
    TransientError,
)
from tests.services import dropbox_connector, dropbox_refresh_token


@pytest.fixture
def dbx(services):
    return services[1]


@pytest.fixture
def connector(dbx, refresh_token):
    return dropbox_connector(refresh_token)


def people(n: int, prefix: str = "new") -> list[NewMember]:
    return [NewMember(f"{prefix}.{i}@contoso.com", given_name=f"Given{i}", surname=f"Sur{i}", external_id=f"ext-{prefix}-{i}")
            for i in range(n)]


def test_it_adds_members_20_per_call_and_polls_async_jobs(dbx, connector):
    dbx.reset_stats()
    outcomes = connector.add_members(people(45))
    assert [o.kind for o in outcomes] == ["created"] * 45
    assert outcomes[0].member.email == "new.0@contoso.com" and outcomes[0].member.status == "invited"
    requests = dbx.stats()["requests"]
    assert requests["POST /2/team/members/add_v2"] == 3
    assert requests.get("POST /2/team/members/add/job_status/get_v2", 0) >= 3  # more than 5 members: async
    emails = {m["email"] for m in dbx.state()["members"]}
    assert {f"new.{i}@contoso.com" for i in range(45)} <= emails


def test_it_types_every_per_member_failure(dbx, connector):
    dbx.control("POST", "accounts", {
        "other@contoso.com": "user_on_another_team", "paired@contoso.com": "user_already_paired",
        "migrate@contoso.com": "user_migration_failed", "broken@contoso.com": "user_creation_failed",
    })
    batch = [
        NewMember("adele.vance@contoso.com"),  # already on the demo team
        NewMember("other@contoso.com"), NewMember("paired@contoso.com"), NewMember("migrate@contoso.com"),
        NewMember("broken@contoso.com"),
        NewMember("dup1@contoso.com", external_id="same-id"), NewMember("dup2@contoso.com", external_id="same-id"),
    ]
    outcomes = {o.email: o for o in connector.add_members(batch)}
    assert outcomes["adele.vance@contoso.com"].kind == "already_on_team"
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
    outcomes = connector.add_members(people(3, "lic"))
    assert [o.kind for o in outcomes] == ["created", "license_limit", "license_limit"]
    assert "license" in outcomes[1].message


def test_invalid_data_is_refused_with_the_field_at_fault(connector):
    with pytest.raises(BadDataError) as caught:
        connector.add_members([NewMember("long@contoso.com", given_name="x" * 51)])
    assert caught.value.field == "givenName"


def test_it_updates_suspends_unsuspends_and_removes(dbx, connector):
    member = connector.get_member("email", "alex.wilber@contoso.com")
    updated = connector.set_profile(member.team_member_id, given_name="Alexander", external_id="ext-alex")
    assert (updated.given_name, updated.external_id) == ("Alexander", "ext-alex")
    connector.suspend(member.team_member_id)
    assert connector.get_member("team_member_id", member.team_member_id).status == "suspended"
    connector.unsuspend(member.team_member_id)
    assert connector.get_member("team_member_id", member.team_member_id).status == "active"
    admin = connector.authenticated_admin()
    connector.remove(member.team_member_id, transfer_dest_id=admin.team_member_id,
                     transfer_admin_id=admin.team_member_id)
    assert connector.get_member("email", "alex.wilber@contoso.com").status == "removed"
    assert "alex.wilber@contoso.com" not in {m.email for m in connector.iter_members()}


def test_an_unknown_member_is_not_found(connector):
    with pytest.raises(NotFoundError):
        connector.suspend("dbmid:does-not-exist")


def test_it_lists_members_page_by_page(dbx, connector):
    connector.add_members(people(30, "page"))
    listed = list(connector.iter_members(page_size=7))
    assert len({m.team_member_id for m in listed}) == len(listed)
    assert {f"page.{i}@contoso.com" for i in range(30)} <= {m.email for m in listed}


def test_groups_are_created_company_managed_and_filled(dbx, connector):
    members = [o.member.team_member_id for o in connector.add_members(people(3, "grp"))]
    group = connector.create_group("Engineering", external_id="g-eng")
    assert group.management_type == "company_managed"
    connector.add_group_members(group.group_id, members)
    assert sorted(connector.iter_group_members(group.group_id)) == sorted(members)
    connector.remove_group_members(group.group_id, members[:1])
    connector.update_group(group.group_id, name="Engineering (all)")
    assert sorted(connector.iter_group_members(group.group_id)) == sorted(members[1:])
    assert any(g.name == "Engineering (all)" for g in connector.iter_groups())
    connector.delete_group(group.group_id)
    assert not any(g.group_id == group.group_id for g in connector.iter_groups())


def test_it_renews_the_access_token_with_the_refresh_token(dbx, refresh_token):
    dbx.configure(token_lifetime=120)  # under 300 s: the SDK refreshes before every call
    connector = dropbox_connector(refresh_token)
    dbx.reset_stats()
    connector.get_info()
    connector.get_info()
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
        connector.add_members(people(2, "dry"))
    with pytest.raises(DryRunWrite):
        connector.suspend("dbmid:anything")
    assert list(connector.iter_members())
    sent = dbx.stats()["requests"]
    assert not any("add_v2" in route or "suspend" in route for route in sent)


def test_without_an_authorization_it_says_so():
    with pytest.raises(CredentialsError) as caught:
        DropboxConnector(refresh_token=None)
    assert "not authorized" in caught.value.message


def test_it_lists_admin_roles_and_sets_one(connector):
    roles = {role["name"]: role["role_id"] for role in connector.available_roles()}
    assert "Team admin" in roles and "User management admin" in roles
    member = connector.get_member("email", "megan.bowen@contoso.com")
    assert connector.set_admin_roles(member.team_member_id, [roles["User management admin"]]) == \
        [roles["User management admin"]]
    assert connector.get_member("team_member_id", member.team_member_id).roles == ["User management admin"]
    connector.set_admin_roles(member.team_member_id, [])
    assert connector.get_member("team_member_id", member.team_member_id).roles == []

"""The answers a cycle reads by the thousand (member pages, add-job results) are
read as JSON rather than decoded by Stone: the accounts must be exactly those the
SDK's decoding gives, and errors, rate limits and token renewal must behave as for
every other call."""

from __future__ import annotations

import pytest
from dropbox import team

from provisioning.connectors.errors import BadDataError, ConnectorError, CredentialsError, TransientError
from provisioning.targets.base import NewAccount
from provisioning.targets.dropbox.connector import account_from_sdk
from tests.services import dropbox_connector


@pytest.fixture
def connector(refresh_token):
    return dropbox_connector(refresh_token)


def test_listed_accounts_are_those_the_sdk_decodes(dbx, connector):
    connector.create_batch([NewAccount({"email": "json.full@contoso.com", "givenName": "Zoë", "surname": "O'Neil",
                                        "externalId": "ext-json-1"}),
                            NewAccount({"email": "json.bare@contoso.com"})])
    by_json = {a.id: a for a in connector.iter_accounts(page_size=3)}
    decoded = connector.client.team_members_list_v2(limit=1000)
    by_sdk = {}
    while True:
        by_sdk.update({(a := account_from_sdk(info)).id: a for info in decoded.members})
        if not decoded.has_more:
            break
        decoded = connector.client.team_members_list_continue_v2(decoded.cursor)
    assert by_json == by_sdk and len(by_json) >= 3
    full = next(a for a in by_json.values() if a.label == "json.full@contoso.com")
    assert full.status == "invited" and full.values["givenName"] == "Zoë" and full.values["externalId"] == "ext-json-1"
    assert any(a.is_admin and a.roles for a in by_json.values())  # the team admin, with its role


def test_created_accounts_from_the_job_answer_are_those_the_sdk_decodes(dbx, connector):
    outcomes = connector.create_batch([NewAccount({"email": f"job.{i}@contoso.com", "givenName": "J",
                                                   "surname": f"S{i}", "externalId": f"job-{i}"}) for i in range(8)])
    assert [o.kind for o in outcomes] == ["created"] * 8
    found = connector.find([("email", f"job.{i}@contoso.com") for i in range(8)])
    for i, outcome in enumerate(outcomes):
        assert outcome.account == found[("email", f"job.{i}@contoso.com")]


def test_an_error_answer_is_decoded_and_mapped_like_any_other(connector):
    with pytest.raises(BadDataError) as caught:
        connector._json_call("list members", team.members_list_continue_v2, {"cursor": "not-a-cursor"})
    assert caught.value.code == "DropboxInvalidCursor"
    assert caught.value.message == "Dropbox refused while trying to list members: invalid cursor"
    with pytest.raises(ConnectorError) as caught:
        connector._poll("add members", connector._add_job_status, "dbjid:nothing-like-this")
    assert "add members" in caught.value.message


def test_rate_limits_are_waited_out_and_the_token_renewed(dbx, refresh_token):
    dbx.configure(token_lifetime=120)  # under 300 s: the SDK renews before every call
    connector = dropbox_connector(refresh_token)
    dbx.reset_stats()
    list(connector.iter_accounts())
    assert dbx.stats()["requests"]["POST /oauth2/token"] == 1
    waits = []
    connector.on_rate_limit = waits.append
    dbx.configure(rate_limit=2)
    for _ in range(6):
        list(connector.iter_accounts())
    assert waits and connector.stats.throttled >= 1


def test_a_revoked_authorization_while_listing_is_a_credentials_error(dbx, connector):
    list(connector.iter_accounts())
    dbx.control("POST", "tokens/revoke", {})
    with pytest.raises(CredentialsError):
        list(dropbox_connector(connector.client._oauth2_refresh_token).iter_accounts())


def test_server_errors_while_listing_are_transient(dbx, connector):
    list(connector.iter_accounts())
    dbx.configure(fail_rate=1.0)
    connector.client._max_retries_on_error = 0
    with pytest.raises(TransientError):
        list(connector.iter_accounts())


def test_the_json_sent_for_adds_is_what_stone_would_send(dbx, connector, monkeypatch):
    """Members and group members are sent as JSON built by the connector: it must be, key for key, what the
    SDK's own encoding of the same arguments gives (Stone leaves out unset fields), and Dropbox takes it."""
    from stone.backends.python_rsrc import stone_serializers

    sent, send = [], connector._send_json
    monkeypatch.setattr(connector, "_send_json", lambda route, arg: sent.append((route, arg)) or send(route, arg))
    outcomes = connector.create_batch([
        NewAccount({"email": "stone.full@contoso.com", "givenName": "Zoë", "surname": "O'Neil", "externalId": "ext-9"},
                   send_welcome_email=False),
        NewAccount({"email": "stone.bare@contoso.com", "givenName": "", "surname": None})])
    assert [o.kind for o in outcomes] == ["created", "created"]
    group = connector.create_group({"groupName": "Stone check"})
    connector.add_group_members(group.id, [o.account.id for o in outcomes])
    assert set(connector.iter_group_members(group.id)) == {o.account.id for o in outcomes}
    (add_route, add_arg), *_polls = [(r, a) for r, a in sent if r is team.members_add_v2]
    (group_route, group_arg), = [(r, a) for r, a in sent if r is team.groups_members_add]
    expected_add = team.MembersAddV2Arg([
        team.MemberAddV2Arg(member_email="stone.full@contoso.com", member_given_name="Zoë", member_surname="O'Neil",
                            member_external_id="ext-9", send_welcome_email=False),
        team.MemberAddV2Arg(member_email="stone.bare@contoso.com", send_welcome_email=True)])
    assert add_route is team.members_add_v2
    assert add_arg == stone_serializers.json_compat_obj_encode(add_route.arg_type, expected_add)
    expected_group = team.GroupMembersAddArg(
        team.GroupSelector.group_id(group.id),
        [team.MemberAccess(team.UserSelectorArg.team_member_id(o.account.id), team.GroupAccessType.member)
         for o in outcomes], return_members=False)
    assert group_route is team.groups_members_add
    assert group_arg == stone_serializers.json_compat_obj_encode(group_route.arg_type, expected_group)


def test_a_member_the_sdk_would_refuse_is_refused_before_anything_is_sent(connector, monkeypatch):
    monkeypatch.setattr(connector, "_send_json", lambda *_: pytest.fail("nothing may be sent"))
    with pytest.raises(BadDataError):
        connector.create_batch([NewAccount({"email": "x" * 300 + "@contoso.com"})])

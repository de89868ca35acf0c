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

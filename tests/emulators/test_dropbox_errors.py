"""What the SDK gets when a call goes wrong before any route runs: bad input
(400, plain text), bad credentials (401), select headers, rate limits (429) and
server failures (5xx), each as the SDK distinguishes it."""

from __future__ import annotations

import time

import dropbox
import pytest
import requests
from dropbox.exceptions import AuthError, BadInputError, InternalServerError, RateLimitError
from stone.backends.python_rsrc import stone_serializers


def admin_id(dbx) -> str:
    return dbx.team_token_get_authenticated_admin().admin_profile.team_member_id


def member_id(dbx, email) -> str:
    item = dbx.team_members_get_info_v2([dropbox.team.UserSelectorArg.email(email)]).members_info[0]
    return item.get_member_info().profile.team_member_id


def test_it_answers_an_unknown_function_with_400_text(emulator, dbx):
    answer = emulator.call("team/members/frobnicate", {})

    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.text == ('Error in call to API function "team/members/frobnicate": '
                           "Unknown API function: /2/team/members/frobnicate")
    with pytest.raises(BadInputError):
        dbx.request_json_string_with_retry("api", "team/members/frobnicate", "rpc", "{}", "team", None)


def test_it_answers_malformed_json_and_a_missing_argument_with_400(emulator):
    malformed = requests.post(f"{emulator.url}/2/team/members/list_v2", data="{limit: 3",
                              headers={"Authorization": f"Bearer {emulator.admin_token}",
                                       "Content-Type": "application/json"})
    empty = requests.post(f"{emulator.url}/2/team/members/get_info_v2", data="",
                          headers={"Authorization": f"Bearer {emulator.admin_token}"})
    unknown_field = emulator.call("team/members/list_v2", {"limit": 3, "colour": "blue"})

    assert malformed.status_code == 400
    assert malformed.text.endswith("request body: could not decode input as JSON")
    assert empty.status_code == 400 and "request body is empty" in empty.text
    assert unknown_field.status_code == 400 and unknown_field.text.endswith("request body: unknown field 'colour'")


def test_it_refuses_a_wrong_content_type(emulator):
    answer = requests.post(f"{emulator.url}/2/team/get_info", data="null",
                           headers={"Authorization": f"Bearer {emulator.admin_token}",
                                    "Content-Type": "application/x-www-form-urlencoded"})

    assert answer.status_code == 400
    assert 'Bad HTTP "Content-Type" header: "application/x-www-form-urlencoded"' in answer.text


def test_it_needs_a_bearer_authorization_header(emulator):
    missing = requests.post(f"{emulator.url}/2/team/get_info", data="null",
                            headers={"Content-Type": "application/json"})
    basic = requests.post(f"{emulator.url}/2/team/get_info", data="null",
                          headers={"Content-Type": "application/json", "Authorization": "Basic abc"})

    assert missing.status_code == 400
    assert 'Must provide HTTP header "Authorization"' in missing.text
    assert basic.status_code == 400
    assert 'Expecting "Bearer <oauth2-access-token>"' in basic.text


def test_it_answers_an_unknown_token_with_401_invalid_access_token(emulator):
    raw = emulator.call("team/get_info", None, token="sl.not-a-token-we-issued")

    assert raw.status_code == 401
    assert raw.headers["Content-Type"] == "application/json"
    error = stone_serializers.json_compat_obj_decode(dropbox.auth.AuthError_validator, raw.json()["error"],
                                                     strict=True)
    assert error.is_invalid_access_token()
    assert raw.json()["error_summary"].startswith("invalid_access_token/")
    with pytest.raises(AuthError) as refused:
        emulator.team_client("sl.not-a-token-we-issued").team_get_info()
    assert refused.value.error.is_invalid_access_token()
    assert len(refused.value.request_id) == 32


def test_it_checks_the_select_headers(emulator, dbx):
    admin = admin_id(dbx)
    adele = member_id(dbx, "adele.vance@contoso.com")
    lynne = member_id(dbx, "lynne.robbins@contoso.com")

    def select(header, value):
        return emulator.call("team/get_info", None, headers={header: value})

    assert select("Dropbox-API-Select-Admin", admin).status_code == 200
    assert select("Dropbox-API-Select-User", adele).status_code == 200
    assert select("Dropbox-API-Select-User", "adele").status_code == 400
    assert select("Dropbox-API-Select-User", "dbmid:nobody").json()["error"] == {".tag": "invalid_select_user"}
    assert select("Dropbox-API-Select-Admin", adele).json()["error"] == {".tag": "invalid_select_admin"}
    assert select("Dropbox-API-Select-User", lynne).json()["error"] == {".tag": "user_suspended"}
    with pytest.raises(AuthError) as refused:
        dbx.as_admin(adele).auth_token_revoke()
    assert refused.value.error.is_invalid_select_admin()


def test_it_fails_as_the_service_does_when_asked_to(emulator, dbx):
    emulator.configure(fail_rate=1.0)

    with pytest.raises(InternalServerError) as failed:
        dbx.team_get_info()

    assert failed.value.status_code in (500, 503)
    assert failed.value.request_id
    statuses = {emulator.call("team/get_info").status_code for _ in range(12)}
    assert statuses == {500, 503}


def test_it_answers_429_with_the_retry_after_the_sdk_reads(emulator, dbx):
    emulator.configure(rate_limit=1)
    dbx.team_get_info()

    with pytest.raises(RateLimitError) as limited:
        dbx.team_get_info()
    raw = emulator.call("team/get_info")

    assert limited.value.backoff == 1
    assert limited.value.error.reason.is_too_many_requests()
    assert raw.status_code == 429 and raw.headers["Content-Type"] == "application/json"
    body = raw.json()
    assert body["error_summary"].startswith("too_many_requests/")
    error = stone_serializers.json_compat_obj_decode(dropbox.auth.RateLimitError_validator, body["error"], strict=True)
    assert error.retry_after == int(raw.headers["Retry-After"]) == 1


def test_it_lets_the_sdk_retry_after_the_wait_it_was_told(emulator):
    emulator.configure(rate_limit=1)
    dbx = emulator.team_client(max_retries_on_rate_limit=1)
    dbx.team_get_info()
    emulator.reset_stats()

    started = time.monotonic()
    assert dbx.team_get_info().name == "Contoso"

    assert time.monotonic() - started >= 1.0
    stats = emulator.stats()["requests"]
    assert stats["rate_limited"] == 1 and stats["POST /2/team/get_info"] == 2


def test_it_limits_writes_on_their_own(emulator, dbx):
    emulator.configure(write_rate_limit=1)
    dbx.team_members_set_profile_v2(dropbox.team.UserSelectorArg.email("adele.vance@contoso.com"),
                                    new_given_name="Adela")

    with pytest.raises(RateLimitError) as limited:
        dbx.team_members_set_profile_v2(dropbox.team.UserSelectorArg.email("adele.vance@contoso.com"),
                                        new_given_name="Adele")
    for _ in range(5):
        dbx.team_members_list_v2(limit=1)

    assert limited.value.error.reason.is_too_many_write_operations()
    assert limited.value.backoff == 1
    assert emulator.state()["members"][2]["given_name"] == "Adela"

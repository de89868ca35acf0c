"""Short-lived access tokens and their renewal through the SDK: the SDK refreshes
ahead of any call when under five minutes remain, and once after a 401
``expired_access_token``."""

from __future__ import annotations

import datetime
import time

import dropbox
import pytest
import requests
from dropbox.exceptions import AuthError
from stone.backends.python_rsrc import stone_serializers

from emulators.dropbox.signin import sign_in_and_decide

CALLBACK = "http://127.0.0.1:8000/provisioning/dropbox/callback"


@pytest.fixture
def emulator(dropbox_emulator):
    dropbox_emulator.reset("empty")
    return dropbox_emulator


def refresh_token(emulator) -> str:
    """Authorize the app as the admin (with the app secret) and return the refresh token."""
    flow = dropbox.DropboxOAuth2Flow(emulator.app_key, CALLBACK, {}, "csrf", consumer_secret=emulator.app_secret,
                                     token_access_type="offline")
    answer = sign_in_and_decide(emulator.session(), flow.start(), emulator.admin_email, emulator.admin_password)
    code = answer.headers["Location"].split("code=")[1].split("&")[0]
    tokens = requests.post(f"{emulator.url}/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "client_id": emulator.app_key, "client_secret": emulator.app_secret,
    }).json()
    return tokens["refresh_token"]


def token_requests(emulator) -> int:
    return emulator.stats()["requests"].get("POST /oauth2/token", 0)


def test_it_makes_the_sdk_refresh_before_every_call_when_tokens_live_five_minutes_or_less(emulator):
    emulator.configure(token_lifetime=300)
    dbx = emulator.team_client(oauth2_refresh_token=refresh_token(emulator), app_key=emulator.app_key,
                               app_secret=emulator.app_secret)
    emulator.reset_stats()

    for _ in range(3):
        assert dbx.team_get_info().name == "Contoso"

    assert token_requests(emulator) == 3
    assert emulator.stats()["requests"]["POST /2/team/get_info"] == 3


def test_it_lets_the_sdk_reuse_a_token_that_lives_longer(emulator):
    dbx = emulator.team_client(oauth2_refresh_token=refresh_token(emulator), app_key=emulator.app_key,
                               app_secret=emulator.app_secret)
    emulator.reset_stats()

    for _ in range(3):
        dbx.team_get_info()

    assert token_requests(emulator) == 1


def test_it_answers_expired_access_token_and_the_sdk_refreshes_once_and_retries(emulator):
    refresh = refresh_token(emulator)
    emulator.configure(token_lifetime=1)
    expired = requests.post(f"{emulator.url}/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh,
        "client_id": emulator.app_key, "client_secret": emulator.app_secret,
    }).json()
    assert expired["expires_in"] == 1
    time.sleep(1.1)

    raw = emulator.call("team/get_info", None, token=expired["access_token"])
    assert raw.status_code == 401
    assert raw.headers["Content-Type"] == "application/json"
    error = stone_serializers.json_compat_obj_decode(dropbox.auth.AuthError_validator, raw.json()["error"], strict=True)
    assert error.is_expired_access_token()
    assert raw.json()["error_summary"].startswith("expired_access_token/")

    emulator.configure(token_lifetime=14400)
    # The SDK believes the token is good for an hour, so only the 401 makes it refresh.
    dbx = emulator.team_client(
        expired["access_token"], oauth2_refresh_token=refresh, app_key=emulator.app_key,
        app_secret=emulator.app_secret,
        oauth2_access_token_expiration=datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(hours=1),
    )
    emulator.reset_stats()

    assert dbx.team_get_info().name == "Contoso"
    assert token_requests(emulator) == 1
    assert emulator.stats()["requests"]["POST /2/team/get_info"] == 2


def test_it_refuses_an_expired_token_without_a_refresh_token(emulator):
    emulator.configure(token_lifetime=1)
    refresh = refresh_token(emulator)
    token = requests.post(f"{emulator.url}/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh,
        "client_id": emulator.app_key, "client_secret": emulator.app_secret,
    }).json()["access_token"]
    time.sleep(1.1)

    with pytest.raises(AuthError) as refused:
        emulator.team_client(token).team_get_info()

    assert refused.value.error.is_expired_access_token()

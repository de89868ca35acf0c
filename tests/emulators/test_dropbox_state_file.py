"""``--state-file``: the team, its groups and the tokens issued survive a restart."""

from __future__ import annotations

import requests
from dropbox import team as T

from emulators.dropbox.signin import sign_in_and_decide
from emulators.process import free_port

CALLBACK = "http://127.0.0.1:8000/provisioning/dropbox/callback"


def refresh_token(emulator) -> str:
    import dropbox

    flow = dropbox.DropboxOAuth2Flow(emulator.app_key, CALLBACK, {}, "csrf", consumer_secret=emulator.app_secret,
                                     token_access_type="offline")
    answer = sign_in_and_decide(emulator.session(), flow.start(), emulator.admin_email, emulator.admin_password)
    code = answer.headers["Location"].split("code=")[1].split("&")[0]
    return requests.post(f"{emulator.url}/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "client_id": emulator.app_key, "client_secret": emulator.app_secret,
    }).json()["refresh_token"]


def test_it_keeps_the_team_and_its_tokens_across_a_restart(dropbox_emulator, tmp_path):
    state_file = tmp_path / "dropbox.pickle"
    emulator = type(dropbox_emulator)("--seed", "demo", "--state-file", str(state_file))
    with emulator:
        dbx = emulator.team_client()
        added = dbx.team_members_add_v2([T.MemberAddV2Arg("kept@contoso.com", "Kept", "Member",
                                                          member_external_id="aad-kept")])
        dbx.team_groups_create("Survivors", group_external_id="aad-survivors")
        dbx.team_members_suspend(T.UserSelectorArg.email("alex.wilber@contoso.com"))
        refresh = refresh_token(emulator)
        before = emulator.state()
    assert state_file.stat().st_size > 0

    # A fresh port: the one just released may already serve someone else's process.
    emulator.port = free_port()
    with emulator:
        after = emulator.state()
        by_refresh = emulator.team_client(oauth2_refresh_token=refresh, app_key=emulator.app_key,
                                          app_secret=emulator.app_secret)
        kept = by_refresh.team_members_get_info_v2([T.UserSelectorArg.external_id("aad-kept")])

    assert after["members"] == before["members"]
    assert after["groups"] == before["groups"]
    assert after["team"]["team_id"] == before["team"]["team_id"]
    profile = kept.members_info[0].get_member_info().profile
    assert profile.team_member_id == added.get_complete()[0].get_success().profile.team_member_id
    assert next(m for m in after["members"] if m["email"] == "alex.wilber@contoso.com")["status"] == "suspended"
    assert "Survivors" in [g["group_name"] for g in after["groups"]]

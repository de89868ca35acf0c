"""The command line: every flag documented, secrets generated when not given,
and the flags that shape the team taking effect."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests
from dropbox import team as T

from emulators.dropbox.signin import SignInRefused, sign_in
from emulators.process import EmulatorProcess, free_port

FLAGS = (
    "--host", "--port", "--latency-ms", "--rate-limit", "--fail-rate", "--state-file", "--random-seed",
    "--seed", "--team-name", "--licenses", "--auto-accept-seconds", "--write-rate-limit", "--async-job-seconds",
    "--persistent-ids", "--app-key", "--app-secret", "--app-name", "--redirect-uri", "--admin-email",
    "--admin-password", "--member-email", "--member-password", "--admin-token", "--token-lifetime",
)


def test_help_mentions_every_flag():
    help_text = subprocess.run([sys.executable, "-m", "emulators.dropbox", "--help"], capture_output=True,
                               text=True, check=True).stdout

    missing = [flag for flag in FLAGS if flag not in help_text]
    assert missing == []
    assert "8102" in help_text and "Azure AD" in help_text


def test_it_generates_and_prints_the_secrets_it_was_not_given():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-u", "-m", "emulators.dropbox", "--port", str(port), "--seed", "empty"],
                            stdout=subprocess.PIPE, text=True)
    try:
        printed = proc.stdout.readline()
        assert proc.stdout.readline().startswith("dropbox emulator listening")
        generated = dict(zip(printed.split()[3::2], printed.split()[4::2]))
        assert set(generated) == {"--app-secret", "--admin-password", "--member-password"}
        url = f"http://127.0.0.1:{port}"
        authorize = f"{url}/oauth2/authorize?response_type=code&client_id=pportaldemo0001"
        for _ in range(50):
            try:
                requests.get(f"{url}/_emulator/health")
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        consent = sign_in(requests.Session(), authorize, "admin@contoso.com", generated["--admin-password"])
        assert ">Allow</button>" in consent.text
        with pytest.raises(SignInRefused):
            sign_in(requests.Session(), authorize, "admin@contoso.com", "guess")
    finally:
        proc.terminate()
        proc.wait(10)


def test_it_shapes_the_team_from_its_flags():
    with EmulatorProcess("dropbox", "--seed", "empty", "--team-name", "Fabrikam", "--licenses", "3",
                         "--auto-accept-seconds", "0.2", "--admin-token", "team-token-for-this-test",
                         "--app-name", "Provisioning Portal",
                         "--redirect-uri", "https://portal.contoso.com/callback") as emulator:
        import dropbox

        from provisioning.connectors.routing import build_routes, routed_session

        dbx = dropbox.DropboxTeam(
            oauth2_access_token="team-token-for-this-test", max_retries_on_error=0,
            session=routed_session(build_routes(dropbox_api_url=emulator.url, dropbox_web_url=emulator.url)),
        )
        result = dbx.team_members_add_v2([T.MemberAddV2Arg("first@fabrikam.com"), T.MemberAddV2Arg("second@fabrikam.com")])
        assert [r._tag for r in result.get_complete()] == ["success", "team_license_limit"]
        assert result.get_complete()[0].get_success().profile.status.is_invited()
        time.sleep(0.3)
        info = dbx.team_get_info()
        state = emulator.state()
        authorize = f"{emulator.url}/oauth2/authorize?response_type=code&client_id=pportaldemo0001&redirect_uri="
        page = requests.get(authorize + "https://portal.contoso.com/callback").text
        # Once URIs are registered, only they will do, localhost included.
        unregistered = requests.get(authorize + "http://127.0.0.1:8000/callback")

    assert info.name == "Fabrikam" and info.num_licensed_users == 3
    assert {m["email"]: m["status"] for m in state["members"]} == {
        "admin@contoso.com": "active", "member@contoso.com": "active", "first@fabrikam.com": "active",
    }
    assert "Sign in to Dropbox to link with Provisioning Portal" in page
    assert unregistered.status_code == 400 and "Invalid redirect_uri" in unregistered.text

"""Several teams on one emulated Dropbox API (``--teams``), as Dropbox serves many: each admin signs in
to their own team, each token reads and writes its own team only, control routes take ``?team=N``."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import dropbox
import pytest
from dropbox import team as T

from emulators.dropbox.signin import sign_in_and_decide
from emulators.process import EmulatorProcess
from provisioning.connectors.routing import build_routes, routed_session
from provisioning.targets.dropbox.oauth import authorize_flow

APP_KEY = "pportaldemo0001"


@pytest.fixture(scope="module")
def teams():
    with EmulatorProcess("dropbox", "--seed", "empty", "--teams", "3", "--app-secret=s3cret-app",
                         "--admin-password=Adm1n-pass", "--member-password=Memb3r-pass") as emulator:
        yield emulator


def token_of(emulator, admin: str) -> str:
    flow = authorize_flow(redirect_uri="http://127.0.0.1:8000/applications/oauth/dropbox/callback/",
                          session_store={}, app_key=APP_KEY, api_url=emulator.url, web_url=emulator.url)
    answer = sign_in_and_decide(flow.requests_session, flow.start(), admin, "Adm1n-pass")
    return flow.finish(dict(parse_qsl(urlsplit(answer.headers["Location"]).query))).refresh_token


def client(emulator, refresh_token: str) -> dropbox.DropboxTeam:
    session = routed_session(build_routes(dropbox_api_url=emulator.url, dropbox_web_url=emulator.url))
    return dropbox.DropboxTeam(oauth2_refresh_token=refresh_token, app_key=APP_KEY, app_secret="s3cret-app",
                               session=session)


def test_each_admin_reaches_their_own_team(teams):
    first, third = client(teams, token_of(teams, "admin@contoso.com")), client(teams,
                                                                                 token_of(teams, "admin3@contoso.com"))
    assert first.team_get_info().name == "Contoso"
    assert third.team_get_info().name == "Contoso 3"
    assert first.team_get_info().team_id != third.team_get_info().team_id
    assert third.team_token_get_authenticated_admin().admin_profile.email == "admin3@contoso.com"

    third.team_members_add_v2([T.MemberAddV2Arg(member_email="pat@contoso.com", member_given_name="Pat",
                                                member_surname="Lee")])
    emails_3 = {m["email"] for m in teams.control("GET", "state?team=3")["members"]}
    emails_1 = {m["email"] for m in teams.control("GET", "state?team=1")["members"]}
    assert "pat@contoso.com" in emails_3 and "pat@contoso.com" not in emails_1
    listed = {m.profile.email for m in first.team_members_list_v2().members}
    assert listed == {"admin@contoso.com", "member@contoso.com"}


def test_an_admin_of_one_team_is_not_an_account_of_another(teams):
    with pytest.raises(Exception):
        token_of(teams, "admin4@contoso.com")

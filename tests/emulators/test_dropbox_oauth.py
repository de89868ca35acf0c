"""The emulator's OAuth pages and token endpoint, driven as the portal drives
them: the SDK's ``DropboxOAuth2Flow`` builds the authorize URL and exchanges the
code, ``requests`` fills in the sign-in page and presses "Allow" or "Cancel"."""

from __future__ import annotations

import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

import dropbox
import pytest
import requests
from dropbox.exceptions import ApiError, AuthError
from dropbox.oauth import DropboxOAuth2Flow, DropboxOAuth2FlowNoRedirect, NotApprovedException

from emulators.dropbox.signin import SignInRefused, decide, sign_in, sign_in_and_decide

CALLBACK = "http://127.0.0.1:8000/provisioning/dropbox/callback"
CSRF_KEY = "dropbox-auth-csrf-token"


def make_flow(emulator, web_session: dict, **kwargs) -> DropboxOAuth2Flow:
    kwargs.setdefault("use_pkce", True)
    kwargs.setdefault("token_access_type", "offline")
    flow = DropboxOAuth2Flow(emulator.app_key, CALLBACK, web_session, CSRF_KEY, **kwargs)
    flow.requests_session = emulator.session()
    return flow


def start(emulator, **kwargs) -> tuple[str, dict, str | None]:
    """What the portal's "Authorize" button does: the authorize URL, the web session, the PKCE verifier."""
    web_session: dict = {}
    flow = make_flow(emulator, web_session, **kwargs)
    return flow.start(), web_session, flow.code_verifier


def callback_query(answer: requests.Response) -> dict:
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    return dict(parse_qsl(urlsplit(location).query))


def finish(emulator, query: dict, web_session: dict, verifier: str | None, **kwargs):
    # The callback is another request: a new flow, with the verifier restored from the web session.
    flow = make_flow(emulator, web_session, **kwargs)
    flow.code_verifier = verifier
    return flow.finish(query)


def authorize(emulator, email: str, password: str, **kwargs):
    url, web_session, verifier = start(emulator, **kwargs)
    query = callback_query(sign_in_and_decide(emulator.session(), url, email, password))
    return finish(emulator, query, web_session, verifier, **kwargs)


def test_it_completes_the_code_flow_with_pkce(emulator):
    url, web_session, verifier = start(emulator)
    assert "code_challenge_method=S256" in url and "token_access_type=offline" in url

    consent = sign_in(emulator.session(), url, emulator.admin_email, emulator.admin_password)
    assert "Sign in to Dropbox to link with Azure AD" in consent.text
    assert ">Allow</button>" in consent.text and ">Cancel</button>" in consent.text
    query = callback_query(decide(emulator.session(), consent, "Allow"))
    assert query["state"].startswith(web_session[CSRF_KEY])

    result = finish(emulator, query, web_session, verifier)
    team = emulator.state()["team"]
    assert result.access_token.startswith("sl.")
    assert result.refresh_token
    assert result.account_id == team["team_id"]
    assert result.user_id.isdigit()
    assert 14000 < (result.expires_at - datetime.datetime.now(datetime.UTC).replace(tzinfo=None)).total_seconds() <= 14400
    assert "members.write" in result.scope.split()

    dbx = emulator.team_client(result.access_token)
    assert dbx.team_token_get_authenticated_admin().admin_profile.email == emulator.admin_email
    # A PKCE client may refresh with its key alone.
    refreshing = emulator.team_client(oauth2_refresh_token=result.refresh_token, app_key=emulator.app_key)
    assert refreshing.team_get_info().name == "Contoso"


def test_it_answers_the_token_request_with_everything_the_sdk_reads(emulator):
    url, _, verifier = start(emulator)
    query = callback_query(sign_in_and_decide(emulator.session(), url, emulator.admin_email, emulator.admin_password))

    answer = requests.post(f"{emulator.url}/oauth2/token", data={
        "grant_type": "authorization_code", "code": query["code"], "client_id": emulator.app_key,
        "code_verifier": verifier, "redirect_uri": CALLBACK,
    })

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    admin = next(m for m in emulator.state()["members"] if m["email"] == emulator.admin_email)
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope", "uid",
                         "account_id", "team_id"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 14400 and isinstance(body["expires_in"], int)
    assert body["team_id"] == emulator.state()["team"]["team_id"]
    assert body["account_id"].startswith("dbid:") and len(body["account_id"]) == 40
    info = emulator.strict(dropbox.team.members_get_info_v2, {"members": [{".tag": "email", "email": admin["email"]}]})
    assert info.members_info[0].get_member_info().profile.account_id == body["account_id"]


def test_it_exchanges_a_code_with_the_app_secret_instead_of_pkce(emulator):
    result = authorize(emulator, emulator.admin_email, emulator.admin_password,
                       use_pkce=False, consumer_secret=emulator.app_secret)

    assert result.refresh_token
    assert emulator.team_client(result.access_token).team_get_info().team_id == result.account_id


def test_it_accepts_the_app_credentials_in_http_basic(emulator):
    url, _, _ = start(emulator, use_pkce=False, consumer_secret=emulator.app_secret)
    query = callback_query(sign_in_and_decide(emulator.session(), url, emulator.admin_email, emulator.admin_password))

    answer = requests.post(
        f"{emulator.url}/oauth2/token",
        data={"grant_type": "authorization_code", "code": query["code"], "redirect_uri": CALLBACK},
        auth=(emulator.app_key, emulator.app_secret),
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["refresh_token"]


def test_it_redirects_with_access_denied_when_the_admin_presses_cancel(emulator):
    url, web_session, verifier = start(emulator)

    answer = sign_in_and_decide(emulator.session(), url, emulator.admin_email, emulator.admin_password, "Cancel")

    query = callback_query(answer)
    assert query["error"] == "access_denied"
    assert query["error_description"]
    assert query["state"].startswith(web_session[CSRF_KEY])
    assert "code" not in query
    with pytest.raises(NotApprovedException):
        finish(emulator, query, web_session, verifier)


def test_it_refuses_a_redirect_uri_that_is_not_registered(emulator):
    query = urlencode({"response_type": "code", "client_id": emulator.app_key,
                       "redirect_uri": "https://portal.attacker.example/callback", "state": "x" * 24})

    answer = requests.get(f"{emulator.url}/oauth2/authorize?{query}", allow_redirects=False)

    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert "Invalid redirect_uri" in answer.text
    assert "<form" not in answer.text


def test_it_refuses_an_unknown_client_id(emulator):
    query = urlencode({"response_type": "code", "client_id": "notanapp", "redirect_uri": CALLBACK})

    answer = requests.get(f"{emulator.url}/oauth2/authorize?{query}", allow_redirects=False)

    assert answer.status_code == 400
    assert 'Invalid client_id: "notanapp"' in answer.text
    assert "Location" not in answer.headers


def test_it_refuses_a_wrong_password(emulator):
    url, _, _ = start(emulator)

    with pytest.raises(SignInRefused) as refused:
        sign_in(emulator.session(), url, emulator.admin_email, "not-the-password")

    assert "The email or password you entered is incorrect" in refused.value.response.text


def test_it_accepts_a_code_only_once(emulator):
    url, web_session, verifier = start(emulator)
    query = callback_query(sign_in_and_decide(emulator.session(), url, emulator.admin_email, emulator.admin_password))
    finish(emulator, dict(query), dict(web_session), verifier)

    with pytest.raises(requests.HTTPError) as error:
        finish(emulator, query, web_session, verifier)

    assert error.value.response.status_code == 400
    assert error.value.response.json() == {"error": "invalid_grant",
                                           "error_description": "code doesn't exist or has expired"}


def test_it_refuses_a_wrong_code_verifier(emulator):
    url, web_session, _ = start(emulator)
    query = callback_query(sign_in_and_decide(emulator.session(), url, emulator.admin_email, emulator.admin_password))

    with pytest.raises(requests.HTTPError) as error:
        finish(emulator, query, web_session, "a" * 64)

    assert error.value.response.json()["error"] == "invalid_grant"


def test_it_requires_the_redirect_uri_the_code_was_issued_for(emulator):
    url, _, verifier = start(emulator)
    query = callback_query(sign_in_and_decide(emulator.session(), url, emulator.admin_email, emulator.admin_password))

    answer = requests.post(f"{emulator.url}/oauth2/token", data={
        "grant_type": "authorization_code", "code": query["code"], "client_id": emulator.app_key,
        "code_verifier": verifier, "redirect_uri": "http://127.0.0.1:8000/elsewhere",
    })

    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}


def test_it_refuses_a_wrong_app_secret_and_unknown_grant_types(emulator):
    wrong_secret = requests.post(f"{emulator.url}/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": "x" * 40,
        "client_id": emulator.app_key, "client_secret": "wrong",
    })
    unknown_grant = requests.post(f"{emulator.url}/oauth2/token", data={
        "grant_type": "password", "client_id": emulator.app_key, "client_secret": emulator.app_secret,
    })

    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (400, "invalid_client")
    assert (unknown_grant.status_code, unknown_grant.json()["error"]) == (400, "unsupported_grant_type")


def test_it_gives_a_non_admin_a_token_that_team_routes_refuse(emulator):
    result = authorize(emulator, emulator.member_email, emulator.member_password)
    dbx = emulator.team_client(result.access_token)

    with pytest.raises(ApiError) as not_admin:
        dbx.team_token_get_authenticated_admin()
    with pytest.raises(AuthError) as refused:
        dbx.team_members_list_v2()

    assert not_admin.value.error.is_admin_not_active()
    assert refused.value.error.is_invalid_access_token()


def test_it_refuses_a_token_once_its_admin_is_no_longer_admin(emulator):
    result = authorize(emulator, emulator.admin_email, emulator.admin_password)
    dbx = emulator.team_client(result.access_token)
    assert dbx.team_members_list_v2().members

    emulator.control("POST", f"members/{emulator.admin_email}/demote", {})

    with pytest.raises(ApiError) as not_admin:
        dbx.team_token_get_authenticated_admin()
    with pytest.raises(AuthError) as refused:
        dbx.team_members_list_v2()
    assert not_admin.value.error.is_admin_not_active()
    assert refused.value.error.is_invalid_access_token()

    emulator.control("POST", f"members/{emulator.admin_email}/promote", {})
    assert dbx.team_token_get_authenticated_admin().admin_profile.email == emulator.admin_email


def test_it_revokes_every_token_on_request(emulator):
    result = authorize(emulator, emulator.admin_email, emulator.admin_password,
                       use_pkce=False, consumer_secret=emulator.app_secret)
    by_token = emulator.team_client(result.access_token)
    by_refresh = emulator.team_client(oauth2_refresh_token=result.refresh_token, app_key=emulator.app_key,
                                      app_secret=emulator.app_secret)
    long_lived = emulator.team_client()
    for dbx in (by_token, by_refresh, long_lived):
        dbx.team_get_info()

    emulator.control("POST", "tokens/revoke", {})

    for dbx in (by_token, long_lived):
        with pytest.raises(AuthError) as refused:
            dbx.team_get_info()
        assert refused.value.error.is_invalid_access_token()
    refresh = requests.post(f"{emulator.url}/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": result.refresh_token,
        "client_id": emulator.app_key, "client_secret": emulator.app_secret,
    })
    assert refresh.status_code == 400
    assert refresh.json() == {"error": "invalid_grant", "error_description": "refresh token is invalid or revoked"}
    with pytest.raises(AuthError) as refused:
        # The SDK turns a refused refresh (400 invalid_grant) into an AuthError.
        by_refresh.refresh_access_token()
    assert refused.value.error.is_invalid_access_token()


def test_it_revokes_the_calling_token_through_the_api(emulator):
    result = authorize(emulator, emulator.admin_email, emulator.admin_password)
    dbx = emulator.team_client(result.access_token)
    admin_id = dbx.team_token_get_authenticated_admin().admin_profile.team_member_id

    # A user route: the team token acts as its admin.
    dbx.as_admin(admin_id).auth_token_revoke()

    with pytest.raises(AuthError):
        dbx.team_get_info()
    assert emulator.team_client().team_get_info().name == "Contoso"


def test_it_shows_the_code_when_the_app_has_no_redirect_uri(emulator):
    flow = DropboxOAuth2FlowNoRedirect(emulator.app_key, consumer_secret=emulator.app_secret,
                                       token_access_type="offline")
    flow.requests_session = emulator.session()

    answer = sign_in_and_decide(emulator.session(), flow.start(), emulator.admin_email, emulator.admin_password)

    assert answer.status_code == 200
    assert "Access code generated" in answer.text
    code = answer.text.split('<code id="code">')[1].split("</code>")[0]
    result = flow.finish(code)
    assert emulator.team_client(result.access_token).team_get_info().team_id == result.account_id


def test_it_issues_a_new_access_token_for_a_refresh_token(emulator):
    result = authorize(emulator, emulator.admin_email, emulator.admin_password)

    answer = requests.post(f"{emulator.url}/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": result.refresh_token, "client_id": emulator.app_key,
    })

    body = answer.json()
    assert answer.status_code == 200
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["access_token"] != result.access_token
    assert emulator.team_client(body["access_token"]).team_get_info().name == "Contoso"
    assert emulator.team_client(result.access_token).team_get_info().name == "Contoso"


def test_it_limits_a_token_to_the_scopes_asked_for(emulator):
    result = authorize(emulator, emulator.admin_email, emulator.admin_password,
                       scope=["team_info.read", "members.read"])
    dbx = emulator.team_client(result.access_token)

    assert dbx.team_members_list_v2().members
    with pytest.raises(AuthError) as refused:
        dbx.team_groups_list()

    assert refused.value.error.is_missing_scope()
    assert refused.value.error.get_missing_scope().required_scope == "groups.read"
    assert sorted(result.scope.split()) == ["members.read", "team_info.read"]

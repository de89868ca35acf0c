"""The authorization-code flow for signing people in: msal's auth URI, the
sign-in page, the redirect with a code, and the token exchange with PKCE."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

REDIRECT_URI = "http://localhost:8000/accounts/microsoft/login/callback/"

# These tests read the code from the redirect's query string, msal's default; it recommends form_post.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")


@pytest.fixture(autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


@pytest.fixture
def browser(graph_emulator):
    """A browser: keeps cookies, does not follow redirects to the portal."""
    return graph_emulator.session()


def open_sign_in_page(browser, auth_uri: str) -> tuple[str, str, str]:
    page = browser.get(auth_uri, allow_redirects=False)
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    context = re.search(r'name="ctx" value="([^"]+)"', page.text).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    return page.text, f"https://login.microsoftonline.com{action}", context


def sign_in(browser, action: str, context: str, login: str, password: str):
    return browser.post(action, data={"ctx": context, "login": login, "passwd": password}, allow_redirects=False)


def redirect_query(answer) -> dict:
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_a_user_signs_in_and_the_portal_gets_tokens(graph_emulator, browser):
    app = graph_emulator.msal_app()
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, login_hint="admin@contoso.com")
    assert flow["auth_uri"].startswith(f"{graph_emulator.authority}/oauth2/v2.0/authorize?")

    page, action, context = open_sign_in_page(browser, flow["auth_uri"])
    assert "Sign in" in page and 'value="admin@contoso.com"' in page
    response = redirect_query(sign_in(browser, action, context, "admin@contoso.com", graph_emulator.user_password))
    assert response["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, response)

    assert "access_token" in result, result
    claims = result["id_token_claims"]
    assert claims["preferred_username"] == "admin@contoso.com"
    assert claims["name"] == "Dana Admin"
    assert claims["tid"] == graph_emulator.tenant_id
    assert claims["aud"] == graph_emulator.client_id
    assert claims["iss"] == f"https://login.microsoftonline.com/{graph_emulator.tenant_id}/v2.0"
    admin = graph_emulator.graph("GET", "/v1.0/users/admin@contoso.com").json()
    assert claims["oid"] == admin["id"]
    assert "refresh_token" in result
    me = graph_emulator.graph("GET", "/v1.0/me", token=result["access_token"]).json()
    assert me["userPrincipalName"] == "admin@contoso.com"


def test_form_post_answers_with_a_page_that_posts_the_code(graph_emulator, browser):
    app = graph_emulator.msal_app()
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post")
    _, action, context = open_sign_in_page(browser, flow["auth_uri"])

    answer = sign_in(browser, action, context, "admin@contoso.com", graph_emulator.user_password)

    assert answer.status_code == 200
    assert f'action="{REDIRECT_URI}"' in answer.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', answer.text))
    assert fields["state"] == flow["state"]
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, fields)


def test_a_refresh_token_gets_new_tokens(graph_emulator, browser):
    app = graph_emulator.msal_app()
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    _, action, context = open_sign_in_page(browser, flow["auth_uri"])
    first = app.acquire_token_by_auth_code_flow(
        flow, redirect_query(sign_in(browser, action, context, "adele.vance@contoso.com",
                                     graph_emulator.user_password)))

    account = app.get_accounts()[0]
    refreshed = app.acquire_token_silent(["User.Read"], account=account, force_refresh=True)

    assert account["username"] == "adele.vance@contoso.com"
    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != first["access_token"]


def test_a_wrong_password_shows_an_error_on_the_page(graph_emulator, browser):
    flow = graph_emulator.msal_app().initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    _, action, context = open_sign_in_page(browser, flow["auth_uri"])

    answer = sign_in(browser, action, context, "admin@contoso.com", "Wrong-Passw0rd")

    assert answer.status_code == 200
    assert "Your account or password is incorrect." in answer.text
    assert "Location" not in answer.headers
    retry = sign_in(browser, action, context, "admin@contoso.com", graph_emulator.user_password)
    assert "code" in redirect_query(retry)


def test_an_unknown_user_and_a_disabled_user_cannot_sign_in(graph_emulator, browser):
    disabled = graph_emulator.get_all("/v1.0/users?$filter=accountEnabled eq false&$select=userPrincipalName")[0]
    flow = graph_emulator.msal_app().initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    _, action, context = open_sign_in_page(browser, flow["auth_uri"])

    unknown = sign_in(browser, action, context, "nobody@contoso.com", graph_emulator.user_password)
    locked = sign_in(browser, action, context, disabled["userPrincipalName"], graph_emulator.user_password)

    assert "This username may be incorrect." in unknown.text
    assert "Your account has been locked." in locked.text


def test_a_user_created_through_graph_signs_in_with_its_own_password(graph_emulator, browser):
    graph_emulator.graph("POST", "/v1.0/users", json={
        "accountEnabled": True, "displayName": "Nestor Wilke", "mailNickname": "nestorw",
        "userPrincipalName": "nestor.wilke@contoso.com", "passwordProfile": {"password": "Xy7!secure-Passw0rd"}})
    flow = graph_emulator.msal_app().initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    _, action, context = open_sign_in_page(browser, flow["auth_uri"])

    refused = sign_in(browser, action, context, "nestor.wilke@contoso.com", graph_emulator.user_password)
    accepted = sign_in(browser, action, context, "nestor.wilke@contoso.com", "Xy7!secure-Passw0rd")

    assert "Your account or password is incorrect." in refused.text
    assert "code" in redirect_query(accepted)


def test_the_code_exchange_checks_pkce_and_single_use(graph_emulator, browser):
    app = graph_emulator.msal_app()
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    _, action, context = open_sign_in_page(browser, flow["auth_uri"])
    response = redirect_query(sign_in(browser, action, context, "admin@contoso.com", graph_emulator.user_password))

    tampered = app.acquire_token_by_auth_code_flow(dict(flow, code_verifier="x" * 43), response)
    good = graph_emulator.msal_app().acquire_token_by_auth_code_flow(flow, response)
    again = graph_emulator.msal_app().acquire_token_by_auth_code_flow(flow, response)

    assert tampered["error"] == "invalid_grant"
    assert tampered["error_codes"] == [501481]
    assert "access_token" in good, good
    assert again["error"] == "invalid_grant"
    assert again["error_codes"] == [54005]


def test_prompt_none_without_a_session_redirects_with_login_required(graph_emulator, browser):
    flow = graph_emulator.msal_app().initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI,
                                                              prompt="none")

    response = redirect_query(browser.get(flow["auth_uri"], allow_redirects=False))

    assert response["error"] == "login_required"
    assert response["error_description"].startswith("AADSTS50058:")
    assert response["state"] == flow["state"]


def test_an_unknown_client_gets_an_error_page(graph_emulator, browser):
    answer = browser.get(f"{graph_emulator.authority}/oauth2/v2.0/authorize?client_id=aaaaaaaa-0000-4000-8000-"
                         f"000000000000&response_type=code&redirect_uri={REDIRECT_URI}&scope=openid",
                         allow_redirects=False)

    assert answer.status_code == 400
    assert "AADSTS700016" in answer.text

"""The token side: msal gets application tokens for Microsoft Graph, and the
identity platform's errors come back as the real service words them."""

from __future__ import annotations

import base64
import json
import time

import msal
import pytest

from emulators.demo import DEMO_TENANT_ID

GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture(autouse=True)
def empty_tenant(graph_emulator):
    graph_emulator.reset("empty")


def test_it_gives_msal_an_application_token(graph_emulator):
    result = graph_emulator.msal_app().acquire_token_for_client(GRAPH_DEFAULT)

    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3599
    assert result["token_source"] == "identity_provider"
    claims = claims_of(result["access_token"])
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["iss"] == f"https://sts.windows.net/{DEMO_TENANT_ID}/"
    assert claims["tid"] == DEMO_TENANT_ID
    assert claims["appid"] == graph_emulator.client_id
    assert claims["idtyp"] == "app"
    assert "User.Read.All" in claims["roles"] and "AppRoleAssignment.ReadWrite.All" in claims["roles"]
    assert claims["exp"] - time.time() == pytest.approx(3599, abs=5)
    assert claims["iat"] <= time.time()


def test_it_answers_a_second_call_from_the_msal_cache(graph_emulator):
    app = graph_emulator.msal_app()
    first = app.acquire_token_for_client(GRAPH_DEFAULT)
    second = app.acquire_token_for_client(GRAPH_DEFAULT)

    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]


def test_it_refuses_a_wrong_secret_with_the_real_error_body(graph_emulator):
    result = graph_emulator.msal_app(secret="not-the-secret").acquire_token_for_client(GRAPH_DEFAULT)

    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith(
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client "
        f"secret value, not the client secret ID, for a secret added to app '{graph_emulator.client_id}'.")
    assert "\r\nTrace ID: " in result["error_description"]
    assert set(result) >= {"timestamp", "trace_id", "correlation_id", "error_uri"}


def test_it_answers_401_to_a_wrong_secret(graph_emulator):
    answer = graph_emulator.session().post(
        f"{graph_emulator.authority}/oauth2/v2.0/token",
        data={"client_id": graph_emulator.client_id, "client_secret": "wrong", "grant_type": "client_credentials",
              "scope": GRAPH_DEFAULT[0]},
    )

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_it_refuses_an_unknown_client_as_unauthorized_client(graph_emulator):
    answer = graph_emulator.session().post(
        f"{graph_emulator.authority}/oauth2/v2.0/token",
        data={"client_id": "00000000-1111-2222-3333-444444444444", "client_secret": "x",
              "grant_type": "client_credentials", "scope": GRAPH_DEFAULT[0]},
    )

    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "unauthorized_client"
    assert body["error_codes"] == [700016]
    assert "Application with identifier '00000000-1111-2222-3333-444444444444' was not found in the directory" \
        in body["error_description"]


def test_it_refuses_a_scope_without_default_suffix(graph_emulator):
    result = graph_emulator.msal_app().acquire_token_for_client(["https://graph.microsoft.com/User.Read.All"])

    assert result["error"] == "invalid_scope"
    assert result["error_codes"] == [1002012]
    assert "Client credential flows must have a scope value with /.default suffixed" in result["error_description"]


def test_it_refuses_an_unknown_resource(graph_emulator):
    result = graph_emulator.msal_app().acquire_token_for_client(["https://example.invalid/.default"])

    assert result["error"] == "invalid_resource"
    assert result["error_codes"] == [500011]
    assert "The resource principal named https://example.invalid was not found" in result["error_description"]


def test_it_publishes_https_endpoints_on_the_real_host(graph_emulator):
    answer = graph_emulator.session().get(f"{graph_emulator.authority}/v2.0/.well-known/openid-configuration")

    config = answer.json()
    assert answer.status_code == 200
    assert config["token_endpoint"] == f"https://login.microsoftonline.com/{DEMO_TENANT_ID}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == \
        f"https://login.microsoftonline.com/{DEMO_TENANT_ID}/oauth2/v2.0/authorize"
    assert config["issuer"] == f"https://login.microsoftonline.com/{DEMO_TENANT_ID}/v2.0"
    keys = graph_emulator.session().get(config["jwks_uri"]).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["kid"]


def test_it_refuses_discovery_for_an_unknown_tenant(graph_emulator):
    answer = graph_emulator.session().get(
        "https://login.microsoftonline.com/no-such-tenant.example/v2.0/.well-known/openid-configuration")

    body = answer.json()
    assert answer.status_code == 400
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002: Tenant 'no-such-tenant.example' not found.")
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        msal.ConfidentialClientApplication(
            graph_emulator.client_id, authority="https://login.microsoftonline.com/no-such-tenant.example",
            client_credential="x", http_client=graph_emulator.session())


def test_it_issues_tokens_with_the_configured_lifetime(graph_emulator):
    graph_emulator.configure(token_lifetime=600)

    result = graph_emulator.msal_app().acquire_token_for_client(GRAPH_DEFAULT)

    assert result["expires_in"] == 600
    assert claims_of(result["access_token"])["exp"] - time.time() == pytest.approx(600, abs=5)


def test_it_does_not_throttle_the_token_endpoint(graph_emulator):
    graph_emulator.configure(rate_limit=1)

    results = [graph_emulator.msal_app().acquire_token_for_client(GRAPH_DEFAULT) for _ in range(5)]

    assert all("access_token" in result for result in results)

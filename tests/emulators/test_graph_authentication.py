"""Graph refuses requests without a valid bearer token of this tenant, with
401 InvalidAuthenticationToken as Graph words it, and refuses calls the
application has no permission for with 403."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest


@pytest.fixture(autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


def assert_401(answer, message: str) -> None:
    assert answer.status_code == 401, answer.text
    error = answer.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"] == message
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm=""')


def forged(claims: dict, key: bytes = b"some other key") -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signing_input = part({"typ": "JWT", "alg": "HS256"}) + "." + part(claims)
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def test_it_refuses_a_request_without_a_token(graph_emulator):
    answer = graph_emulator.session().get("https://graph.microsoft.com/v1.0/users")

    assert_401(answer, "Access token is empty.")


def test_it_refuses_a_garbage_token(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/users", token="not-a-jwt")

    assert_401(answer, "CompactToken parsing failed with error code: 80049217")


def test_it_refuses_a_token_signed_by_someone_else(graph_emulator):
    claims = {"aud": "https://graph.microsoft.com", "tid": graph_emulator.tenant_id, "appid": graph_emulator.client_id,
              "roles": ["User.Read.All"], "iat": int(time.time()), "exp": int(time.time()) + 3600}

    answer = graph_emulator.graph("GET", "/v1.0/users", token=forged(claims))

    assert_401(answer, "Access token validation failure.")


def test_it_refuses_a_token_whose_signature_was_altered(graph_emulator):
    head, payload, signature = graph_emulator.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"].append("Directory.ReadWrite.All")
    altered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    answer = graph_emulator.graph("GET", "/v1.0/users", token=f"{head}.{altered}.{signature}")

    assert_401(answer, "Access token validation failure.")


def test_it_refuses_an_expired_token(graph_emulator):
    graph_emulator.configure(token_lifetime=1)
    token = graph_emulator.token()
    assert graph_emulator.graph("GET", "/v1.0/users?$top=1", token=token).status_code == 200

    time.sleep(1.2)
    answer = graph_emulator.graph("GET", "/v1.0/users?$top=1", token=token)

    assert_401(answer, "Lifetime validation failed, the token is expired.")


def test_msal_fetches_a_new_token_once_the_old_one_is_near_expiry(graph_emulator):
    graph_emulator.configure(token_lifetime=200)
    app = graph_emulator.msal_app()
    first = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    second = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])

    # Under five minutes left counts as expired for msal: it asks again.
    assert second["token_source"] == "identity_provider"
    assert second["access_token"] != first["access_token"]


def test_it_echoes_the_client_request_id(graph_emulator):
    answer = graph_emulator.graph("GET", "/v1.0/users/nobody@contoso.com",
                                  headers={"client-request-id": "6a8a4c54-7f25-4f51-9f35-5d4c8e8f1d11"})

    assert answer.status_code == 404
    assert answer.headers["client-request-id"] == "6a8a4c54-7f25-4f51-9f35-5d4c8e8f1d11"
    assert answer.json()["error"]["innerError"]["client-request-id"] == "6a8a4c54-7f25-4f51-9f35-5d4c8e8f1d11"
    assert answer.json()["error"]["innerError"]["request-id"] == answer.headers["request-id"]


def test_it_refuses_calls_the_application_has_no_permission_for(graph_emulator):
    graph_emulator.configure(permissions=["User.Read.All"])
    token = graph_emulator.token()

    users = graph_emulator.graph("GET", "/v1.0/users?$top=1", token=token)
    groups = graph_emulator.graph("GET", "/v1.0/groups", token=token)
    create = graph_emulator.graph("POST", "/v1.0/servicePrincipals", token=token,
                                  json={"appId": "c3e8a1f4-2b6d-4f7e-9a0b-5d4c3b2a1f0e"})

    assert users.status_code == 200
    for answer in (groups, create):
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "Authorization_RequestDenied"
        assert answer.json()["error"]["message"] == "Insufficient privileges to complete the operation."

"""--state-file keeps the tenant across restarts, and with it the signing key,
so tokens and delta links a client holds stay valid."""

from __future__ import annotations

import secrets

import msal

from emulators.demo import DEMO_CLIENT_ID, DEMO_TENANT_ID
from emulators.process import EmulatorProcess
from provisioning.connectors.routing import build_routes, routed_session


def start(state_file, secret: str, seed: str) -> EmulatorProcess:
    return EmulatorProcess("graph", "--seed", seed, "--state-file", str(state_file),
                           f"--client-secret={secret}", "--user-password=Pw-x9Y8z7W6v5U4").start()


def test_it_keeps_the_tenant_across_a_restart(tmp_path):
    state_file = tmp_path / "graph.state"
    secret = secrets.token_urlsafe(24)

    first = start(state_file, secret, "demo")
    try:
        session = routed_session(build_routes(entra_login_url=first.url, graph_url=first.url))
        app = msal.ConfidentialClientApplication(DEMO_CLIENT_ID, client_credential=secret, http_client=session,
                                                 authority=f"https://login.microsoftonline.com/{DEMO_TENANT_ID}")
        token = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        delta_link = session.get("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=latest",
                                 headers=headers).json()["@odata.deltaLink"]
        created = session.post("https://graph.microsoft.com/v1.0/users", headers=headers, json={
            "accountEnabled": True, "displayName": "Kept Across Restarts", "mailNickname": "kept",
            "userPrincipalName": "kept@contoso.com", "passwordProfile": {"password": "Xy7!secure-Passw0rd"}})
        assert created.status_code == 201
    finally:
        first.stop()
    assert state_file.stat().st_size > 0

    # The seed argument is ignored when the file exists.
    second = start(state_file, secret, "empty")
    try:
        session = routed_session(build_routes(entra_login_url=second.url, graph_url=second.url))
        user = session.get("https://graph.microsoft.com/v1.0/users/kept@contoso.com", headers=headers)
        assert user.status_code == 200
        assert user.json()["displayName"] == "Kept Across Restarts"
        assert second.state()["users"] == 201
        changes = session.get(delta_link.replace(first.url, second.url), headers=headers).json()
        assert [item["displayName"] for item in changes["value"]] == ["Kept Across Restarts"]
    finally:
        second.stop()

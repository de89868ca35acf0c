"""Entra access tokens for the API: a script gets one with msal from the Graph emulator exactly as for Graph
(client credentials, scope api://<client id>/.default), and the API maps its app roles to portal roles. A
token of another tenant, for another resource, expired, or signed by another key is refused in Graph's
error shape."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from emulators.graph.catalog import PORTAL_ROLE_ADMINISTRATOR, PORTAL_ROLE_READER
from portal.entra import views as entra_views
from provisioning.constants import AuditActivity
from provisioning.models import AuditEvent

from .conftest import Api, graph_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal_app(services, settings):
    graph = services[0]
    settings.ENTRA_SIGN_IN_CLIENT_ID = graph.client_id
    entra_views._jwks.clear()
    sp = graph.graph("GET", f"/v1.0/servicePrincipals?$filter=appId eq '{graph.client_id}'").json()["value"][0]
    return graph, sp


def app_token(graph, sp, role: str | None) -> str:
    if role:
        answer = graph.graph("POST", f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo", json={
            "principalId": sp["id"], "resourceId": sp["id"], "appRoleId": role})
        assert answer.status_code == 201, answer.text
    result = graph.msal_app().acquire_token_for_client([f"api://{graph.client_id}/.default"])
    return result["access_token"]


def jobs_path(application) -> str:
    return f"/servicePrincipals/{application.service_principal_id}/synchronization/jobs"


def test_an_application_with_the_administrator_role_starts_a_job(client, portal_app, application,
                                                                  django_capture_on_commit_callbacks):
    from .test_jobs import _configured

    graph, sp = portal_app
    _configured(application)
    api = Api(client, app_token(graph, sp, PORTAL_ROLE_ADMINISTRATOR))

    listed = api.get(jobs_path(application))
    assert listed.status_code == 200, listed.content
    job_id = listed.json()["value"][0]["id"]
    with django_capture_on_commit_callbacks():
        started = api.post(f"{jobs_path(application)}/{job_id}/start")

    assert started.status_code == 204, started.content
    event = AuditEvent.objects.get(activity=AuditActivity.START)
    assert event.actor_display == f'app:{sp["id"]} (via Entra application "{graph.client_id}")'


def test_an_application_with_the_reader_role_reads_but_cannot_start(client, portal_app, application):
    graph, sp = portal_app
    api = Api(client, app_token(graph, sp, PORTAL_ROLE_READER))

    listed = api.get(jobs_path(application))
    assert listed.status_code == 200
    job_id = listed.json()["value"][0]["id"]
    graph_error(api.post(f"{jobs_path(application)}/{job_id}/start"), 403)


def test_an_application_without_a_role_is_refused(client, portal_app, application):
    graph, sp = portal_app
    graph_error(Api(client, app_token(graph, sp, None)).get(jobs_path(application)), 403)


def test_a_graph_token_is_not_a_token_for_the_portal(client, portal_app, application):
    graph, _ = portal_app
    token = graph.msal_app().acquire_token_for_client(["https://graph.microsoft.com/.default"])["access_token"]
    graph_error(Api(client, token).get(jobs_path(application)), 401, "InvalidAuthenticationToken")


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def own_keys(monkeypatch, settings):
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    keys = jwt.PyJWKSet.from_dict({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    monkeypatch.setattr(entra_views, "_fetch_keys", lambda url: keys)
    entra_views._jwks.clear()
    settings.ENTRA_TENANT_ID = "5f0c3e52-8a61-4d3b-9c2e-7a4b1d6e8f20"
    settings.ENTRA_SIGN_IN_CLIENT_ID = "1b7e4c2a-3d5f-4e6a-8b9c-0d1e2f3a4b5c"
    yield settings
    entra_views._jwks.clear()


def signed(settings, key=KEY, **overrides) -> str:
    now = int(time.time())
    claims = {"aud": f"api://{settings.ENTRA_SIGN_IN_CLIENT_ID}", "iss": f"https://sts.windows.net/"
              f"{settings.ENTRA_TENANT_ID}/", "iat": now, "nbf": now, "exp": now + 3600,
              "tid": settings.ENTRA_TENANT_ID, "oid": str(uuid.uuid4()), "roles": ["Provisioning.Reader"],
              "appid": "automation"}
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256",
                      headers={"kid": "k1"})


@pytest.mark.parametrize("overrides, message", [
    ({"tid": "0b2f7c1e-3a4d-4e5f-8a9b-1c2d3e4f5a6b"}, "The access token was issued by another tenant."),
    ({"iss": "https://login.microsoftonline.com/common/v2.0"}, "The access token was issued by another tenant."),
    ({"aud": "https://graph.microsoft.com"}, "The access token was issued for another resource than the portal's API."),
    ({"exp": int(time.time()) - 600}, "The access token has expired."),
], ids=["another tenant", "another issuer", "another audience", "expired"])
def test_it_refuses_a_token_that_is_not_the_tenants_for_the_portal(client, own_keys, application, overrides,
                                                                   message):
    error = graph_error(Api(client, signed(own_keys, **overrides)).get(jobs_path(application)), 401,
                        "InvalidAuthenticationToken")
    assert error["message"] == message


def test_it_refuses_a_token_signed_by_another_key(client, own_keys, application):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    graph_error(Api(client, signed(own_keys, key=other)).get(jobs_path(application)), 401)


def test_a_v1_token_with_the_reader_role_reads(client, own_keys, application):
    assert Api(client, signed(own_keys)).get(jobs_path(application)).status_code == 200


def test_a_delegated_token_acts_as_the_person_who_signed_in(client, own_keys, application, alice):
    from allauth.socialaccount.models import SocialAccount

    oid = str(uuid.uuid4())
    SocialAccount.objects.create(user=alice, provider="entra", uid=oid, extra_data={})
    api = Api(client, signed(own_keys, oid=oid, scp="Provisioning.ReadWrite", roles=None))
    listed = api.get(jobs_path(application))
    assert listed.status_code == 200
    stranger = Api(client, signed(own_keys, scp="Provisioning.ReadWrite", roles=None))
    error = graph_error(stranger.get(jobs_path(application)), 401)
    assert "sign in to the portal with Microsoft once" in error["message"]

"""The OpenAPI 3 description and its browsable docs: assets from the drf-spectacular-sidecar package, served
by the portal, and a page that runs under the portal's Content-Security-Policy unchanged."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_description_lists_every_resource(alice_api):
    answer = alice_api.get("/openapi.json")
    assert answer.status_code == 200
    description = answer.json()
    assert description["openapi"].startswith("3.")
    paths = set(description["paths"])
    job = "/api/v1.0/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}"
    assert {"/api/v1.0/servicePrincipals/{sp_id}/synchronization/jobs", job, f"{job}/start", f"{job}/pause",
            f"{job}/restart", f"{job}/provisionOnDemand", f"{job}/validateCredentials", f"{job}/schema",
            "/api/v1.0/auditLogs/provisioning", "/api/v1.0/auditLogs/directoryAudits"} <= paths
    assert description["components"]["securitySchemes"]["personalToken"]["scheme"] == "bearer"


def test_the_description_needs_a_token_or_a_session(client, alice):
    assert client.get("/api/v1.0/openapi.json").status_code == 401
    client.force_login(alice)
    assert client.get("/api/v1.0/openapi.json").status_code == 200


def test_the_docs_page_runs_under_the_portals_policy(alice_client):
    page = alice_client.get("/api/v1.0/docs/")
    assert page.status_code == 200
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
    html = page.content.decode()
    # nothing inline: every script and style is a file of the portal's own origin
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) and "<style" not in html and " style=" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in s for s in sources)
    assert all(s.startswith("/") for s in sources), sources
    script = next(s for s in sources if "script" in s and "docs" in s).replace("&amp;", "&")
    init = alice_client.get(script)
    assert init.status_code == 200 and init["Content-Type"].startswith("application/javascript")
    assert "/api/v1.0/openapi.json" in init.content.decode()
    for source in sources:
        if source.startswith("/static/"):
            assert alice_client.get(source).status_code == 200, source


def test_the_docs_page_is_for_signed_in_users(client, charlie):
    answer = client.get("/api/v1.0/docs/")
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")

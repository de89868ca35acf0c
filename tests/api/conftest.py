"""Calling the API as a script does: a personal token of alice (administrator) or bob (reader), JSON in and
out, and Graph's error shape checked on every refusal."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.api.models import ApiToken


def issue(user, *, scope: str = "read_write", days: int = 30, name: str = "script") -> str:
    return ApiToken.issue(user, name=name, scope=scope, expires_at=timezone.now() + timedelta(days=days))[1]


class Api:
    """A test client that sends a bearer token and JSON."""

    def __init__(self, client, token: str | None):
        self.client, self.token = client, token

    def _headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, params: dict | None = None):
        return self.client.get(f"/api/v1.0{path}", params or {}, **self._headers())

    def post(self, path: str, body=None):
        data = "" if body is None else json.dumps(body)
        return self.client.post(f"/api/v1.0{path}", data, content_type="application/json", **self._headers())

    def put(self, path: str, body):
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.put(f"/api/v1.0{path}", data, content_type="application/json", **self._headers())


def graph_error(response, status: int, code: str | None = None) -> dict:
    """The answer is Graph's error shape with ``status`` (and ``code``); its ``error`` object."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "innerError"}
    assert error["innerError"]["request-id"] == response["X-Request-ID"]
    assert error["innerError"]["date"].endswith("Z")
    if code:
        assert error["code"] == code, error
    return error


@pytest.fixture
def alice_api(client, alice):
    return Api(client, issue(alice))


@pytest.fixture
def bob_api(client, bob):
    return Api(client, issue(bob, scope="read"))


@pytest.fixture
def alice_read_api(client, alice):
    return Api(client, issue(alice, scope="read", name="read-only"))


def job_path(job) -> str:
    return f"/servicePrincipals/{job.application.service_principal_id}/synchronization/jobs/{job.job_id}"

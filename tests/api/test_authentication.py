"""Who may call the API: a personal token, neither expired nor revoked, of a user with a portal role;
answers 401/403/429 in Graph's shape; the portal's session is not a way in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.api.models import ApiToken, hash_secret
from tests.api.conftest import Api, graph_error, issue, job_path

pytestmark = pytest.mark.django_db


def test_it_stores_only_the_hash_of_a_token(alice):
    row, token = ApiToken.issue(alice, name="ci", scope="read", expires_at=timezone.now() + timedelta(days=1))
    assert token.startswith("ppat_" + row.key_id + "_") and len(token) > 50
    stored = ApiToken.objects.filter(pk=row.pk).values().get()
    assert token not in str(stored) and stored["secret_hash"] == hash_secret(token)


@pytest.mark.parametrize("header, words", [
    (None, "Access token is empty"),
    ("Bearer", "The Authorization header must be: Bearer <token>."),
    ("Bearer ppat_000000000000_nothing", "The access token is not valid."),
    ("Basic YWxpY2U6cGFzc3dvcmQ=", "Access token is empty"),
    # not a personal token: left to the Entra access-token class (tests/api/test_entra_tokens.py), which refuses it
    ("Bearer eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2ln", "Entra access tokens"),
])
def test_it_refuses_calls_without_a_valid_token(client, application, header, words):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    answer = client.get("/api/v1.0/auditLogs/provisioning", **extra)
    error = graph_error(answer, 401, "InvalidAuthenticationToken")
    assert words in error["message"]
    assert answer["WWW-Authenticate"].startswith("Bearer")


def test_a_changed_secret_is_refused(client, alice):
    token = issue(alice)
    answer = Api(client, token[:-4] + "AAAA").get("/auditLogs/provisioning")
    assert graph_error(answer, 401)["message"] == "The access token is not valid."


def test_expired_and_revoked_tokens_are_refused(client, alice, application):
    token = issue(alice)
    row = ApiToken.objects.get()
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert graph_error(Api(client, token).get("/auditLogs/provisioning"), 401)["message"] == \
        "The access token has expired."
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() + timedelta(days=1),
                                              revoked_at=timezone.now())
    error = graph_error(Api(client, token).post(job_path(application.job) + "/pause"), 401)
    assert error["message"] == "The access token was revoked."
    application.job.refresh_from_db()
    assert not application.job.stop_requested


def test_a_disabled_owner_or_one_without_a_role_is_refused(client, alice, charlie, application):
    token = issue(charlie)
    error = graph_error(Api(client, token).get("/auditLogs/provisioning"), 403, "Authorization_RequestDenied")
    assert "Provisioning readers or Provisioning administrators" in error["message"]
    token = issue(alice)
    alice.is_active = False
    alice.save()
    graph_error(Api(client, token).get("/auditLogs/provisioning"), 401)


def test_a_signed_in_session_is_not_a_way_into_the_api(alice_client, application):
    graph_error(alice_client.post("/api/v1.0" + job_path(application.job) + "/pause"), 401)
    application.job.refresh_from_db()
    assert not application.job.stop_requested


def test_it_records_when_a_token_was_last_used(alice_api, application):
    row = ApiToken.objects.get()
    assert row.last_used_at is None
    alice_api.get("/auditLogs/provisioning")
    row.refresh_from_db()
    assert row.last_used_at is not None and timezone.now() - row.last_used_at < timedelta(seconds=10)


def test_each_token_has_its_own_rate_limit(client, alice, settings):
    settings.API_RATE_LIMIT = "3/min"
    first, second = Api(client, issue(alice, name="one")), Api(client, issue(alice, name="two"))
    for _ in range(3):
        assert first.get("/auditLogs/provisioning").status_code == 200
    answer = first.get("/auditLogs/provisioning")
    error = graph_error(answer, 429, "TooManyRequests")
    assert "Retry after" in error["message"] and int(answer["Retry-After"]) > 0
    assert second.get("/auditLogs/provisioning").status_code == 200

"""The API tokens page: create (name, required expiry, scope), shown once, stored hashed, revocable, last
use shown; readers get read-only tokens; people without a role get nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.api.models import ApiToken
from provisioning.models import AuditEvent
from tests.api.conftest import Api, graph_error, issue

pytestmark = pytest.mark.django_db


def _create(client, **fields):
    data = {"name": "Nightly export", "expires_on": (timezone.now().date() + timedelta(days=7)).isoformat(),
            "scope": "read_write", **fields}
    return client.post(reverse("portal:api_tokens"), data)


def _shown_token(page: str) -> str:
    return re.search(r'id="new-token-value"[^>]*value="(ppat_[^"]+)"', page).group(1)


def test_an_administrator_creates_a_token_that_is_shown_once(alice_client, alice, application):
    response = _create(alice_client)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "Copy it now: it is shown only this once" in page
    token = _shown_token(page)
    row = ApiToken.objects.get()
    assert (row.name, row.scope, row.user) == ("Nightly export", "read_write", alice)
    assert token not in str(ApiToken.objects.values().get())
    assert row.expires_at.date() == timezone.now().date() + timedelta(days=7)
    event = AuditEvent.objects.get()
    assert event.detail == 'Created the API token "Nightly export".' and token not in str(event.after)

    listed = alice_client.get(reverse("portal:api_tokens")).content.decode()
    assert token not in listed and f"ppat_{row.key_id}…" in listed and "Never" in listed

    assert Api(alice_client, token).post(
        f"/servicePrincipals/{application.service_principal_id}/synchronization/jobs/{application.job.job_id}"
        "/pause").status_code == 204
    assert AuditEvent.objects.filter(actor_display='alice@example.org (via API token "Nightly export")').exists()
    listed = alice_client.get(reverse("portal:api_tokens")).content.decode()
    assert "Never" not in listed.split('id="api-tokens"')[1]


@pytest.mark.parametrize("fields, words", [
    ({"name": " "}, "This field is required."),
    ({"expires_on": ""}, "This field is required."),
    ({"expires_on": "2000-01-01"}, "Choose a day after today."),
    ({"expires_on": (timezone.now().date() + timedelta(days=400)).isoformat()}, "at most 366 days"),
    ({"scope": "everything"}, "Select a valid choice"),
])
def test_it_refuses_a_token_without_a_name_or_a_valid_expiry(alice_client, fields, words):
    response = _create(alice_client, **fields)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not ApiToken.objects.exists() and not AuditEvent.objects.exists()


def test_a_reader_creates_read_only_tokens_only(bob_client):
    response = _create(bob_client)
    assert response.status_code == 400
    assert "You can create read-only tokens only" in response.content.decode()
    assert not ApiToken.objects.exists()
    assert _create(bob_client, scope="read").status_code == 200
    assert ApiToken.objects.get().scope == "read"


def test_a_person_without_a_role_gets_no_token(client, charlie):
    client.force_login(charlie)
    assert client.get(reverse("portal:api_tokens")).status_code == 403
    assert _create(client, scope="read").status_code == 403
    assert not ApiToken.objects.exists()


def test_a_revoked_token_stops_working_at_once(alice_client, alice, application):
    token = issue(alice, name="ci")
    row = ApiToken.objects.get()
    response = alice_client.post(reverse("portal:revoke_api_token", args=[row.pk]))
    assert response.status_code == 302
    page = alice_client.get(response["Location"]).content.decode()
    assert "The token &quot;ci&quot; was revoked: it no longer works." in page and "Revoked" in page
    graph_error(Api(alice_client, token).get("/auditLogs/provisioning"), 401)
    assert AuditEvent.objects.get().detail == 'Revoked the API token "ci".'


def test_nobody_revokes_someone_elses_token(bob_client, alice):
    issue(alice)
    row = ApiToken.objects.get()
    assert bob_client.post(reverse("portal:revoke_api_token", args=[row.pk])).status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None


def test_the_menu_offers_the_page_and_it_has_nothing_inline(alice_client):
    page = alice_client.get(reverse("portal:api_tokens")).content.decode()
    menu = page.split('id="user-menu"')[1].split("</div>\n  </div>")[0]
    assert f'href="{reverse("portal:api_tokens")}">API tokens</a>' in menu
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) and "<style" not in page and " style=" not in page
    # every field has its label; the scope choices are a group with a legend
    assert '<label for="id_name">Name</label>' in page and '<label for="id_expires_on">Expires on</label>' in page
    assert "<legend>Scope</legend>" in page

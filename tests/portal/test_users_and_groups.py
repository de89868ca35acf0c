"""Users and groups: the service principal's assignments, read and changed
through Graph; Default Access shown with the tutorial's warning."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.constants import DEFAULT_ACCESS_ROLE_ID, AuditActivity
from provisioning.defaults import create_job
from provisioning.models import Application, AuditEvent
from tests.services import entra_connector

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_app(demo_sp):
    app = Application.objects.create(display_name="Dropbox for Business", app_id=demo_sp["appId"],
                                     service_principal_id=demo_sp["id"])
    create_job(app)
    return app


def rows(response) -> str:
    page = response.content.decode()
    return page.split('id="assignments"', 1)[1].split("</table>", 1)[0] if 'id="assignments"' in page else ""


def test_it_lists_the_assignments_with_their_roles(bob_client, demo_app, demo_sp):
    response = bob_client.get(reverse("portal:users_and_groups", args=[demo_app.pk]))
    table = rows(response)
    assignments = list(entra_connector().iter_assignments(demo_sp["id"]))
    for item in assignments[:10]:
        assert item["principalDisplayName"] in table
    assert "Default Access" in table
    page = response.content.decode()
    assert "The Default Access role does not work for provisioning" in page
    assert "Assign a single user first to test the provisioning configuration" in page
    assert 'id="add-assignment"' not in page  # a reader


def test_it_searches_the_assignments(bob_client, demo_app, demo_sp):
    name = next(entra_connector().iter_assignments(demo_sp["id"]))["principalDisplayName"]
    table = rows(bob_client.get(reverse("portal:users_and_groups", args=[demo_app.pk]), {"q": name[:5]}))
    assert name in table
    assert table.count("<tr>") < 10


def test_an_administrator_searches_the_directory_live(alice_client, demo_app):
    response = alice_client.get(reverse("portal:directory_search", args=[demo_app.pk]), {"q": "Adele"})
    page = response.content.decode()
    assert "Adele Vance" in page and "adele.vance@contoso.com" in page
    assert 'data-principal-type="User"' in page


def test_an_administrator_assigns_a_user_and_removes_it(alice_client, demo_app, demo_sp):
    connector = entra_connector()
    assigned = {a["principalId"] for a in connector.iter_assignments(demo_sp["id"])}
    user = next(u for u in connector.iter_users() if u["id"] not in assigned)
    role = next(r for r in demo_sp["appRoles"] if r["displayName"] == "User")
    response = alice_client.post(reverse("portal:assign", args=[demo_app.pk]), {
        "principal_id": user["id"], "principal_type": "User", "principal_name": user["displayName"],
        "app_role_id": role["id"]}, follow=True)
    assert f"{user['displayName']} was assigned to Dropbox for Business as User." in response.content.decode()
    created = next(a for a in connector.iter_assignments(demo_sp["id"]) if a["principalId"] == user["id"])
    assert created["appRoleId"] == role["id"]
    assert AuditEvent.objects.get(activity=AuditActivity.ADD_ASSIGNMENT).after["role"] == "User"

    response = alice_client.post(reverse("portal:unassign", args=[demo_app.pk, created["id"]]),
                                 {"principal_name": user["displayName"], "principal_type": "User"}, follow=True)
    assert f"{user['displayName']} was removed" in response.content.decode()
    assert user["id"] not in {a["principalId"] for a in connector.iter_assignments(demo_sp["id"])}
    assert AuditEvent.objects.filter(activity=AuditActivity.REMOVE_ASSIGNMENT).exists()


def test_assigning_default_access_warns_that_it_will_not_provision(alice_client, demo_app, demo_sp):
    connector = entra_connector()
    assigned = {a["principalId"] for a in connector.iter_assignments(demo_sp["id"])}
    user = next(u for u in connector.iter_users() if u["id"] not in assigned)
    response = alice_client.post(reverse("portal:assign", args=[demo_app.pk]), {
        "principal_id": user["id"], "principal_type": "User", "principal_name": user["displayName"],
        "app_role_id": DEFAULT_ACCESS_ROLE_ID}, follow=True)
    assert "which does not work for provisioning: it will be skipped" in response.content.decode()


def test_an_unknown_role_is_refused_next_to_the_field(alice_client, demo_app):
    response = alice_client.post(reverse("portal:assign", args=[demo_app.pk]), {
        "principal_id": "x", "principal_type": "User", "app_role_id": "not-a-role"})
    assert response.status_code == 400
    assert "Choose one of the application&#x27;s roles." in response.content.decode()


def test_a_graph_refusal_is_shown_and_nothing_changes(alice_client, demo_app, demo_sp):
    role = next(r for r in demo_sp["appRoles"] if r["displayName"] == "User")
    response = alice_client.post(reverse("portal:assign", args=[demo_app.pk]), {
        "principal_id": "00000000-0000-0000-0000-0000000000ff", "principal_type": "User",
        "principal_name": "Nobody", "app_role_id": role["id"]}, follow=True)
    assert "Nobody was not assigned" in response.content.decode()
    assert not AuditEvent.objects.filter(activity=AuditActivity.ADD_ASSIGNMENT).exists()


def test_an_unreachable_tenant_is_explained(bob_client, demo_app, settings, no_waiting):
    settings.GRAPH_URL = "http://127.0.0.1:9"
    from provisioning.connectors import entra

    entra._msal_apps.clear()
    response = bob_client.get(reverse("portal:users_and_groups", args=[demo_app.pk]))
    assert response.status_code == 200
    assert "The assignments could not be read from Microsoft Entra ID" in response.content.decode()

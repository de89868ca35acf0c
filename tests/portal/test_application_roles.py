"""Roles on one application (Roles and administrators): a Provisioning administrator
gives a portal user administrator or reader rights on one application only; each
change is audited, and the role opens that application's pages as the role says."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.accounts.models import ApplicationRoleGrant
from provisioning.constants import AuditActivity
from provisioning.models import AuditEvent
from tests.fixtures import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana(django_user_model):
    """A portal user with no global role (active, as "Roles on applications only" leaves them)."""
    return make_user(django_user_model, "dana")


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_it_lists_who_has_a_role_on_the_application(alice_client, application, dana, bob):
    ApplicationRoleGrant.objects.create(application=application, user=dana, role="reader", granted_by="x")
    page = alice_client.get(reverse("portal:roles", args=[application.pk])).content.decode()
    assert "Roles and administrators" in page
    assert 'data-email="dana@example.org"' in page and "Application reader" in page
    # The global roles are listed too, so the page tells everyone who can open the application.
    assert "bob@example.org" in page and "Provisioning reader" in page
    assert 'id="add-role-form"' in page


def test_an_administrator_gives_a_role_and_it_is_audited(alice_client, application, dana):
    response = alice_client.post(reverse("portal:add_role", args=[application.pk]),
                                 {"user": dana.pk, "role": "administrator"})
    assert response.status_code == 302
    grant = ApplicationRoleGrant.objects.get(application=application, user=dana)
    assert grant.role == "administrator" and grant.granted_by == "alice@example.org"
    event = AuditEvent.objects.get(activity=AuditActivity.ADD_APPLICATION_ROLE)
    assert event.application == application and event.target_display == "dana@example.org"
    assert event.actor_display == "alice@example.org"
    assert event.before is None and event.after["role"] == "Application administrator"
    # In the application's own audit log too.
    page = alice_client.get(reverse("portal:app_audit_logs", args=[application.pk])).content.decode()
    assert "Add scoped member to role" in page


def test_giving_another_role_replaces_the_first(alice_client, application, dana):
    ApplicationRoleGrant.objects.create(application=application, user=dana, role="reader")
    alice_client.post(reverse("portal:add_role", args=[application.pk]), {"user": dana.pk, "role": "administrator"})
    assert list(ApplicationRoleGrant.objects.values_list("role", flat=True)) == ["administrator"]
    event = AuditEvent.objects.get(activity=AuditActivity.ADD_APPLICATION_ROLE)
    assert event.before["role"] == "Application reader" and event.after["role"] == "Application administrator"


def test_an_administrator_removes_a_role_and_it_is_audited(alice_client, application, dana):
    grant = ApplicationRoleGrant.objects.create(application=application, user=dana, role="reader")
    assert _client(dana).get(reverse("portal:overview", args=[application.pk])).status_code == 200
    response = alice_client.post(reverse("portal:remove_role", args=[application.pk, grant.pk]))
    assert response.status_code == 302
    assert not ApplicationRoleGrant.objects.exists()
    event = AuditEvent.objects.get(activity=AuditActivity.REMOVE_APPLICATION_ROLE)
    assert event.before["user"] == "dana@example.org" and event.application == application
    # The next request already has no access.
    assert _client(dana).get(reverse("portal:overview", args=[application.pk])).status_code == 403


def test_it_refuses_a_user_who_is_not_a_portal_user(alice_client, application):
    response = alice_client.post(reverse("portal:add_role", args=[application.pk]), {"user": 999999,
                                                                                     "role": "reader"})
    assert response.status_code == 400
    assert "Select a portal user of the list." in response.content.decode()
    assert not ApplicationRoleGrant.objects.exists()


def test_a_grant_of_another_application_cannot_be_removed_through_this_one(alice_client, application, dana):
    from provisioning.models import Application

    other = Application.objects.create(display_name="Other")
    grant = ApplicationRoleGrant.objects.create(application=other, user=dana, role="reader")
    assert alice_client.post(reverse("portal:remove_role", args=[application.pk, grant.pk])).status_code == 404
    assert ApplicationRoleGrant.objects.filter(pk=grant.pk).exists()


def test_only_global_administrators_give_roles(application, dana, bob, django_user_model):
    ApplicationRoleGrant.objects.create(application=application, user=dana, role="administrator")
    erin = make_user(django_user_model, "erin")
    for user in (dana, bob):
        client = _client(user)
        page = client.get(reverse("portal:roles", args=[application.pk])).content.decode()
        assert 'id="read-only"' in page and 'id="add-role-form"' not in page
        response = client.post(reverse("portal:add_role", args=[application.pk]), {"user": erin.pk, "role": "reader"})
        assert response.status_code == 403
    assert not ApplicationRoleGrant.objects.filter(user=erin).exists()


def test_an_application_administrator_sees_the_administrators_controls_there(application, dana):
    ApplicationRoleGrant.objects.create(application=application, user=dana, role="administrator")
    client = _client(dana)
    page = client.get(reverse("portal:overview", args=[application.pk])).content.decode()
    assert f'action="{reverse("portal:rename_application", args=[application.pk])}"' in page
    # The portal-wide pages stay closed, and their links are not offered.
    listing = client.get(reverse("portal:applications")).content.decode()
    assert reverse("portal:audit_logs") not in listing and reverse("portal:portal_users") not in listing
    assert client.get(reverse("portal:audit_logs")).status_code == 403
    assert client.get(reverse("portal:gallery")).status_code == 403
    # What it changes, it changes.
    response = client.post(reverse("portal:rename_application", args=[application.pk]), {"display_name": "Renamed"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.display_name == "Renamed"


def test_an_application_reader_sees_the_pages_read_only(application, dana):
    ApplicationRoleGrant.objects.create(application=application, user=dana, role="reader")
    client = _client(dana)
    page = client.get(reverse("portal:overview", args=[application.pk])).content.decode()
    assert reverse("portal:rename_application", args=[application.pk]) not in page
    mappings = client.get(reverse("portal:attribute_mappings", args=[application.pk, "user"])).content.decode()
    assert 'id="read-only"' in mappings
    assert client.post(reverse("portal:stop_provisioning", args=[application.pk])).status_code == 403


def test_the_role_names_the_user_menu_shows(application, dana):
    from portal.permissions import forget_roles, role_name

    assert role_name(dana) == "No role"
    ApplicationRoleGrant.objects.create(application=application, user=dana, role="reader")
    forget_roles(dana)  # the helpers keep a request's roles on its user
    assert role_name(dana) == "Roles on applications"


def test_roles_on_applications_only_keeps_the_account_active(alice_client, bob):
    response = alice_client.post(reverse("portal:change_role", args=[bob.pk]), {"role": "applications"})
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.is_active and not bob.groups.exists()
    page = alice_client.get(reverse("portal:portal_users")).content.decode()
    assert "Roles on applications only" in page


def test_a_deleted_applications_logs_stay_open_to_its_application_reader(application, dana):
    from django.utils import timezone

    ApplicationRoleGrant.objects.create(application=application, user=dana, role="reader")
    application.deleted_at = timezone.now()
    application.save(update_fields=["deleted_at"])
    client = _client(dana)
    assert client.get(reverse("portal:provisioning_logs", args=[application.pk])).status_code == 200
    assert client.get(reverse("portal:overview", args=[application.pk])).status_code == 404
    assert application.display_name in client.get(reverse("portal:applications")).content.decode()

"""Enterprise applications | Add: a name the form refuses comes back as a form
error on the gallery, with the Add dialog open again and nothing created, in
development (DEBUG) and in production alike."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from provisioning.constants import AuditActivity
from provisioning.models import Application, AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("name, message", [
    ("", "Give the application a name."),
    ("    ", "Give the application a name."),
    ("x" * 121, "The name can have at most 120 characters (it has 121)."),
    ("x" * 10240, "The name can have at most 120 characters (it has 10240)."),
], ids=["blank", "spaces", "121 characters", "10 KB"])
def test_it_refuses_a_bad_name_as_a_form_error(alice_client, settings, debug, name, message):
    settings.DEBUG = debug
    response = alice_client.post(reverse("portal:gallery_add"), {"gallery_app": "dropbox-business",
                                                                 "display_name": name})
    assert response.status_code == 400
    page = response.content.decode()
    assert f"The application was not added. Name: {message}" in page
    assert '<dialog id="add-dropbox-business" aria-labelledby="add-dropbox-business-title" data-open-on-load>' in page
    assert f'<ul class="errorlist" id="name-dropbox-business-error"><li>{message}</li></ul>' in page
    assert 'aria-invalid="true" aria-describedby="name-dropbox-business-error"' in page
    assert not Application.objects.exists()


def test_it_refuses_an_application_that_is_not_in_the_gallery(alice_client):
    response = alice_client.post(reverse("portal:gallery_add"), {"gallery_app": "nothing-like-it", "display_name": "X"})
    assert response.status_code == 400
    assert "The application was not added. This application is not in the gallery." in response.content.decode()
    assert not Application.objects.exists()


def _dropbox_instances(graph) -> list[dict]:
    return graph.graph("GET", "/v1.0/servicePrincipals?$filter=applicationTemplateId eq "
                              f"'{settings.GALLERY_TEMPLATE_IDS['dropbox-business']}'").json()["value"]


def test_each_add_makes_its_own_enterprise_application_with_no_assignments(alice_client, graph):
    before = {sp["id"] for sp in _dropbox_instances(graph)}
    for name in ("Dropbox (Sales)", "Dropbox (Legal)"):
        response = alice_client.post(reverse("portal:gallery_add"), {"gallery_app": "dropbox-business",
                                                                     "display_name": name})
        assert response.status_code == 302

    sales, legal = Application.objects.get(display_name="Dropbox (Sales)"), Application.objects.get(
        display_name="Dropbox (Legal)")
    new = {sp["id"]: sp for sp in _dropbox_instances(graph) if sp["id"] not in before}
    assert set(new) == {sales.service_principal_id, legal.service_principal_id}
    assert new[sales.service_principal_id]["displayName"] == "Dropbox (Sales)"
    assert sales.app_id == new[sales.service_principal_id]["appId"] != legal.app_id
    for application in (sales, legal):
        assert graph.get_all(f"/v1.0/servicePrincipals/{application.service_principal_id}/appRoleAssignedTo") == []
    event = AuditEvent.objects.filter(activity=AuditActivity.ADD_APPLICATION).order_by("created_at").first()
    assert event.after["service_principal"] == "created"
    assert event.after["application_object_id"]
    page = alice_client.get(reverse("portal:users_and_groups", args=[sales.id])).content.decode()
    assert "Adele Vance" not in page


def test_an_enterprise_application_already_in_the_tenant_can_be_used_once(alice_client, graph):
    (existing,) = _dropbox_instances(graph)  # the demo's, with its assignments
    page = alice_client.get(reverse("portal:gallery")).content.decode()
    assert f'value="{existing["id"]}"' in page
    assert "Use “Dropbox for Business”, already in the tenant, with its assignments" in page

    response = alice_client.post(reverse("portal:gallery_add"), {
        "gallery_app": "dropbox-business", "display_name": "Dropbox", "service_principal": existing["id"]})
    assert response.status_code == 302
    application = Application.objects.get()
    assert application.service_principal_id == existing["id"]
    assert [sp["id"] for sp in _dropbox_instances(graph)] == [existing["id"]]  # nothing new in the tenant
    assert AuditEvent.objects.get(activity=AuditActivity.ADD_APPLICATION).after["service_principal"] == \
        "already in the tenant"
    assert f'value="{existing["id"]}"' not in alice_client.get(reverse("portal:gallery")).content.decode()

    again = alice_client.post(reverse("portal:gallery_add"), {
        "gallery_app": "dropbox-business", "display_name": "Dropbox 2", "service_principal": existing["id"]})
    assert again.status_code == 400
    assert ("The application was not added. Enterprise application: Another application of the portal already uses "
            "this enterprise application; create a new one instead.") in again.content.decode()
    assert Application.objects.count() == 1


def test_an_object_id_that_is_not_a_dropbox_instance_is_refused(alice_client, graph):
    other = graph.graph("GET", "/v1.0/servicePrincipals?$filter=displayName eq 'Microsoft Graph'").json()["value"][0]
    response = alice_client.post(reverse("portal:gallery_add"), {
        "gallery_app": "dropbox-business", "display_name": "Dropbox", "service_principal": other["id"]})
    assert response.status_code == 400
    assert "This enterprise application is not a Dropbox for Business application of the tenant" in \
        response.content.decode()
    assert not Application.objects.exists()


def test_the_gallery_still_opens_when_the_tenant_cannot_be_read(alice_client, graph, settings):
    settings.GRAPH_URL = "http://127.0.0.1:9"
    page = alice_client.get(reverse("portal:gallery"))
    assert page.status_code == 200
    assert "The Dropbox for Business applications already in the tenant could not be listed; a new one is " \
           "created." in page.content.decode()

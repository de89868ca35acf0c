"""The Django admin shows applications, provisioning jobs and links, but changes
none of them: changes go through the portal's pages, which audit them. Nothing a
superuser does there can alter provisioning without a trace."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.models import Application, AuditEvent, ObjectLink, ProvisioningJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def root_client(client, root):
    client.force_login(root)
    return client


@pytest.fixture
def link(application):
    return ObjectLink.objects.create(job=application.job, object_type="user", source_id="u-1", target_id="dbmid:1",
                                     display_name="Adele Vance", target_email="adele.vance@contoso.com")


def admin_url(obj, view: str) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


def test_it_lists_and_shows_applications_jobs_and_links(root_client, application, link):
    for model, obj in ((Application, application), (ProvisioningJob, application.job), (ObjectLink, link)):
        meta = model._meta
        assert root_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")).status_code == 200
        page = root_client.get(admin_url(obj, "change")).content.decode()
        assert 'name="_save"' not in page and 'class="deletelink"' not in page, model


def test_it_refuses_to_change_an_application_even_its_service_principal(root_client, application):
    response = root_client.post(admin_url(application, "change"),
                                {"display_name": "Renamed", "service_principal_id": "another-sp"})
    assert response.status_code == 403
    application.refresh_from_db()
    assert (application.display_name, application.service_principal_id) == \
        ("Dropbox for Business", "00000000-0000-0000-0000-00000000aaaa")
    assert not AuditEvent.objects.exists()


def test_it_refuses_to_delete_or_add(root_client, application, link):
    for obj in (application, application.job, link):
        assert root_client.post(admin_url(obj, "delete"), {"post": "yes"}).status_code == 403
    assert Application.objects.filter(pk=application.pk).exists() and ObjectLink.objects.filter(pk=link.pk).exists()
    assert root_client.get(reverse("admin:provisioning_application_add")).status_code == 403


def test_it_never_shows_the_stored_authorization(root_client, application):
    job = application.job
    job.target_refresh_token = "a-refresh-token-that-is-secret"
    job.save()
    page = root_client.get(admin_url(job, "change")).content.decode()
    assert "a-refresh-token-that-is-secret" not in page and "fernet:" not in page

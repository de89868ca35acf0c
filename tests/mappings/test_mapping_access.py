"""Readers see every mapping page read-only and are refused every change;
people without a role see nothing."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from provisioning.models import AttributeMapping, AuditEvent, ObjectMapping

from .conftest import attribute, mapping_fields

pytestmark = pytest.mark.django_db


def pages(application, users_mapping) -> dict[str, str]:
    given = attribute(users_mapping, "givenName")
    app = application.pk
    return {
        "mappings": reverse("portal:mappings", args=[app]),
        "attribute_mappings": reverse("portal:attribute_mappings", args=[app, "user"]),
        "groups": reverse("portal:attribute_mappings", args=[app, "group"]),
        "edit": reverse("portal:edit_attribute_mapping", args=[app, "user", given.pk]),
        "add": reverse("portal:add_attribute_mapping", args=[app, "user"]),
        "restore": reverse("portal:restore_default_mappings", args=[app, "user"]),
        "scoping": reverse("portal:scoping_filters", args=[app, "user"]),
        "builder": reverse("portal:expression_builder", args=[app]),
        "evaluate": reverse("portal:expression_evaluate", args=[app]) + "?expression=%5Bmail%5D",
    }


def changes(application, users_mapping) -> dict[str, tuple[str, dict]]:
    given = attribute(users_mapping, "givenName")
    app = application.pk
    clause = {"action": "save", "clause-1-filter": "1", "clause-1-attribute": "city", "clause-1-operator": "EQUALS",
              "clause-1-value": "Oslo"}
    return {
        "save page": (reverse("portal:attribute_mappings", args=[app, "group"]), {"enabled": "False"}),
        "edit": (reverse("portal:edit_attribute_mapping", args=[app, "user", given.pk]),
                 mapping_fields(given, source_attribute="displayName")),
        "add": (reverse("portal:add_attribute_mapping", args=[app, "user"]),
                mapping_fields(source_attribute="mail", target_attribute="givenName")),
        "delete": (reverse("portal:delete_attribute_mapping", args=[app, "user", given.pk]), {}),
        "restore": (reverse("portal:restore_default_mappings", args=[app, "user"]), {}),
        "scoping": (reverse("portal:scoping_filters", args=[app, "user"]), clause),
        "scoping add row": (reverse("portal:scoping_filters", args=[app, "user"]), {"action": "add_filter"}),
        "missing mapping": (reverse("portal:edit_attribute_mapping", args=[app, "user", 999999]), {}),
        "missing delete": (reverse("portal:delete_attribute_mapping", args=[app, "user", 999999]), {}),
    }


def state(users_mapping):
    return (list(AttributeMapping.objects.values_list("target_attribute", "source_attribute").order_by("id")),
            list(ObjectMapping.objects.values_list("enabled", "scoping_filters").order_by("id")))


def test_a_reader_sees_every_mapping_page(bob_client, application, users_mapping):
    for name, url in pages(application, users_mapping).items():
        response = bob_client.get(url)
        assert response.status_code == 200, name


def test_a_reader_sees_the_pages_without_save_controls(bob_client, application, users_mapping):
    urls = pages(application, users_mapping)
    for name in ("attribute_mappings", "groups", "edit", "scoping"):
        html = bob_client.get(urls[name]).content.decode()
        assert 'id="save"' not in html, name
        assert 'id="read-only"' in html, name
        assert 'class="btn disabled" aria-disabled="true" title="Only Provisioning administrators' in html, name
    page = bob_client.get(urls["attribute_mappings"]).content.decode()
    assert 'id="add-mapping"' not in page and 'id="restore-defaults"' not in page and "data-delete=" not in page
    assert re.search(r'<input type="checkbox" name="allow_create"[^>]*disabled', page)
    assert '<dialog id="restore-dialog">' not in page
    groups = bob_client.get(urls["groups"]).content.decode()
    assert re.search(r'<input type="radio" name="enabled" value="False"[^>]*disabled', groups)
    restore = bob_client.get(urls["restore"]).content.decode()
    assert re.search(r'id="confirm-restore" disabled', restore)


def test_a_reader_is_refused_every_change(bob_client, application, users_mapping):
    before = state(users_mapping)
    for name, (url, data) in changes(application, users_mapping).items():
        response = bob_client.post(url, data)
        assert response.status_code == 403, name
        assert "Only Provisioning administrators can make this change." in response.content.decode()
    assert state(users_mapping) == before
    assert not AuditEvent.objects.exists()


def test_the_builder_only_reads_so_it_takes_no_posts(bob_client, application, users_mapping):
    for name in ("builder", "evaluate"):
        assert bob_client.post(pages(application, users_mapping)[name]).status_code == 405


def test_someone_without_a_role_sees_nothing(client, charlie, application, users_mapping):
    client.force_login(charlie)
    for name, url in pages(application, users_mapping).items():
        assert client.get(url).status_code == 403, name
    for name, (url, data) in changes(application, users_mapping).items():
        assert client.post(url, data).status_code == 403, name
    assert client.get(reverse("portal:expression_users", args=[application.pk]), {"q": "a"}).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, application, users_mapping):
    for name, url in pages(application, users_mapping).items():
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name

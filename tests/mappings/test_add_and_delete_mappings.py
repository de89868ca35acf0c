"""Add New Mapping and Delete: a target attribute maps at most once, and the
attributes Dropbox requires cannot be removed."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from provisioning.constants import MappingType
from provisioning.engine.config import from_job
from provisioning.models import AttributeMapping

from .conftest import add_url, attribute, mapping_fields, page_url, text

pytestmark = pytest.mark.django_db


def delete_url(mapping):
    from django.urls import reverse

    om = mapping.object_mapping
    return reverse("portal:delete_attribute_mapping", args=[om.job.application_id, om.object_type, mapping.pk])


def test_it_deletes_a_mapping(alice_client, users_mapping):
    mapping = attribute(users_mapping, "surname")
    response = alice_client.post(delete_url(mapping), follow=True)
    assert "The surname mapping was deleted." in text(response)
    assert from_job(users_mapping.job).users.rule("surname") is None


def test_it_adds_a_new_mapping(alice_client, users_mapping):
    attribute(users_mapping, "surname").delete()
    form = text(alice_client.get(add_url(users_mapping)))
    assert '<option value="surname">surname</option>' in form
    assert '<option value="givenName">givenName (already mapped)</option>' in form

    response = alice_client.post(add_url(users_mapping), mapping_fields(
        mapping_type=MappingType.EXPRESSION, expression='ToUpper([surname])', target_attribute="surname"))
    assert response.status_code == 302
    assert response["Location"] == page_url(users_mapping)
    rules = from_job(users_mapping.job).users
    assert rules.rule("surname").expression == "ToUpper([surname])"
    assert "The surname mapping was added." in text(alice_client.get(page_url(users_mapping)))


def test_it_refuses_to_delete_a_required_mapping_and_says_why(alice_client, users_mapping, groups_mapping):
    page = text(alice_client.get(page_url(users_mapping)))
    row = page[page.index('<tr data-target="email">'):page.index('<tr data-target="givenName">')]
    assert "email is required by Dropbox for Business, so its mapping cannot be deleted." in row
    assert "disabled" in row and 'data-delete="email"' not in row

    response = alice_client.post(delete_url(attribute(users_mapping, "email")), follow=True)
    assert ("The email mapping was not deleted: email is required by Dropbox for Business, so its mapping cannot be "
            "deleted.") in text(response)
    assert users_mapping.attributes.filter(target_attribute="email").exists()

    alice_client.post(delete_url(attribute(users_mapping, "active")))
    alice_client.post(delete_url(attribute(groups_mapping, "groupName")))
    assert users_mapping.attributes.filter(target_attribute="active").exists()
    assert groups_mapping.attributes.filter(target_attribute="groupName").exists()


def test_it_refuses_to_delete_the_only_matching_mapping(alice_client, users_mapping):
    email, given = attribute(users_mapping, "email"), attribute(users_mapping, "givenName")
    given.is_matching, given.matching_precedence = True, 2
    given.save()
    email.is_matching, email.matching_precedence = False, None
    email.save()
    response = alice_client.post(delete_url(given), follow=True)
    assert "This is the only mapping that matches objects" in text(response)
    assert users_mapping.attributes.filter(pk=given.pk).exists()


def test_it_refuses_a_second_mapping_of_the_same_target(alice_client, users_mapping):
    response = alice_client.post(add_url(users_mapping), mapping_fields(
        source_attribute="displayName", target_attribute="givenName"))
    assert response.status_code == 400
    assert users_mapping.attributes.filter(target_attribute="givenName").count() == 1


def test_moving_a_mapping_onto_a_mapped_target_is_refused_next_to_the_field(alice_client, users_mapping):
    from .conftest import edit_url

    mapping = attribute(users_mapping, "surname")
    response = alice_client.post(edit_url(mapping), mapping_fields(mapping, target_attribute="givenName"))
    assert response.status_code == 400
    html = text(response)
    field = html[html.index('id="field-target_attribute"'):html.index('id="field-is_matching"')]
    assert "givenName is already mapped: a target attribute takes one mapping." in field
    assert AttributeMapping.objects.get(pk=mapping.pk).target_attribute == "surname"


def test_a_duplicate_that_slips_past_the_form_becomes_a_form_error(alice_client, users_mapping, monkeypatch):
    # Another administrator's mapping committed between the check and the write: the
    # constraint refuses it, and the page says so instead of failing.
    attribute(users_mapping, "surname").delete()
    from portal import mapping_forms

    def save(self, commit=True):
        raise IntegrityError("UNIQUE constraint failed: one_mapping_per_target")

    monkeypatch.setattr(mapping_forms.AttributeMappingForm, "save", save)
    response = alice_client.post(add_url(users_mapping), mapping_fields(
        source_attribute="surname", target_attribute="surname"))
    assert response.status_code == 400
    assert "surname is already mapped" in text(response)


def test_an_unknown_mapping_is_not_found(alice_client, users_mapping, groups_mapping):
    group_mapping = attribute(groups_mapping, "externalId")
    from django.urls import reverse

    # A mapping of the groups is not reachable under the users.
    url = reverse("portal:edit_attribute_mapping", args=[users_mapping.job.application_id, "user", group_mapping.pk])
    assert alice_client.get(url).status_code == 404
    assert alice_client.post(url, mapping_fields(group_mapping)).status_code == 404
    url = reverse("portal:delete_attribute_mapping", args=[users_mapping.job.application_id, "user", 999999])
    assert alice_client.post(url).status_code == 404

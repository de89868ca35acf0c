"""Restore default mappings: after a confirmation that says what it replaces."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.constants import AuditActivity, MappingType
from provisioning.targets.dropbox.schema import DEFAULT_MAPPINGS
from provisioning.models import AuditEvent

from .conftest import attribute, page_url, text

pytestmark = pytest.mark.django_db

WARNING = "This replaces the current attribute mappings of users with the default mappings of Dropbox for Business."


def restore_url(object_mapping):
    return reverse("portal:restore_default_mappings",
                   args=[object_mapping.job.application_id, object_mapping.object_type])


def test_the_confirmation_says_it_replaces_the_attribute_mappings_of_this_object_type(alice_client, users_mapping):
    page = text(alice_client.get(page_url(users_mapping)))
    assert 'data-dialog="restore-dialog"' in page
    assert WARNING in page  # in the dialog
    confirmation = text(alice_client.get(restore_url(users_mapping)))  # the page, without scripts
    assert WARNING in confirmation
    assert 'id="confirm-restore"' in confirmation


def test_it_restores_the_default_mappings(alice_client, users_mapping):
    attribute(users_mapping, "surname").delete()
    given = attribute(users_mapping, "givenName")
    given.mapping_type, given.source_attribute, given.constant_value = MappingType.CONSTANT, "", "Someone"
    given.save()
    users_mapping.allow_delete = False
    users_mapping.scoping_filters = [{"clauses": [{"attribute": "department", "operator": "IS NOT NULL",
                                                   "value": ""}]}]
    users_mapping.save()

    response = alice_client.post(restore_url(users_mapping), follow=True)
    assert "The default attribute mappings of users were restored." in text(response)
    restored = [(m.target_attribute, m.mapping_type, m.source_attribute) for m in users_mapping.attributes.all()]
    expected = [(d["target_attribute"], d["mapping_type"], d.get("source_attribute", ""))
                for d in DEFAULT_MAPPINGS["user"]]
    assert restored == expected
    users_mapping.refresh_from_db()
    assert users_mapping.allow_delete is False and users_mapping.scoping_filters  # kept, as the dialog says

    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_MAPPINGS)
    assert event.before["givenName mapping"] == 'Constant "Someone"'
    assert event.after["givenName mapping"] == "Direct from givenName"
    assert "surname mapping" not in event.before and event.after["surname mapping"] == "Direct from surname"
    assert event.detail == "Restored the default attribute mappings"


def test_restoring_the_groups_leaves_the_users_alone(alice_client, users_mapping, groups_mapping):
    attribute(users_mapping, "surname").delete()
    alice_client.post(restore_url(groups_mapping))
    assert not users_mapping.attributes.filter(target_attribute="surname").exists()

"""Every change to a mapping writes one audit event with the mapping as it was
and as it is, readable on the Audit logs page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.constants import AuditActivity, MappingType
from provisioning.models import AuditEvent

from .conftest import attribute, edit_url, mapping_fields, scoping_url, text

pytestmark = pytest.mark.django_db


def events():
    return list(AuditEvent.objects.filter(activity=AuditActivity.UPDATE_MAPPINGS).order_by("id"))


def test_editing_a_mapping_records_it_before_and_after(alice_client, alice, users_mapping):
    mapping = attribute(users_mapping, "givenName")
    alice_client.post(edit_url(mapping), mapping_fields(mapping, mapping_type=MappingType.EXPRESSION,
                                                        expression="ToUpper([givenName])", default_value="X"))
    [event] = events()
    assert event.actor == alice
    assert event.application_id == users_mapping.job.application_id
    assert event.target_display == "Synchronize Azure Active Directory Users to Dropbox for Business"
    assert event.target_type == "Attribute mappings"
    assert event.before["givenName mapping"] == "Direct from givenName"
    assert event.after["givenName mapping"] == 'Expression ToUpper([givenName]); default "X"'
    # The snapshot is the whole mapping, so the trail can be read on its own...
    assert event.after["email mapping"] == "Direct from userPrincipalName; matching, precedence 1"
    assert event.after["target_object_actions"] == "Create, Update, Delete"
    assert event.after["scoping_filters"] == "All records"
    # ...and the list of changes names only what changed.
    assert event.changes() == [("givenName mapping", "Direct from givenName",
                                'Expression ToUpper([givenName]); default "X"')]


def test_adding_and_deleting_are_recorded(alice_client, users_mapping):
    surname = attribute(users_mapping, "surname")
    alice_client.post(reverse("portal:delete_attribute_mapping", args=[users_mapping.job.application_id, "user",
                                                                       surname.pk]))
    alice_client.post(reverse("portal:add_attribute_mapping", args=[users_mapping.job.application_id, "user"]),
                      mapping_fields(source_attribute="surname", target_attribute="surname",
                                     apply_when="create"))
    deleted, added = events()
    assert deleted.changes() == [("surname mapping", "Direct from surname", None)]
    assert added.changes() == [("surname mapping", None, "Direct from surname; only during object creation")]


def test_scoping_filters_are_recorded_readably(alice_client, users_mapping):
    alice_client.post(scoping_url(users_mapping), {
        "action": "save",
        "clause-1-filter": "1", "clause-1-attribute": "department", "clause-1-operator": "EQUALS",
        "clause-1-value": "Sales",
        "clause-2-filter": "1", "clause-2-attribute": "accountEnabled", "clause-2-operator": "IS TRUE",
        "clause-2-value": "",
        "clause-3-filter": "2", "clause-3-attribute": "jobTitle", "clause-3-operator": "ENDS_WITH",
        "clause-3-value": "Manager",
    })
    [event] = events()
    assert event.changes() == [("scoping_filters", "All records",
                                '(department EQUALS "Sales" AND accountEnabled IS TRUE) OR '
                                '(jobTitle ENDS_WITH "Manager")')]


def test_a_refused_change_writes_nothing(alice_client, users_mapping):
    mapping = attribute(users_mapping, "givenName")
    alice_client.post(edit_url(mapping), mapping_fields(mapping, mapping_type=MappingType.EXPRESSION,
                                                        expression="ToUpper("))
    assert events() == []


def test_the_audit_logs_page_shows_the_change(alice_client, users_mapping):
    mapping = attribute(users_mapping, "surname")
    alice_client.post(edit_url(mapping), mapping_fields(mapping, source_attribute="displayName"))
    page = text(alice_client.get(reverse("portal:app_audit_logs", args=[users_mapping.job.application_id])))
    assert "Update attribute mappings or scope" in page
    assert "surname mapping" in page and "Direct from displayName" in page

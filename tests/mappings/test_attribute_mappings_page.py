"""Tutorial step 12: the Attribute Mappings page shows what flows, and saves
Enabled and the Target Object Actions."""

from __future__ import annotations

import re

import pytest

from provisioning.constants import AuditActivity
from provisioning.engine.config import from_job
from provisioning.models import AuditEvent, ObjectMapping

from .conftest import page_url, text

pytestmark = pytest.mark.django_db


def table_rows(html: str) -> list[str]:
    body = html[html.index('id="attribute-mappings"'):]
    body = body[: body.index("</table>")]
    return re.findall(r'<tr data-target="([^"]+)">', body)


def test_it_shows_every_attribute_mapping_with_its_source_and_matching_precedence(alice_client, users_mapping):
    html = text(alice_client.get(page_url(users_mapping)))
    assert table_rows(html) == ["email", "givenName", "surname", "externalId", "active"]
    email_row = html[html.index('<tr data-target="email">'):html.index('<tr data-target="givenName">')]
    assert "userPrincipalName" in email_row
    assert "<td>1</td>" in email_row  # matching precedence
    assert "Always" in email_row
    assert "Required" in email_row
    active_row = html[html.index('<tr data-target="active">'):]
    assert ("Switch([IsSoftDeleted], , &quot;False&quot;, &quot;True&quot;, &quot;True&quot;, &quot;False&quot;)"
            in active_row)


def test_it_shows_the_target_object_actions_and_the_enabled_state(alice_client, groups_mapping):
    html = text(alice_client.get(page_url(groups_mapping)))
    assert "Target Object Actions" in html
    for name in ("allow_create", "allow_update", "allow_delete"):
        assert re.search(rf'<input type="checkbox" name="{name}"[^>]*checked', html), name
    assert re.search(r'<input type="radio" name="enabled" value="True"[^>]*checked', html)


def test_it_saves_the_target_object_actions(alice_client, users_mapping):
    response = alice_client.post(page_url(users_mapping), {"enabled": "True", "allow_create": "on",
                                                            "allow_update": "on"})
    assert response.status_code == 302
    users_mapping.refresh_from_db()
    assert (users_mapping.allow_create, users_mapping.allow_update, users_mapping.allow_delete) == (True, True, False)
    rules = from_job(users_mapping.job).users
    assert (rules.allow_create, rules.allow_update, rules.allow_delete) == (True, True, False)
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_MAPPINGS)
    assert event.before["target_object_actions"] == "Create, Update, Delete"
    assert event.after["target_object_actions"] == "Create, Update"


def test_it_disables_the_groups_mapping(alice_client, groups_mapping, users_mapping):
    response = alice_client.post(page_url(groups_mapping), {"enabled": "False", "allow_create": "on",
                                                             "allow_update": "on", "allow_delete": "on"})
    assert response.status_code == 302
    assert ObjectMapping.objects.get(pk=groups_mapping.pk).enabled is False
    assert from_job(groups_mapping.job).groups.enabled is False
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_MAPPINGS)
    assert (event.before["enabled"], event.after["enabled"]) == ("Yes", "No")
    assert event.target_display == "Synchronize Azure Active Directory Groups to Dropbox for Business"


def test_the_users_mapping_cannot_be_disabled(alice_client, users_mapping):
    html = text(alice_client.get(page_url(users_mapping)))
    assert re.search(r'<input type="radio" name="enabled" value="False"[^>]*disabled', html)
    assert "The users mapping is always enabled" in html
    alice_client.post(page_url(users_mapping), {"enabled": "False", "allow_create": "on", "allow_update": "on",
                                                 "allow_delete": "on"})
    assert ObjectMapping.objects.get(pk=users_mapping.pk).enabled is True


def test_saving_without_a_change_writes_no_audit_event(alice_client, users_mapping):
    alice_client.post(page_url(users_mapping), {"enabled": "True", "allow_create": "on", "allow_update": "on",
                                                 "allow_delete": "on"})
    assert not AuditEvent.objects.filter(activity=AuditActivity.UPDATE_MAPPINGS).exists()


def test_it_links_to_the_scoping_filters_and_summarises_them(alice_client, users_mapping):
    assert "All records" in text(alice_client.get(page_url(users_mapping)))
    users_mapping.scoping_filters = [{"clauses": [{"attribute": "department", "operator": "EQUALS",
                                                   "value": "Sales"}]}]
    users_mapping.save()
    html = text(alice_client.get(page_url(users_mapping)))
    assert "1 scoping filter:" in html
    assert "(department EQUALS &quot;Sales&quot;)" in html
    assert 'id="edit-scoping-filters"' in html

"""Edit Attribute: every field of a mapping, saved into what the engine reads."""

from __future__ import annotations

import re

import pytest

from provisioning.constants import ApplyWhen, MappingType
from provisioning.engine.config import from_job
from provisioning.engine.mapping import map_object

from .conftest import attribute, edit_url, mapping_fields, text

pytestmark = pytest.mark.django_db


def save(client, mapping, **changes):
    return client.post(edit_url(mapping), mapping_fields(mapping, **changes))


def rule(object_mapping, target):
    return from_job(object_mapping.job).users.rule(target)


def test_the_edit_form_shows_every_field(alice_client, users_mapping):
    html = text(alice_client.get(edit_url(attribute(users_mapping, "givenName"))))
    for label in ("Mapping type", "Source attribute", "Constant value", "Expression",
                  "Default value if null (optional)", "Target attribute", "Match objects using this attribute", "Matching precedence",
                  "Apply this mapping"):
        assert f">{label}</label>" in html, label
    assert '<option value="create">Only during object creation</option>' in html
    assert '<datalist id="source-attributes">' in html and '<option value="employeeId">' in html


def test_it_changes_the_source_attribute(alice_client, users_mapping):
    mapping = attribute(users_mapping, "givenName")
    assert save(alice_client, mapping, source_attribute="displayName").status_code == 302
    assert rule(users_mapping, "givenName").source == "displayName"


def test_it_accepts_a_directory_extension_attribute_with_a_warning(alice_client, users_mapping):
    mapping = attribute(users_mapping, "givenName")
    response = save(alice_client, mapping, source_attribute="extension_5c2a_preferredFirstName")
    assert response.status_code == 302
    assert rule(users_mapping, "givenName").source == "extension_5c2a_preferredFirstName"
    page = text(alice_client.get(response["Location"]))
    assert "not one of the standard attributes of Entra ID users" in page


def test_it_refuses_a_source_attribute_that_is_not_a_name(alice_client, users_mapping):
    mapping = attribute(users_mapping, "givenName")
    response = save(alice_client, mapping, source_attribute="given Name]")
    assert response.status_code == 400
    assert "is not an attribute name" in text(response)
    assert save(alice_client, mapping, source_attribute="").status_code == 400


def test_it_maps_a_constant(alice_client, users_mapping):
    mapping = attribute(users_mapping, "surname")
    assert save(alice_client, mapping, mapping_type=MappingType.CONSTANT, constant_value="Contoso").status_code == 302
    saved = rule(users_mapping, "surname")
    assert (saved.mapping_type, saved.constant, saved.source) == ("Constant", "Contoso", "")
    mapped = map_object(from_job(users_mapping.job).users, {"surname": "Vance"}, creating=True)
    assert mapped.values["surname"] == "Contoso"


def test_it_refuses_a_constant_longer_than_dropbox_takes(alice_client, users_mapping):
    mapping = attribute(users_mapping, "surname")
    response = save(alice_client, mapping, mapping_type=MappingType.CONSTANT, constant_value="x" * 51)
    assert response.status_code == 400
    assert "surname takes at most 50 characters; this value has 51." in text(response)


def test_it_refuses_a_constant_active_other_than_true_or_false(alice_client, users_mapping):
    mapping = attribute(users_mapping, "active")
    response = save(alice_client, mapping, mapping_type=MappingType.CONSTANT, constant_value="Yes")
    assert response.status_code == 400
    assert "active takes &quot;True&quot;" in text(response)
    assert save(alice_client, mapping, mapping_type=MappingType.CONSTANT, constant_value="True").status_code == 302


def test_it_saves_a_default_value_that_applies_on_create_only(alice_client, users_mapping):
    mapping = attribute(users_mapping, "givenName")
    assert save(alice_client, mapping, default_value="Colleague").status_code == 302
    rules = from_job(users_mapping.job).users
    assert rules.rule("givenName").default == "Colleague"
    assert map_object(rules, {"givenName": None}, creating=True).values["givenName"] == "Colleague"
    assert map_object(rules, {"givenName": None}, creating=False).values["givenName"] is None


def test_it_sets_a_mapping_to_none(alice_client, users_mapping):
    mapping = attribute(users_mapping, "surname")
    assert save(alice_client, mapping, mapping_type=MappingType.NONE).status_code == 302
    assert "surname" not in map_object(from_job(users_mapping.job).users, {"surname": "Vance"}, creating=True).values


def test_it_refuses_none_for_a_required_attribute(alice_client, users_mapping):
    mapping = attribute(users_mapping, "email")
    response = save(alice_client, mapping, mapping_type=MappingType.NONE, is_matching=False)
    assert response.status_code == 400
    assert "email is required by Dropbox for Business: it needs a value" in text(response)


def test_it_applies_a_mapping_only_during_object_creation(alice_client, users_mapping):
    mapping = attribute(users_mapping, "externalId")
    assert save(alice_client, mapping, apply_when=ApplyWhen.CREATE_ONLY).status_code == 302
    rules = from_job(users_mapping.job).users
    assert rules.rule("externalId").apply_when == ApplyWhen.CREATE_ONLY
    assert "externalId" not in map_object(rules, {"objectId": "1"}, creating=False).values
    assert map_object(rules, {"objectId": "1"}, creating=True).values["externalId"] == "1"


def test_it_moves_a_mapping_to_a_free_target_attribute(alice_client, users_mapping):
    attribute(users_mapping, "externalId").delete()
    mapping = attribute(users_mapping, "surname")
    assert save(alice_client, mapping, target_attribute="externalId", source_attribute="employeeId").status_code == 302
    rules = from_job(users_mapping.job).users
    assert rules.rule("surname") is None
    assert rules.rule("externalId").source == "employeeId"


def test_a_required_mapping_cannot_be_moved_to_another_target(alice_client, users_mapping):
    attribute(users_mapping, "givenName").delete()
    mapping = attribute(users_mapping, "email")
    response = save(alice_client, mapping, target_attribute="givenName")
    assert response.status_code == 400
    assert "email is required by Dropbox for Business: its mapping can be changed, but not moved" in text(response)


def test_it_makes_a_mapping_a_matching_one_with_a_precedence(alice_client, users_mapping):
    mapping = attribute(users_mapping, "externalId")
    assert save(alice_client, mapping, is_matching="on", matching_precedence="2").status_code == 302
    rules = from_job(users_mapping.job).users
    assert [(r.target, r.precedence) for r in rules.matching_rules] == [("email", 1), ("externalId", 2)]


def test_a_matching_mapping_without_a_precedence_gets_the_next_one(alice_client, users_mapping):
    mapping = attribute(users_mapping, "externalId")
    assert save(alice_client, mapping, is_matching="on", matching_precedence="").status_code == 302
    assert rule(users_mapping, "externalId").precedence == 2


def test_the_precedence_of_a_mapping_that_does_not_match_is_cleared(alice_client, users_mapping):
    mapping = attribute(users_mapping, "externalId")
    save(alice_client, mapping, is_matching="on", matching_precedence="2")
    mapping.refresh_from_db()
    assert save(alice_client, mapping, is_matching=False, matching_precedence="2").status_code == 302
    saved = rule(users_mapping, "externalId")
    assert (saved.matching, saved.precedence) == (False, None)


def test_readers_see_the_form_read_only(bob_client, users_mapping):
    html = text(bob_client.get(edit_url(attribute(users_mapping, "givenName"))))
    assert 'id="save"' not in html
    assert 'id="read-only"' in html
    for name in ("mapping_type", "source_attribute", "expression", "target_attribute", "is_matching"):
        assert re.search(rf'<(input|select|textarea)[^>]*name="{name}"[^>]*\bdisabled\b', html), name
    assert 'id="delete-mapping"' not in html

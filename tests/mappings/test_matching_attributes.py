"""Matching attributes: at least one, each with a precedence of its own, and
only mappings whose value differs from object to object."""

from __future__ import annotations

import pytest

from provisioning.constants import MappingType
from provisioning.engine.config import from_job

from .conftest import attribute, edit_url, mapping_fields, text

pytestmark = pytest.mark.django_db


def save(client, mapping, **changes):
    return client.post(edit_url(mapping), mapping_fields(mapping, **changes))



def test_precedence_values_are_unique_among_matching_mappings(alice_client, users_mapping):
    response = save(alice_client, attribute(users_mapping, "externalId"), is_matching="on", matching_precedence="1")
    assert response.status_code == 400
    assert ("Precedence 1 is already used by the email mapping: each matching attribute needs a precedence of its "
            "own.") in text(response)
    assert [r.target for r in from_job(users_mapping.job).users.matching_rules] == ["email"]


def test_a_precedence_held_by_a_mapping_that_does_not_match_is_free(alice_client, users_mapping):
    given = attribute(users_mapping, "givenName")
    given.matching_precedence = 3  # left over; ignored since it does not match
    given.save()
    assert save(alice_client, attribute(users_mapping, "externalId"), is_matching="on",
                matching_precedence="3").status_code == 302


def test_at_least_one_mapping_must_match_objects(alice_client, users_mapping):
    response = save(alice_client, attribute(users_mapping, "email"), is_matching=False)
    assert response.status_code == 400
    html = text(response)
    assert "At least one mapping must match objects" in html
    assert 'id="field-is_matching"' in html
    assert from_job(users_mapping.job).users.rule("email").matching is True


def test_matching_can_move_to_another_attribute(alice_client, users_mapping):
    assert save(alice_client, attribute(users_mapping, "externalId"), is_matching="on",
                matching_precedence="2").status_code == 302
    assert save(alice_client, attribute(users_mapping, "email"), is_matching=False).status_code == 302
    assert [r.target for r in from_job(users_mapping.job).users.matching_rules] == ["externalId"]


def test_a_constant_cannot_match_objects(alice_client, users_mapping):
    response = save(alice_client, attribute(users_mapping, "surname"), mapping_type=MappingType.CONSTANT,
                    constant_value="x", is_matching="on", matching_precedence="2")
    assert response.status_code == 400
    assert "Only a Direct or Expression mapping can match objects" in text(response)


def test_a_precedence_must_be_a_positive_number(alice_client, users_mapping):
    response = save(alice_client, attribute(users_mapping, "externalId"), is_matching="on", matching_precedence="0")
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in text(response)

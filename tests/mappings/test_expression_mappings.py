"""Expression mappings: refused with the character the error points at,
saved when they parse, with a warning for attribute names Entra ID does not
have (they may be directory extension attributes)."""

from __future__ import annotations

import re

import pytest

from provisioning.constants import MappingType
from provisioning.engine.config import from_job
from provisioning.engine.mapping import map_object

from .conftest import attribute, edit_url, mapping_fields, page_url, text

pytestmark = pytest.mark.django_db


def save_expression(client, mapping, expression):
    return client.post(edit_url(mapping), mapping_fields(mapping, mapping_type=MappingType.EXPRESSION,
                                                         expression=expression))


def test_an_invalid_expression_is_refused_with_the_character_marked(alice_client, users_mapping):
    mapping = attribute(users_mapping, "givenName")
    response = save_expression(alice_client, mapping, 'Join("@", [givenName]')
    assert response.status_code == 400
    html = text(response)
    assert 'Missing &quot;)&quot; at character 21: Join( at character 0 is not closed' in html
    # The text up to the character, the character highlighted, the rest.
    assert ('<div class="expression-marker" data-position="21">' in html)
    assert re.search(r'>Join\(&quot;@&quot;, \[givenName\]<mark class="error-at" title="Character 21"> </mark></pre>',
                     html)
    assert from_job(users_mapping.job).users.rule("givenName").mapping_type == MappingType.DIRECT


def test_the_marker_points_inside_the_expression(alice_client, users_mapping):
    response = save_expression(alice_client, attribute(users_mapping, "givenName"), 'ToLower([givenName]))')
    html = text(response)
    assert "Unexpected &quot;)&quot; at character 20: expected the end of the expression" in html
    assert '>ToLower([givenName])<mark class="error-at" title="Character 20">)</mark></pre>' in html


def test_an_unknown_function_is_refused_at_its_name(alice_client, users_mapping):
    html = text(save_expression(alice_client, attribute(users_mapping, "givenName"), 'Trim([givenName])'))
    assert 'Unknown function &quot;Trim&quot; at character 0' in html
    assert '<mark class="error-at" title="Character 0">T</mark>rim([givenName])' in html


def test_an_empty_expression_is_refused(alice_client, users_mapping):
    response = save_expression(alice_client, attribute(users_mapping, "givenName"), "   ")
    assert response.status_code == 400
    assert "The expression is empty" in text(response)


def test_a_valid_expression_is_saved_and_the_engine_uses_it(alice_client, users_mapping):
    mapping = attribute(users_mapping, "givenName")
    response = save_expression(alice_client, mapping, 'ToUpper(Left([givenName], 1))')
    assert response.status_code == 302
    rules = from_job(users_mapping.job).users
    assert rules.rule("givenName").expression == "ToUpper(Left([givenName], 1))"
    assert rules.rule("givenName").source == ""  # only what the expression type reads is kept
    assert map_object(rules, {"givenName": "adele"}, creating=True).values["givenName"] == "A"
    page = text(alice_client.get(page_url(users_mapping)))
    assert '<code class="expression">ToUpper(Left([givenName], 1))</code>' in page


def test_an_unknown_attribute_gives_a_warning_not_an_error(alice_client, users_mapping):
    mapping = attribute(users_mapping, "givenName")
    response = save_expression(alice_client, mapping, 'Coalesce([givenname], [extension_5c2a_nickname])')
    assert response.status_code == 302
    page = text(alice_client.get(response["Location"]))
    assert ('&quot;givenname&quot; is not an attribute of Entra ID users: attribute names are case-sensitive, did you '
            'mean &quot;givenName&quot;?') in page
    assert "&quot;extension_5c2a_nickname&quot; is not one of the standard attributes of Entra ID users" in page
    assert "Check attribute names" in page  # the table keeps pointing at it
    assert from_job(users_mapping.job).users.rule("givenName").expression.startswith("Coalesce(")


def test_the_warning_is_shown_with_a_refusal_too(alice_client, users_mapping):
    mapping = attribute(users_mapping, "givenName")
    response = alice_client.post(edit_url(mapping), mapping_fields(
        mapping, mapping_type=MappingType.EXPRESSION, expression="ToLower([Surname])", default_value="x" * 51))
    assert response.status_code == 400
    html = text(response)
    assert 'id="attribute-warnings"' in html and "did you mean &quot;surname&quot;?" in html
    assert "givenName takes at most 50 characters; this default has 51." in html


def test_a_group_expression_is_checked_against_group_attributes(alice_client, groups_mapping):
    from django.urls import reverse

    mapping = attribute(groups_mapping, "groupName")
    response = save_expression(alice_client, mapping, 'Append("DBX-", [displayName])')
    assert response.status_code == 302
    assert "not one of the standard attributes" not in text(alice_client.get(response["Location"]))
    edit = text(alice_client.get(edit_url(mapping)))
    assert 'id="open-builder"' not in edit  # the builder reads users
    check = reverse("portal:expression_evaluate", args=[groups_mapping.job.application_id])
    html = text(alice_client.get(check, {"expression": "[description]", "object_type": "group", "check": "1"}))
    assert "The expression is valid." in html and "not one of the standard attributes" not in html
    html = text(alice_client.get(check, {"expression": "[givenName]", "object_type": "group", "check": "1"}))
    assert "&quot;givenName&quot; is not one of the standard attributes of Entra ID groups" in html

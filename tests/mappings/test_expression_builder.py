"""The expression builder: what an expression gives for a user of the demo
directory, read through Microsoft Graph (the emulator), before it is saved."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from provisioning.expressions import FUNCTIONS

from .conftest import attribute, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def adele(services, application):
    from tests.services import entra_connector

    [user] = entra_connector().search_directory("Adele", kinds=("users",))
    assert user["userPrincipalName"] == "adele.vance@contoso.com"
    return user


def evaluate(client, application, expression, user_id=""):
    url = reverse("portal:expression_evaluate", args=[application.pk])
    response = client.get(url, {"expression": expression, "user": user_id})
    assert response.status_code == 200
    return text(response)


def result_of(html: str) -> str:
    found = re.search(r'<div id="expression-result" class="result-value"><code>(.*?)</code></div>', html)
    assert found, html
    return found.group(1)


def test_live_search_finds_a_directory_user(bob_client, application, adele):
    url = reverse("portal:expression_users", args=[application.pk])
    html = text(bob_client.get(url, {"q": "adele"}))
    assert f'data-user-id="{adele["id"]}"' in html
    assert "Adele Vance" in html and "adele.vance@contoso.com" in html


def test_it_shows_the_result_for_a_directory_user(alice_client, application, adele):
    html = evaluate(alice_client, application, 'Join(" ", [givenName], ToUpper([surname]))', adele["id"])
    assert result_of(html) == "Adele VANCE"
    assert '<strong id="result-user">Adele Vance</strong>' in html
    # The attributes the expression read, as Graph returned them.
    assert "<th>[givenName]</th><td><code>Adele</code></td>" in html
    assert "<th>[surname]</th><td><code>Vance</code></td>" in html


def test_it_reads_the_attributes_the_mappings_name(alice_client, application, adele):
    html = evaluate(alice_client, application, 'Append([objectId], Append("|", [department]))', adele["id"])
    assert result_of(html) == f'{adele["id"]}|Retail'
    active = evaluate(alice_client, application, 'Switch([IsSoftDeleted], , "False", "True", "True", "False")',
                      adele["id"])
    assert result_of(active) == "True"


def test_a_list_result_is_shown_as_a_list(alice_client, application, adele):
    html = evaluate(alice_client, application, 'Split([userPrincipalName], "@")', adele["id"])
    assert "A list of 2 values:" in html
    assert re.findall(r"<li><code>(.*?)</code></li>", html) == ["adele.vance", "contoso.com"]


def test_a_parse_error_is_marked_at_its_character(alice_client, application, adele):
    html = evaluate(alice_client, application, 'ToUpper([givenName]', adele["id"])
    assert 'id="parse-error"' in html
    assert "Missing &quot;)&quot; at character 19" in html
    assert '<div class="expression-marker" data-position="19">' in html
    assert '>ToUpper([givenName]<mark class="error-at" title="Character 19"> </mark></pre>' in html


def test_an_evaluation_error_names_the_function_and_marks_it(alice_client, application, adele):
    html = evaluate(alice_client, application, 'Append("x", CDate([department]))', adele["id"])
    assert 'id="evaluation-error"' in html
    assert "The expression failed for this user:" in html
    assert "&quot;Retail&quot; is not a date" in html
    assert "in CDate at character 12" in html
    assert '<mark class="error-at" title="Character 12">C</mark>Date([department]))' in html


def test_ignore_flow_says_the_attribute_would_not_flow(alice_client, application, adele):
    html = evaluate(alice_client, application, "IgnoreFlowIfNullOrEmpty([streetAddress])", adele["id"])
    assert "IgnoreFlowIfNullOrEmpty: the attribute would not flow" in html
    assert 'data-state="ignore-flow"' in html


def test_a_null_result_is_called_null(alice_client, application, adele):
    html = evaluate(alice_client, application, "[streetAddress]", adele["id"])
    assert '<div id="expression-result" class="result-null"><code>null</code>' in html


def test_an_unknown_attribute_is_warned_about_and_reads_as_null(alice_client, application, adele):
    html = evaluate(alice_client, application, 'Coalesce([extension_5c2a_nickname], [givenName])', adele["id"])
    assert "is not one of the standard attributes of Entra ID users" in html
    assert "Microsoft Entra ID refused to read extension_5c2a_nickname" in html
    assert result_of(html) == "Adele"


def test_without_a_user_it_checks_the_expression(alice_client, application):
    html = evaluate(alice_client, application, "ToLower([mail])")
    assert "The expression is valid. Pick a user to see what it gives." in html


def test_a_user_no_longer_in_the_directory_is_said_so(alice_client, application, services):
    html = evaluate(alice_client, application, "[mail]", "00000000-0000-0000-0000-000000000042")
    assert "This user is no longer in the directory" in html


def test_the_page_works_without_scripts(bob_client, application, adele):
    url = reverse("portal:expression_builder", args=[application.pk])
    # Search: Select buttons that submit the form with the user's id.
    html = text(bob_client.get(url, {"expression": "[displayName]", "q": "Adele"}))
    assert f'<button class="btn" type="submit" name="user" value="{adele["id"]}"' in html
    # Evaluate for the chosen user.
    html = text(bob_client.get(url, {"expression": "ToLower([displayName])", "user": adele["id"]}))
    assert result_of(html) == "adele vance"
    assert '<strong id="builder-selected">Adele Vance</strong>' in html


def test_it_lists_every_function_with_its_signature_and_description(bob_client, application):
    html = text(bob_client.get(reverse("portal:expression_builder", args=[application.pk])))
    for spec in FUNCTIONS.values():
        assert f'<tr data-function="{spec.name}">' in html, spec.name
    assert "<code>Join(separator, source, …)</code>" in html
    assert "Combines several source values into one string" in html


def test_the_mapping_editor_links_to_the_builder_and_back(alice_client, bob, application):
    from django.test import Client

    from provisioning.models import ObjectMapping

    mapping = attribute(ObjectMapping.objects.get(job__application=application, object_type="user"), "active")
    edit = reverse("portal:edit_attribute_mapping", args=[application.pk, "user", mapping.pk])
    html = text(alice_client.get(edit))
    link = re.search(r'<a href="([^"]+)" id="open-builder"', html).group(1).replace("&amp;", "&")
    builder = text(alice_client.get(link))
    assert "Switch([IsSoftDeleted]" in builder
    assert f'formaction="{edit}" id="use-expression"' in builder
    # Back in the editor with the expression from the builder, not yet saved.
    back = text(alice_client.get(edit, {"expression": 'IIF([accountEnabled], "True", "False")'}))
    assert "IIF([accountEnabled], &quot;True&quot;, &quot;False&quot;)</textarea>" in back
    # A reader may try expressions but has nothing to take back.
    reader = Client()
    reader.force_login(bob)
    assert 'id="use-expression"' not in text(reader.get(link))
    # Only a page of this portal is offered as the way back.
    outside = text(alice_client.get(reverse("portal:expression_builder", args=[application.pk]),
                                    {"return": "https://example.org/x"}))
    assert 'id="use-expression"' not in outside

"""Scoping filters: filters ORed, clauses ANDed, each clause checked the way the
engine will evaluate it, saved in the engine's own format."""

from __future__ import annotations

import re

import pytest

from provisioning.engine.config import from_job
from provisioning.expressions.scoping import matches
from provisioning.models import ObjectMapping

from .conftest import scoping_url, text

pytestmark = pytest.mark.django_db


def clause(n: int, filter_key: int, attribute: str, operator: str, value: str = "") -> dict:
    return {f"clause-{n}-filter": str(filter_key), f"clause-{n}-attribute": attribute,
            f"clause-{n}-operator": operator, f"clause-{n}-value": value}


def post(client, object_mapping, *clauses: dict, action: str = "save"):
    data = {"action": action}
    for item in clauses:
        data.update(item)
    return client.post(scoping_url(object_mapping), data)


def clause_rows(html: str) -> list[str]:
    return re.findall(r'<tr class="clause[^"]*" data-clause="(\d+)">', html)


def clause_error(html: str, n: int) -> str:
    found = re.search(rf'<ul class="errorlist" data-clause-error="{n}"><li>(.*?)</li></ul>', html)
    return found.group(1) if found else ""


def saved(object_mapping) -> list:
    return ObjectMapping.objects.get(pk=object_mapping.pk).scoping_filters


def test_it_saves_filters_in_the_format_the_engine_reads(alice_client, users_mapping):
    response = post(alice_client, users_mapping,
                    clause(1, 1, "department", "EQUALS", "Sales"),
                    clause(2, 1, "accountEnabled", "IS TRUE"),
                    clause(3, 2, "jobTitle", "ENDS_WITH", "Manager"),
                    clause(4, 2, "employeeId", "Greater_Than", "1000"))
    assert response.status_code == 302
    assert saved(users_mapping) == [
        {"clauses": [{"attribute": "department", "operator": "EQUALS", "value": "Sales"},
                     {"attribute": "accountEnabled", "operator": "IS TRUE", "value": ""}]},
        {"clauses": [{"attribute": "jobTitle", "operator": "ENDS_WITH", "value": "Manager"},
                     {"attribute": "employeeId", "operator": "Greater_Than", "value": "1000"}]},
    ]
    filters = from_job(users_mapping.job).users.filters
    assert filters == (
        (("department", "EQUALS", "Sales"), ("accountEnabled", "IS TRUE", "")),
        (("jobTitle", "ENDS_WITH", "Manager"), ("employeeId", "Greater_Than", "1000")),
    )
    assert matches(filters, {"department": "Sales", "accountEnabled": True})
    assert not matches(filters, {"department": "Sales", "accountEnabled": False})
    assert matches(filters, {"jobTitle": "Store Manager", "employeeId": "1200"})


def test_the_page_shows_the_saved_filters(bob_client, groups_mapping):
    groups_mapping.scoping_filters = [{"clauses": [{"attribute": "displayName", "operator": "REGEX MATCH",
                                                    "value": "^Sales"}]}]
    groups_mapping.save()
    html = text(bob_client.get(scoping_url(groups_mapping)))
    assert clause_rows(html) == ["1"]
    assert 'name="clause-1-attribute" value="displayName"' in html
    assert '<option value="REGEX MATCH" selected>REGEX MATCH</option>' in html
    assert 'name="clause-1-value" value="^Sales"' in html


def test_buttons_add_filters_and_clauses_without_a_script_and_save_nothing(alice_client, users_mapping):
    response = post(alice_client, users_mapping, action="add_filter")
    html = text(response)
    assert response.status_code == 200
    assert clause_rows(html) == ["1"]
    assert 'id="unsaved"' in html
    assert 'value="add_clause:1"' in html

    html = text(post(alice_client, users_mapping, clause(1, 1, "department", "EQUALS", "Sales"),
                     action="add_clause:1"))
    assert clause_rows(html) == ["1", "2"]
    assert 'name="clause-1-value" value="Sales"' in html  # what was typed is kept

    html = text(post(alice_client, users_mapping, clause(1, 1, "department", "EQUALS", "Sales"),
                     clause(2, 1, "", "EQUALS"), action="add_filter"))
    assert re.findall(r'<fieldset class="scoping-filter" data-filter="(\d+)">', html) == ["1", "2"]
    assert clause_rows(html) == ["1", "2", "3"]
    assert saved(users_mapping) == []


def test_buttons_remove_clauses_and_filters(alice_client, users_mapping):
    rows = (clause(1, 1, "department", "EQUALS", "Sales"), clause(2, 1, "city", "EQUALS", "Oslo"),
            clause(3, 2, "country", "EQUALS", "NO"))
    assert clause_rows(text(post(alice_client, users_mapping, *rows, action="remove_clause:2"))) == ["1", "3"]
    assert clause_rows(text(post(alice_client, users_mapping, *rows, action="remove_filter:1"))) == ["3"]
    # The last clause of a filter takes the filter with it.
    html = text(post(alice_client, users_mapping, *rows, action="remove_clause:3"))
    assert re.findall(r'data-filter="(\d+)">', html) == ["1"]


@pytest.mark.parametrize("operator, value, reason", [
    ("REGEX MATCH", "(Sales", "&quot;(Sales&quot; is not a valid regular expression (missing ) at position 6)."),
    ("Greater_Than", "ten", "Greater_Than compares integers, and &quot;ten&quot; is not an integer."),
    ("Greater_Than_OR_EQUALS", "1.5", "Greater_Than_OR_EQUALS compares integers, and &quot;1.5&quot; is not an "
                                      "integer."),
    ("EQUALS", "", "EQUALS needs a value to compare with."),
    ("LIKE", "Sales", "&quot;LIKE&quot; is not a scoping operator"),
    ("&", "x", "&amp; tests the bits of an integer, and &quot;x&quot; is not an integer."),
])
def test_each_invalid_clause_is_refused_with_its_reason(alice_client, users_mapping, operator, value, reason):
    response = post(alice_client, users_mapping, clause(1, 1, "department", "EQUALS", "Sales"),
                    clause(2, 1, "department", operator, value))
    assert response.status_code == 400
    html = text(response)
    assert clause_error(html, 1) == ""
    assert clause_error(html, 2).startswith(reason)
    assert '<tr class="clause has-error" data-clause="2">' in html
    assert saved(users_mapping) == []  # all or nothing


def test_a_clause_needs_an_attribute(alice_client, users_mapping):
    response = post(alice_client, users_mapping, clause(1, 1, "", "EQUALS", "Sales"))
    assert clause_error(text(response), 1) == "Enter the attribute this clause tests."
    response = post(alice_client, users_mapping, clause(1, 1, "[department]", "EQUALS", "Sales"))
    assert "is not an attribute name" in clause_error(text(response), 1)


def test_unary_operators_keep_no_value(alice_client, users_mapping):
    post(alice_client, users_mapping, clause(1, 1, "mail", "IS NOT NULL", "left over"),
         clause(2, 1, "accountEnabled", "IS FALSE", ""))
    assert saved(users_mapping) == [{"clauses": [
        {"attribute": "mail", "operator": "IS NOT NULL", "value": ""},
        {"attribute": "accountEnabled", "operator": "IS FALSE", "value": ""},
    ]}]
    html = text(alice_client.get(scoping_url(users_mapping)))
    assert re.search(r'name="clause-1-value" value=""[^>]*data-value hidden', html)


def test_empty_rows_are_left_out_and_saving_none_clears_the_filters(alice_client, users_mapping):
    users_mapping.scoping_filters = [{"clauses": [{"attribute": "city", "operator": "EQUALS", "value": "Oslo"}]}]
    users_mapping.save()
    post(alice_client, users_mapping, clause(1, 1, "department", "EQUALS", "Sales"), clause(2, 1, "", "EQUALS", ""),
         clause(3, 2, " ", "EQUALS", ""))
    assert saved(users_mapping) == [{"clauses": [{"attribute": "department", "operator": "EQUALS",
                                                  "value": "Sales"}]}]
    post(alice_client, users_mapping)
    assert saved(users_mapping) == []
    assert from_job(users_mapping.job).users.filters == ()


def test_an_unknown_attribute_is_saved_with_a_warning(alice_client, users_mapping):
    response = post(alice_client, users_mapping, clause(1, 1, "Department", "EQUALS", "Sales"))
    assert response.status_code == 302
    page = text(alice_client.get(response["Location"]))
    assert "did you mean &quot;department&quot;?" in page
    assert saved(users_mapping)[0]["clauses"][0]["attribute"] == "Department"


def test_readers_see_the_filters_read_only(bob_client, users_mapping):
    users_mapping.scoping_filters = [{"clauses": [{"attribute": "city", "operator": "EQUALS", "value": "Oslo"}]}]
    users_mapping.save()
    html = text(bob_client.get(scoping_url(users_mapping)))
    assert 'id="save"' not in html and 'id="add-filter"' not in html and "data-remove-clause" not in html
    assert re.search(r'name="clause-1-attribute"[^>]*disabled', html)
    assert re.search(r'<select name="clause-1-operator"[^>]*disabled', html)
    assert 'id="clause-template"' not in html


def test_filters_keep_their_titles_and_a_title_too_long_is_refused(alice_client, users_mapping):
    response = post(alice_client, users_mapping, clause(1, 1, "department", "EQUALS", "Sales"),
                    clause(2, 2, "userAccountControl", "!&", "2"),
                    {"filter-1-title": "  Sales people  ", "filter-2-title": ""})
    assert response.status_code == 302
    assert saved(users_mapping) == [
        {"title": "Sales people", "clauses": [{"attribute": "department", "operator": "EQUALS", "value": "Sales"}]},
        {"clauses": [{"attribute": "userAccountControl", "operator": "!&", "value": "2"}]},
    ]
    page = text(alice_client.get(scoping_url(users_mapping)))
    assert 'value="Sales people"' in page and "Scoping filter <span data-filter-number>1</span>: Sales people" in page
    assert from_job(users_mapping.job).users.filters[1] == (("userAccountControl", "!&", "2"),)

    refused = post(alice_client, users_mapping, clause(1, 1, "department", "EQUALS", "Sales"),
                   {"filter-1-title": "x" * 121})
    assert refused.status_code == 400
    assert "A title takes at most 120 characters." in text(refused)
    assert saved(users_mapping)[0]["title"] == "Sales people"  # nothing of the refused save

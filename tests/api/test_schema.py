"""synchronizationSchema: GET then PUT changes nothing; a PUT is checked exactly as the mapping editor and
the scoping filter editor check what they save, answers Graph's error with the field at fault, and saves
all or nothing."""

from __future__ import annotations

import copy

import pytest

from provisioning.constants import AuditActivity
from provisioning.models import AttributeMapping, AuditEvent, ObjectMapping
from provisioning.targets.dropbox.schema import ADMIN_ROLE
from tests.api.conftest import graph_error, job_path

pytestmark = pytest.mark.django_db


def _schema(api, job) -> dict:
    answer = api.get(job_path(job) + "/schema")
    assert answer.status_code == 200
    return answer.json()


def _users(schema: dict) -> dict:
    return next(m for m in schema["synchronizationRules"][0]["objectMappings"] if m["sourceObjectName"] == "User")


def _mapping(schema: dict, target: str) -> dict:
    return next(m for m in _users(schema)["attributeMappings"] if m["targetAttributeName"] == target)


def _rows(job):
    return list(AttributeMapping.objects.filter(object_mapping__job=job).order_by("id").values())


def test_get_then_put_changes_nothing(alice_api, application):
    job = application.job
    schema = _schema(alice_api, job)
    assert schema["id"] == job.job_id
    assert _mapping(schema, "email")["matchingPriority"] == 1
    assert _mapping(schema, "email")["source"] == {"type": "Attribute", "name": "userPrincipalName",
                                                   "expression": "[userPrincipalName]", "parameters": []}
    assert _mapping(schema, "active")["source"]["type"] == "Function"
    before = _rows(job)
    assert alice_api.put(job_path(job) + "/schema", schema).status_code == 204
    assert _rows(job) == before
    again = _schema(alice_api, job)
    assert again == schema
    assert not AuditEvent.objects.exists()


def test_a_put_changes_mappings_filters_and_actions_with_the_audit_trail(alice_api, application):
    job = application.job
    schema = _schema(alice_api, job)
    users = _users(schema)
    users["flowTypes"] = "Add, Update"
    users["scope"] = {"groups": [{"name": "Sales only", "clauses": [
        {"operatorName": "EQUALS", "sourceOperandName": "department", "targetOperand": {"values": ["Sales"]}}]}]}
    _mapping(schema, "givenName")["source"] = {"type": "Function", "expression": 'Join(" ", [givenName], "X")'}
    _mapping(schema, "surname")["defaultValue"] = "Unknown"
    users["attributeMappings"].append({"targetAttributeName": ADMIN_ROLE, "source": {"type": "Attribute",
                                       "name": "jobTitle"}, "flowType": "ObjectAddOnly"})
    answer = alice_api.put(job_path(job) + "/schema", schema)
    assert answer.status_code == 204, answer.content
    mapping = ObjectMapping.objects.get(job=job, object_type="user")
    assert (mapping.allow_create, mapping.allow_update, mapping.allow_delete) == (True, True, False)
    assert mapping.scoping_filters == [{"title": "Sales only", "clauses": [
        {"attribute": "department", "operator": "EQUALS", "value": "Sales"}]}]
    given = mapping.attributes.get(target_attribute="givenName")
    assert (given.mapping_type, given.expression) == ("Expression", 'Join(" ", [givenName], "X")')
    added = mapping.attributes.get(target_attribute=ADMIN_ROLE)
    assert (added.source_attribute, added.apply_when) == ("jobTitle", "create")
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_MAPPINGS)
    assert event.actor_display == 'alice@example.org (via API token "script")'
    assert event.after["scoping_filters"] == '(department EQUALS "Sales")'
    # what was PUT is what GET answers now
    again = _users(_schema(alice_api, job))
    assert again["flowTypes"] == "Add, Update" and again["scope"] == users["scope"]
    assert _mapping({"synchronizationRules": [{"objectMappings": [again]}]}, ADMIN_ROLE)["flowType"] == "ObjectAddOnly"
    assert [m["targetAttributeName"] for m in again["attributeMappings"]] == [
        m["targetAttributeName"] for m in users["attributeMappings"]]


def _broken(schema: dict, how) -> dict:
    schema = copy.deepcopy(schema)
    how(schema)
    return schema


CASES = {
    "an expression that does not parse": (
        lambda s: _mapping(s, "active")["source"].update(expression='Switch([IsSoftDeleted], "False"'),
        ".attributeMappings[4].source.expression", ""),
    "a required target left out": (
        lambda s: _users(s)["attributeMappings"].remove(_mapping(s, "email")) or _mapping(s, "givenName").update(
            matchingPriority=1),
        ".attributeMappings", "email is required by Dropbox for Business"),
    "no matching attribute": (
        lambda s: _mapping(s, "email").update(matchingPriority=0),
        ".attributeMappings[0].matchingPriority", "At least one mapping must match objects"),
    "two attributes at one precedence": (
        lambda s: _mapping(s, "externalId").update(matchingPriority=1),
        ".attributeMappings[0].matchingPriority", "Precedence 1 is already used"),
    "a constant that matches": (
        lambda s: _mapping(s, "givenName").update(matchingPriority=2, source={"type": "Constant", "name": "A"}),
        ".attributeMappings[1].matchingPriority", "Only a Direct or Expression mapping can match"),
    "an unknown target attribute": (
        lambda s: _mapping(s, "givenName").update(targetAttributeName="shoeSize"),
        ".attributeMappings[1].targetAttributeName", "Select a valid choice"),
    "a target mapped twice": (
        lambda s: _mapping(s, "surname").update(targetAttributeName="givenName"),
        ".attributeMappings[1].targetAttributeName", "givenName is already mapped"),
    "an unknown source type": (
        lambda s: _mapping(s, "givenName").update(source={"type": "Magic"}),
        ".attributeMappings[1].source.type", "is not a source type"),
    "an attribute name that is not one": (
        lambda s: _mapping(s, "givenName").update(source={"type": "Attribute", "name": "given name"}),
        ".attributeMappings[1].source.name", "is not an attribute name"),
    "an unknown scoping operator": (
        lambda s: _users(s).update(scope={"groups": [{"name": "", "clauses": [
            {"operatorName": "LIKE", "sourceOperandName": "department", "targetOperand": {"values": ["x"]}}]}]}),
        ".scope.groups[0].clauses[0]", ""),
    "a regular expression that does not compile": (
        lambda s: _users(s).update(scope={"groups": [{"name": "", "clauses": [
            {"operatorName": "REGEX MATCH", "sourceOperandName": "department", "targetOperand": {"values": ["(a"]}}]}]}),
        ".scope.groups[0].clauses[0]", ""),
    "an unknown object action": (
        lambda s: _users(s).update(flowTypes="Add, Explode"), ".flowTypes", "Explode"),
    "the users mapping disabled": (
        lambda s: _users(s).update(enabled=False), ".enabled", "always enabled"),
    "an object mapping missing": (
        lambda s: s["synchronizationRules"][0]["objectMappings"].pop(1), "objectMappings", "Group mapping is missing"),
    "an unknown object": (
        lambda s: _users(s).update(sourceObjectName="Device"), ".sourceObjectName", "User or Group"),
    "no rules": (lambda s: s.update(synchronizationRules=[]), "synchronizationRules", "one rule"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_put_refused_names_the_field_and_saves_nothing(alice_api, application, case):
    how, target_end, words = CASES[case]
    job = application.job
    schema = _schema(alice_api, job)
    # a valid change beside the fault must not be saved either
    good = _broken(schema, lambda s: _mapping(s, "surname").update(defaultValue="Changed"))
    before = _rows(job), list(ObjectMapping.objects.filter(job=job).values())
    error = graph_error(alice_api.put(job_path(job) + "/schema", _broken(good, how)), 400, "BadRequest")
    assert error["target"].endswith(target_end), error
    assert words in error["message"], error
    assert error["details"] and all({"target", "message"} <= set(d) for d in error["details"])
    assert (_rows(job), list(ObjectMapping.objects.filter(job=job).values())) == before
    assert not AuditEvent.objects.filter(result="success").exists()


def test_a_put_that_is_not_a_schema_is_refused(alice_api, application):
    job = application.job
    graph_error(alice_api.put(job_path(job) + "/schema", "[]"), 400)
    graph_error(alice_api.put(job_path(job) + "/schema", "nonsense"), 400)
    graph_error(alice_api.put(job_path(job) + "/schema", {"synchronizationRules": "x"}), 400)


def test_a_reader_reads_the_schema_but_cannot_put_it(bob_api, application):
    schema = _schema(bob_api, application.job)
    graph_error(bob_api.put(job_path(application.job) + "/schema", schema), 403)

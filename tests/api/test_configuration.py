"""Configuration as a file: export (never a credential), import into another application with the
differences shown first and applied only on confirmation, in one transaction; versions kept after every
saved change, compared and rolled back."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.api.configuration import export_configuration
from portal.api.models import ConfigurationVersion
from provisioning.defaults import create_job
from provisioning.models import Application, AttributeMapping, ObjectMapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_applications(django_capture_on_commit_callbacks):
    """(test, production): each as added from the gallery, with its first version."""
    made = []
    for name, sp in (("Dropbox (test)", "sp-test"), ("Dropbox (production)", "sp-prod")):
        with django_capture_on_commit_callbacks(execute=True):
            app = Application.objects.create(display_name=name, app_id="app", service_principal_id=sp)
            job = create_job(app)
        job.target_refresh_token = f"secret-refresh-token-of-{sp}"
        job.save()
        made.append(app)
    return made


def _export(client, application) -> dict:
    response = client.get(reverse("portal:configuration_export", args=[application.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return json.loads(response.content)


def _upload(client, application, document, **extra):
    data = {"file": SimpleUploadedFile("configuration.json", json.dumps(document).encode(), "application/json"),
            **extra}
    return client.post(reverse("portal:configuration_import", args=[application.pk]), data)


def _edited(document: dict) -> dict:
    document["schedule"]["interval"] = "PT1H"
    document["settings"]["deletionThreshold"] = 25
    users = document["schema"]["synchronizationRules"][0]["objectMappings"][0]
    users["scope"] = {"groups": [{"name": "", "clauses": [
        {"operatorName": "EQUALS", "sourceOperandName": "department", "targetOperand": {"values": ["Sales"]}}]}]}
    users["attributeMappings"][1]["source"] = {"type": "Function", "expression": "ToUpper([givenName])"}
    return document


def test_the_export_holds_the_whole_configuration_and_no_credential(alice_client, two_applications):
    test, _ = two_applications
    document = _export(alice_client, test)
    assert document["@odata.type"] == "#portal.provisioningConfiguration"
    assert set(document) == {"@odata.type", "formatVersion", "exportedFrom", "settings", "schedule", "schema"}
    assert document["schedule"] == {"interval": "PT40M", "reconciliationInterval": "P1D"}
    assert document["settings"]["mode"] == "manual" and document["settings"]["onHardDeleted"] == "remove"
    assert "enabled" not in document["settings"]
    text = json.dumps(document)
    assert "secret-refresh-token" not in text and "refresh" not in text.lower()
    assert [m["sourceObjectName"] for m in document["schema"]["synchronizationRules"][0]["objectMappings"]] == [
        "User", "Group"]


def test_export_edit_import_into_another_application_and_roll_back(alice_client, two_applications,
                                                                  django_capture_on_commit_callbacks):
    test, production = two_applications
    before_test = export_configuration(test)
    document = _edited(_export(alice_client, test))

    review = _upload(alice_client, production, document)
    assert review.status_code == 200
    page = review.content.decode()
    assert "Dropbox (test)" in page and "Dropbox (production)" in page
    for path in ("schedule.interval", "settings.deletionThreshold",
                 ("schema.synchronizationRules[id=dropbox].objectMappings[sourceObjectName=User].scope.groups[0]"
                  ".clauses[0].operatorName"),
                 "attributeMappings[targetAttributeName=givenName].source.expression"):
        assert path in page, path
    assert "PT1H" in page and "ToUpper([givenName])" in page
    production.job.refresh_from_db()
    assert production.job.interval_minutes == 40  # nothing changes before the confirmation

    base = page.split('name="base" value="')[1].split('"')[0]
    with django_capture_on_commit_callbacks(execute=True):
        done = _upload(alice_client, production, document, confirm="yes", base=base)
    assert done.status_code == 302
    assert "The configuration was imported." in alice_client.get(done["Location"]).content.decode()
    production.job.refresh_from_db()
    assert (production.job.interval_minutes, production.job.deletion_threshold) == (60, 25)
    users = ObjectMapping.objects.get(job=production.job, object_type="user")
    assert users.scoping_filters[0]["clauses"][0]["value"] == "Sales"
    assert users.attributes.get(target_attribute="givenName").expression == "ToUpper([givenName])"
    assert production.job.target_refresh_token == "secret-refresh-token-of-sp-prod"  # credentials stay
    assert export_configuration(test) == before_test  # the source is untouched

    versions = list(ConfigurationVersion.objects.filter(application=production).order_by("number"))
    assert [(v.number, v.reason) for v in versions] == [
        (1, "Created"), (2, "Imported a configuration exported from Dropbox (test)")]
    assert versions[1].actor_display == "alice@example.org"

    compare = alice_client.get(reverse("portal:configuration_version", args=[production.pk, 2])).content.decode()
    assert "Differences with version 1" in compare and "ToUpper([givenName])" in compare

    with django_capture_on_commit_callbacks(execute=True):
        rolled = alice_client.post(reverse("portal:configuration_rollback", args=[production.pk, 1]))
    assert rolled.status_code == 302
    production.job.refresh_from_db()
    assert production.job.interval_minutes == 40
    assert ObjectMapping.objects.get(job=production.job, object_type="user").scoping_filters == []
    latest = ConfigurationVersion.objects.filter(application=production).first()
    assert (latest.number, latest.reason) == (3, "Rolled back to version 1")
    assert latest.configuration["schema"] == versions[0].configuration["schema"]
    page = alice_client.get(reverse("portal:configuration", args=[production.pk])).content.decode()
    assert "Version 3" in page and "Rolled back to version 1" in page


def test_an_import_refused_changes_nothing(alice_client, two_applications):
    test, production = two_applications
    document = _edited(_export(alice_client, test))
    document["schema"]["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][1]["source"] = {
        "type": "Function", "expression": "ToUpper([givenName]"}
    document["schedule"]["interval"] = "forty minutes"
    rows = list(AttributeMapping.objects.filter(object_mapping__job=production.job).values())
    for confirm in ({}, {"confirm": "yes", "base": "x"}):
        answer = _upload(alice_client, production, document, **confirm)
        assert answer.status_code == 400
        page = answer.content.decode()
        assert "This file cannot be imported: nothing was changed." in page
        assert "schedule.interval" in page and "attributeMappings[1].source.expression" in page
    production.job.refresh_from_db()
    assert production.job.interval_minutes == 40 and production.job.deletion_threshold == 500
    assert list(AttributeMapping.objects.filter(object_mapping__job=production.job).values()) == rows


@pytest.mark.parametrize("content, words", [
    (b"{not json", "The file is not JSON"),
    (b"", "Choose a configuration file"),
    (json.dumps({"settings": {}}).encode(), "This is not a provisioning configuration file"),
])
def test_a_file_that_is_not_a_configuration_is_refused(alice_client, two_applications, content, words):
    _, production = two_applications
    answer = alice_client.post(reverse("portal:configuration_import", args=[production.pk]),
                               {"file": SimpleUploadedFile("x.json", content, "application/json")}, follow=True)
    assert words in answer.content.decode()


def test_an_import_reviewed_against_an_older_configuration_is_refused(alice_client, two_applications):
    test, production = two_applications
    document = _edited(_export(alice_client, test))
    page = _upload(alice_client, production, document).content.decode()
    base = page.split('name="base" value="')[1].split('"')[0]
    production.job.interval_minutes = 15  # someone saves a change meanwhile
    production.job.save()
    answer = _upload(alice_client, production, document, confirm="yes", base=base)
    assert "The configuration was changed since the differences were shown" in \
        alice_client.get(answer["Location"]).content.decode()
    production.job.refresh_from_db()
    assert production.job.interval_minutes == 15 and production.job.deletion_threshold == 500


def test_every_saved_change_keeps_a_version_and_an_unchanged_save_none(alice_client, two_applications,
                                                                       django_capture_on_commit_callbacks):
    _, production = two_applications
    mapping = AttributeMapping.objects.get(object_mapping__job=production.job, object_mapping__object_type="user",
                                           target_attribute="surname")
    url = reverse("portal:edit_attribute_mapping", args=[production.pk, "user", mapping.pk])
    data = {"mapping_type": "Direct", "source_attribute": "surname", "target_attribute": "surname",
            "default_value": "Unknown", "apply_when": "always", "matching_precedence": ""}
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.post(url, data).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.post(url, data).status_code == 302  # the same again: nothing changed
    versions = list(ConfigurationVersion.objects.filter(application=production).order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].reason == "Update attribute mappings or scope" and versions[1].actor_display == \
        "alice@example.org"
    surname = next(m for m in versions[1].configuration["schema"]["synchronizationRules"][0]["objectMappings"][0][
        "attributeMappings"] if m["targetAttributeName"] == "surname")
    assert surname["defaultValue"] == "Unknown"


def test_a_reader_sees_versions_and_exports_but_changes_nothing(bob_client, two_applications):
    test, production = two_applications
    assert bob_client.get(reverse("portal:configuration", args=[production.pk])).status_code == 200
    assert bob_client.get(reverse("portal:configuration_version", args=[production.pk, 1])).status_code == 200
    assert bob_client.get(reverse("portal:configuration_version_download", args=[production.pk, 1])).status_code \
        == 200
    document = export_configuration(test)
    assert _upload(bob_client, production, document).status_code == 403
    assert bob_client.post(reverse("portal:configuration_rollback", args=[production.pk, 1])).status_code == 403
    page = bob_client.get(reverse("portal:configuration", args=[production.pk])).content.decode()
    assert "Only Provisioning administrators can import a configuration." in page and 'type="file"' not in page


def test_the_api_exports_imports_lists_compares_and_restores_versions(client, alice, bob, two_applications,
                                                                      django_capture_on_commit_callbacks):
    from tests.api.conftest import Api, graph_error, issue, job_path

    test, production = two_applications
    api, reader = Api(client, issue(alice)), Api(client, issue(bob, scope="read"))
    document = _edited(api.get(job_path(test.job) + "/configuration").json())
    assert "secret-refresh-token" not in json.dumps(document)
    path = job_path(production.job) + "/configuration"

    dry = api.put(path + "?dryRun=true", document)
    assert dry.status_code == 200 and "changed" not in dry.json()
    assert {c["path"] for c in dry.json()["changes"]} >= {"schedule.interval", "settings.deletionThreshold"}
    graph_error(reader.put(path + "?dryRun=true", document), 403)  # a PUT, even a dry run, needs write rights
    production.job.refresh_from_db()
    assert production.job.interval_minutes == 40

    graph_error(reader.put(path, document), 403)
    with django_capture_on_commit_callbacks(execute=True):
        done = api.put(path, document)
    assert done.status_code == 200 and done.json()["changed"] is True
    production.job.refresh_from_db()
    assert production.job.interval_minutes == 60

    versions = reader.get(path + "/versions").json()["value"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["initiatedBy"] == 'alice@example.org (via API token "script")'
    compared = reader.get(path + "/versions/2", {"compare": "1"}).json()
    assert any(c["path"] == "schedule.interval" and (c["before"], c["after"]) == ("PT40M", "PT1H")
               for c in compared["changes"])
    graph_error(reader.get(path + "/versions/9"), 404)
    graph_error(reader.get(path + "/versions/2", {"compare": "x"}), 400)

    broken = json.loads(json.dumps(document))
    broken["settings"]["scope"] = "everyone"
    error = graph_error(api.put(path, broken), 400)
    assert error["target"] == "settings.scope"

    with django_capture_on_commit_callbacks(execute=True):
        restored = api.post(path + "/versions/1/restore")
    assert restored.status_code == 200 and restored.json()["changed"] is True
    production.job.refresh_from_db()
    assert production.job.interval_minutes == 40
    assert reader.get(path + "/versions").json()["value"][0]["reason"] == "Rolled back to version 1"


def test_applications_added_before_versions_get_a_first_version_after_migrate(application):
    from portal.api.versions import record_baselines

    assert not ConfigurationVersion.objects.exists()
    record_baselines()
    record_baselines()  # once only
    version = ConfigurationVersion.objects.get()
    assert version.application == application and version.number == 1
    assert version.configuration == export_configuration(application)

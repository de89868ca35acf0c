"""Preview with these changes in the mapping editor and on the Attribute Mappings
page: the attribute mappings as edited, not saved, run as a dry run beside the
mappings as saved. A draft that Save would refuse is refused the same way and
previews nothing; a draft that is previewed is written nowhere: not to the saved
mappings, not to Dropbox."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from portal.views.mappings import _fields
from provisioning.constants import Action, AuditActivity, MappingType, ObjectType
from provisioning.engine.config import EngineConfig, ObjectRules, from_job, with_draft
from provisioning.models import AuditEvent, CyclePreview, ObjectLink, ObjectMapping, ProvisioningJob
from tests.engine.conftest import team
from tests.workers import wait_until

from .conftest import add_url, attribute, edit_url, mapping_fields, page_url


def saved_mappings(job) -> list[tuple]:
    """Every attribute mapping and object mapping head of the job, as stored."""
    rows = []
    for om in ObjectMapping.objects.filter(job=job).order_by("object_type"):
        rows.append((om.object_type, om.enabled, om.allow_create, om.allow_update, om.allow_delete))
        rows += list(om.attributes.order_by("id").values_list(
            "target_attribute", "mapping_type", "source_attribute", "constant_value", "expression",
            "default_value", "is_matching", "matching_precedence", "apply_when"))
    return rows


def users_of(job) -> ObjectMapping:
    return ObjectMapping.objects.get(job=job, object_type=ObjectType.USER)


# ---------------------------------------------------------------------------- end to end, on a real worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_changed_mapping_previews_the_updates_it_would_make_and_writes_nothing(alice_client, job, run_cycle, dbx):
    cycle = run_cycle(job)
    assert cycle.status == "succeeded", cycle.error
    megan = ObjectLink.objects.get(job=job, object_type=ObjectType.USER, user_principal_name__startswith="megan.bowen")
    mappings_before, team_before = saved_mappings(job), team(dbx)
    writes_before = len(dbx.control("GET", "journal")["writes"])
    fingerprint = ProvisioningJob.objects.get(pk=job.pk).config_fingerprint
    audit_before = AuditEvent.objects.count()

    surname = attribute(users_of(job), "surname")
    data = mapping_fields(surname, mapping_type=MappingType.CONSTANT, constant_value="Contractor",
                          action="preview")
    response = alice_client.post(edit_url(surname), data)
    record = CyclePreview.objects.get(baseline__isnull=False)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:preview", args=[job.application_id, record.pk])
    drafted = {a["target_attribute"]: a for a in record.draft["mappings"]["user"]["attributes"]}
    assert drafted["surname"]["mapping_type"] == "Constant" and drafted["surname"]["constant_value"] == "Contractor"
    assert drafted["givenName"]["source_attribute"] == "givenName"  # the other mappings as saved

    finished = wait_until(lambda: not CyclePreview.objects.filter(status="running").exists(), timeout=120)
    assert finished, "the worker did not finish both previews"
    record.refresh_from_db()
    assert record.status == record.baseline.status == "done", (record.error, record.baseline.error)
    assert record.kind == record.baseline.kind  # compared like with like
    assert record.counts.get(Action.UPDATE, 0) > record.baseline.counts.get(Action.UPDATE, 0)
    updated = record.actions.get(source_id=megan.source_id)
    assert updated.action == Action.UPDATE
    assert {"name": "surname", "old": "Bowen", "new": "Contractor"} in updated.changes
    assert not record.baseline.actions.filter(source_id=megan.source_id, action=Action.UPDATE).exists()

    page = alice_client.get(response["Location"]).content.decode()
    assert 'id="preview-comparison"' in page and 'id="preview-changed"' in page
    row = page[page.index(megan.display_name, page.index('id="preview-changed"')):]
    row = row[:row.index("</tr>")]
    assert "<td>No change</td><td><strong>Update</strong></td>" in row
    assert "<strong>surname</strong>: Bowen" in row and "Contractor" in row

    assert saved_mappings(job) == mappings_before
    assert ProvisioningJob.objects.get(pk=job.pk).config_fingerprint == fingerprint
    assert not AuditEvent.objects.filter(activity=AuditActivity.UPDATE_MAPPINGS).exists()
    assert AuditEvent.objects.count() == audit_before
    assert len(dbx.control("GET", "journal")["writes"]) == writes_before
    assert team(dbx) == team_before


# ---------------------------------------------------------------------------- the views, previews not run


@pytest.mark.django_db
def test_a_draft_that_would_not_save_shows_the_same_errors_and_previews_nothing(alice_client, job, services):
    given = attribute(users_of(job), "givenName")
    broken = mapping_fields(given, mapping_type=MappingType.EXPRESSION, expression='Join(" ", [givenName]')
    saved = alice_client.post(edit_url(given), broken)
    previewed = alice_client.post(edit_url(given), {**broken, "action": "preview"})
    assert saved.status_code == previewed.status_code == 400
    error = saved.context["form"].errors["expression"]
    assert error and previewed.context["form"].errors["expression"] == error
    page = previewed.content.decode()
    assert escape(error[0]) in page and "Nothing was previewed: correct the fields marked below." in page
    assert not CyclePreview.objects.exists()
    assert attribute(users_of(job), "givenName").mapping_type == MappingType.DIRECT


@pytest.mark.django_db
def test_a_target_already_mapped_is_refused_in_a_preview_as_in_a_save(alice_client, job, services):
    given = attribute(users_of(job), "givenName")
    response = alice_client.post(edit_url(given), mapping_fields(given, target_attribute="surname",
                                                                 action="preview"))
    assert response.status_code == 400
    assert "surname is already mapped" in response.content.decode()
    assert not CyclePreview.objects.exists()


@pytest.mark.django_db
def test_a_new_mapping_is_previewed_added_to_the_saved_ones_and_not_added(alice_client, job, services):
    users = users_of(job)
    attribute(users, "externalId").delete()
    data = mapping_fields(target_attribute="externalId", source_attribute="employeeId", action="preview")
    response = alice_client.post(add_url(users), data)
    record = CyclePreview.objects.get(baseline__isnull=False)
    assert response["Location"] == reverse("portal:preview", args=[job.application_id, record.pk])
    targets = [a["target_attribute"] for a in record.draft["mappings"]["user"]["attributes"]]
    assert targets == [*users.attributes.values_list("target_attribute", flat=True), "externalId"]
    assert not users.attributes.filter(target_attribute="externalId").exists()
    assert record.kind == record.baseline.kind == "full"  # the draft changes what flows: both read everything


@pytest.mark.django_db
def test_target_object_actions_are_previewed_unsaved(alice_client, job, services):
    users = users_of(job)
    data = {"allow_create": "on", "allow_delete": "on", "action": "preview"}  # Update unticked
    page = alice_client.get(page_url(users)).content.decode()
    assert 'id="preview-changes"' in page and "Preview with these changes" in page
    response = alice_client.post(page_url(users), data)
    record = CyclePreview.objects.get(baseline__isnull=False)
    assert response["Location"] == reverse("portal:preview", args=[job.application_id, record.pk])
    assert record.draft == {"mappings": {"user": {"enabled": True, "allow_create": True, "allow_update": False,
                                                  "allow_delete": True}}}
    assert ObjectMapping.objects.get(pk=users.pk).allow_update is True


@pytest.mark.django_db
def test_the_editor_offers_the_preview_to_administrators(alice_client, job, services):
    given = attribute(users_of(job), "givenName")
    page = alice_client.get(edit_url(given)).content.decode()
    assert '<button class="btn" type="submit" name="action" value="preview" id="preview-changes">' in page


@pytest.mark.django_db
def test_readers_cannot_preview_mapping_drafts(bob_client, job, services):
    given = attribute(users_of(job), "givenName")
    assert 'id="preview-changes"' not in bob_client.get(edit_url(given)).content.decode()
    response = bob_client.post(edit_url(given), mapping_fields(given, action="preview"))
    assert response.status_code == 403 and not CyclePreview.objects.exists()


@pytest.mark.django_db
def test_the_preview_waits_for_an_authorization(alice_client, application):
    users = ObjectMapping.objects.get(job__application=application, object_type=ObjectType.USER)
    given = attribute(users, "givenName")
    assert 'disabled title="Authorize first"' in alice_client.get(edit_url(given)).content.decode()
    response = alice_client.post(edit_url(given), mapping_fields(given, action="preview"), follow=True)
    assert "Authorize the portal against Dropbox before previewing a cycle." in response.content.decode()
    assert not CyclePreview.objects.exists()


# ---------------------------------------------------------------------------- with_draft


def test_a_mappings_draft_replaces_the_attribute_rules_and_the_object_actions():
    config = EngineConfig(service_principal_id="sp", users=ObjectRules(ObjectType.USER, filters=((("a", "EQUALS",
                                                                                                    "b"),),)))
    draft = {"mappings": {"user": {"allow_update": False, "attributes": [
        {"target_attribute": "email", "mapping_type": "Direct", "source_attribute": "mail", "is_matching": True,
         "matching_precedence": 1},
        {"target_attribute": "surname", "mapping_type": "Constant", "constant_value": "Contractor"},
    ]}, "group": {"enabled": True}}}
    drafted = with_draft(config, draft)
    assert [r.target for r in drafted.users.rules] == ["email", "surname"]
    assert drafted.users.rule("surname").constant == "Contractor"
    assert drafted.users.matching_rules[0].source == "mail"
    assert drafted.users.allow_update is False and drafted.users.allow_create is True
    assert drafted.users.filters == config.users.filters  # what the draft does not name stays as saved
    assert drafted.groups.enabled is True and not config.groups.enabled
    assert drafted.fingerprint() != config.fingerprint()


@pytest.mark.django_db
def test_a_draft_of_the_mappings_as_saved_changes_nothing(job, services):
    saved = from_job(ProvisioningJob.objects.get(pk=job.pk))
    users = users_of(job)
    draft = {"mappings": {"user": {"attributes": [_fields(m) for m in users.attributes.all()],
                                   "enabled": True, "allow_create": True, "allow_update": True,
                                   "allow_delete": True}}}
    assert with_draft(saved, draft) == saved

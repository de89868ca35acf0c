"""Preview with these changes: the Settings or the scoping filters as edited, not
saved, run as a dry run beside the configuration as saved; the page shows both
counts and the objects whose action would change; nothing is written to Dropbox
or to the saved configuration."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.constants import Action
from provisioning.engine.runner import preview
from provisioning.models import CyclePreview, ObjectMapping, ProvisioningJob
from tests.portal.test_provisioning_page import form_data

pytestmark = pytest.mark.django_db


def run_both(record: CyclePreview) -> CyclePreview:
    preview(record.baseline_id)
    preview(record.pk)
    record.refresh_from_db()
    return record


def test_a_settings_draft_is_previewed_beside_the_saved_settings_and_not_saved(alice_client, job, services, dbx):
    writes_before = len(dbx.control("GET", "journal")["writes"])
    fingerprint = ProvisioningJob.objects.get(pk=job.pk).config_fingerprint
    data = {**form_data(job), "mode": "automatic", "action": "preview", "scope": "all"}
    response = alice_client.post(reverse("portal:provisioning_save", args=[job.application_id]), data)
    record = CyclePreview.objects.get(baseline__isnull=False)
    assert response["Location"] == reverse("portal:preview", args=[job.application_id, record.pk])
    assert record.draft["settings"]["scope"] == "all" and not record.baseline.draft
    assert "Planning the next cycle" in alice_client.get(response["Location"]).content.decode()

    record = run_both(record)
    assert record.counts[Action.CREATE] > record.baseline.counts[Action.CREATE]
    page = alice_client.get(response["Location"]).content.decode()
    assert 'id="draft-preview"' in page and 'id="preview-comparison"' in page
    assert "Preview with these changes" in page
    saved = {(t, s): a for t, s, a in record.baseline.actions.values_list("object_type", "source_id", "action")}
    draft = {(t, s): a for t, s, a in record.actions.values_list("object_type", "source_id", "action")}
    changed = sum(1 for key in set(saved) | set(draft) if saved.get(key) != draft.get(key))
    assert changed >= record.counts[Action.CREATE] - record.baseline.counts[Action.CREATE] > 0
    assert f"{changed} objects whose action the changes would change" in page
    assert "<td>No change</td><td><strong>Create</strong></td>" in page

    saved = ProvisioningJob.objects.get(pk=job.pk)
    assert saved.scope == "assigned" and saved.config_fingerprint == fingerprint and saved.mode == job.mode
    assert len(dbx.control("GET", "journal")["writes"]) == writes_before


def test_a_scoping_filter_draft_shows_who_would_leave_scope(alice_client, job, services):
    mapping = ObjectMapping.objects.get(job=job, object_type="user")
    data = {"action": "preview", "clause-1-filter": "1", "clause-1-attribute": "department",
            "clause-1-operator": "EQUALS", "clause-1-value": "Sales"}
    response = alice_client.post(reverse("portal:scoping_filters", args=[job.application_id, "user"]), data)
    record = run_both(CyclePreview.objects.get(baseline__isnull=False))
    assert response["Location"] == reverse("portal:preview", args=[job.application_id, record.pk])
    assert record.kind == record.baseline.kind  # compared like with like
    assert record.counts.get(Action.CREATE, 0) < record.baseline.counts[Action.CREATE]
    skipped = record.actions.filter(action=Action.SKIP, reason__contains="scoping filters")
    assert skipped.exists()
    page = alice_client.get(response["Location"]).content.decode()
    assert "<td>Create</td><td><strong>Skip</strong></td>" in page
    assert ObjectMapping.objects.get(pk=mapping.pk).scoping_filters == []  # nothing saved


def test_an_invalid_draft_is_refused_at_the_field_and_previews_nothing(alice_client, job, services):
    data = {"action": "preview", "clause-1-filter": "1", "clause-1-attribute": "department",
            "clause-1-operator": "Greater_Than", "clause-1-value": "ten"}
    response = alice_client.post(reverse("portal:scoping_filters", args=[job.application_id, "user"]), data)
    assert response.status_code == 400 and not CyclePreview.objects.exists()
    bad = {**form_data(job), "action": "preview", "deletion_threshold": "0"}
    assert alice_client.post(reverse("portal:provisioning_save", args=[job.application_id]), bad).status_code == 400
    assert not CyclePreview.objects.exists()


def test_readers_cannot_preview_drafts(bob_client, job, services):
    data = {**form_data(job), "action": "preview"}
    assert bob_client.post(reverse("portal:provisioning_save", args=[job.application_id]), data).status_code == 403
    assert not CyclePreview.objects.exists()

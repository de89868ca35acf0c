"""Preview (a dry run of the whole next cycle, writing nothing) and
``manage.py provision``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from provisioning.constants import Action, CycleStatus
from provisioning.engine.runner import preview
from provisioning.models import CyclePreview, ObjectLink, ProvisioningLog, SyncCycle

from .conftest import team, write_calls

pytestmark = pytest.mark.django_db


def test_a_preview_reads_everything_and_writes_nothing(job, services):
    _, dbx = services
    before = team(dbx)
    dbx.reset_stats()
    record = preview(CyclePreview.objects.create(job=job).pk)
    assert record.status == "done" and record.kind == "initial"
    assert write_calls(dbx) == {}
    assert team(dbx) == before
    assert not ObjectLink.objects.exists() and not ProvisioningLog.objects.exists()
    job.refresh_from_db()
    assert not job.user_delta_link

    creates = record.counts["Create"]
    planned_users = set(record.actions.filter(action=Action.CREATE, object_type="user")
                        .values_list("user_principal_name", flat=True))
    call_command("provision", stdout=StringIO())
    cycle = SyncCycle.objects.get()
    assert cycle.status == CycleStatus.SUCCEEDED
    done = set(ProvisioningLog.objects.filter(action=Action.CREATE, object_type="user")
               .values_list("source_upn", flat=True))
    assert done == planned_users
    assert creates == ProvisioningLog.objects.filter(action=Action.CREATE).count()


def test_the_preview_page_shows_counts_and_the_planned_actions(alice_client, job, services):
    response = alice_client.post(reverse("portal:preview_start", args=[job.application_id]))
    record = CyclePreview.objects.get()
    assert response["Location"] == reverse("portal:preview", args=[job.application_id, record.pk])
    page = alice_client.get(response["Location"]).content.decode()
    assert "Planning the next cycle" in page
    preview(record.pk)
    page = alice_client.get(response["Location"], {"action": "Create"}).content.decode()
    assert "would be written to Dropbox" in page
    assert 'id="preview-actions"' in page and "The user is in scope and has no Dropbox account." in page


def test_the_command_runs_a_cycle_and_prints_its_summary(job, services):
    out = StringIO()
    call_command("provision", "--app", "Dropbox for Business", stdout=out)
    text = out.getvalue()
    assert "Initial cycle" in text and "Completed" in text
    assert "Create" in text and "calls" in text
    out = StringIO()
    call_command("provision", "--dry-run", stdout=out)
    assert "Preview of the next incremental cycle" in out.getvalue()
    out = StringIO()
    call_command("provision", "--full", stdout=out)
    assert "Full cycle" in out.getvalue()


def test_the_command_names_a_missing_application(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No application yet"):
        call_command("provision")


def test_the_command_runs_account_discovery_and_prints_the_counts(job, services):
    out = StringIO()
    call_command("provision", "--discover", stdout=out)
    text = out.getvalue()
    assert "Account discovery of Dropbox for Business:" in text
    assert "Will be matched" in text and "Protected" in text and "Orphan" in text


def test_the_command_will_not_discover_before_authorization(application):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Authorize the portal against Dropbox first"):
        call_command("provision", "--discover")

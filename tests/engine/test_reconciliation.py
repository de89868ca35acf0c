"""Scheduled reconciliation: a full cycle on its own schedule corrects drift made
by hand in Dropbox on linked members and counts the members linked to no user,
which the Overview reports; switched off, only the usual reasons bring a full cycle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from dropbox import team as T

from provisioning.constants import Action, CycleKind, CycleStatus
from provisioning.engine.config import from_job
from provisioning.engine.runner import choose_kind, reconciliation_due
from provisioning.models import ObjectLink, ProvisioningJob, ProvisioningLog, SyncCycle

from .conftest import team

pytestmark = pytest.mark.django_db


def settled(job, **fields):
    """The job as after a successful incremental cycle, with these fields."""
    ProvisioningJob.objects.filter(pk=job.pk).update(user_delta_link="u", group_delta_link="g",
                                                     config_fingerprint=from_job(job).fingerprint(), **fields)
    SyncCycle.objects.create(job=job, kind=CycleKind.INCREMENTAL, status=CycleStatus.SUCCEEDED)
    job.refresh_from_db()
    return job


def test_a_full_cycle_comes_when_reconciliation_is_due_and_not_before(application):
    job = settled(application.job, last_full_cycle_at=timezone.now() - timedelta(hours=23))
    assert job.reconcile_every_hours == 24  # the default: daily
    assert choose_kind(job, job.config_fingerprint, False) == CycleKind.INCREMENTAL
    job = settled(job, last_full_cycle_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert reconciliation_due(job) and choose_kind(job, job.config_fingerprint, False) == CycleKind.FULL


def test_reconciliation_off_brings_no_full_cycle(application):
    job = settled(application.job, last_full_cycle_at=timezone.now() - timedelta(days=400),
                  reconcile_every_hours=None)
    assert not reconciliation_due(job)
    assert choose_kind(job, job.config_fingerprint, False) == CycleKind.INCREMENTAL


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_scheduled_full_cycle_corrects_drift_and_counts_members_linked_to_no_user(job, run_cycle, services,
                                                                                   alice):
    dbx = services[1]
    first = run_cycle(job)
    assert first.kind == CycleKind.INITIAL and first.unlinked_accounts is not None
    job.refresh_from_db()
    assert job.last_full_cycle_at is not None
    link = ObjectLink.objects.filter(job=job, object_type="user").exclude(target_email=job.target_admin_email) \
        .exclude(exported__givenName="").first()
    client = dbx.team_client()
    client.team_members_set_profile_v2(T.UserSelectorArg.team_member_id(link.target_id), new_given_name="ByHand")
    client.team_members_add_v2([T.MemberAddV2Arg("added.by.hand@contoso.com", "Added", "ByHand")])

    incremental = run_cycle(job)
    assert incremental.kind == CycleKind.INCREMENTAL and incremental.unlinked_accounts is None
    assert team(dbx)[link.target_email]["given_name"] == "ByHand"  # an incremental cycle does not read the team

    ProvisioningJob.objects.filter(pk=job.pk).update(last_full_cycle_at=timezone.now() - timedelta(hours=25))
    reconciled = run_cycle(job)
    assert reconciled.kind == CycleKind.FULL and reconciled.status == CycleStatus.SUCCEEDED, reconciled.error
    assert team(dbx)[link.target_email]["given_name"] == link.exported["givenName"]
    fixed = ProvisioningLog.objects.get(job=job, cycle_id=reconciled.cycle_id, source_id=link.source_id)
    assert fixed.action == Action.UPDATE
    assert {(p["name"], p["old"], p["new"]) for p in fixed.modified_properties} == {
        ("givenName", "ByHand", link.exported["givenName"])}
    assert reconciled.unlinked_accounts == first.unlinked_accounts + 1

    browser = Client()
    browser.force_login(alice)
    page = browser.get(reverse("portal:overview", args=[job.application_id])).content.decode()
    assert (f"{reconciled.unlinked_accounts} Dropbox member" in page
            and "1 more than the full cycle before" in page and 'id="unlinked-accounts"' in page)
    assert "Reconciliation: a full cycle every 24 hours, next after" in page

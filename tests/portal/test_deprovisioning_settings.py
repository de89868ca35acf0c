"""Settings › Deprovisioning: what leaving means per cause, how members are
removed, and silent invitations; saved with an audit event, refused at the
field when Dropbox would refuse the combination."""

from __future__ import annotations

import pytest

from provisioning.constants import AuditActivity, LeaveAction
from provisioning.models import AuditEvent, ProvisioningJob
from tests.portal.test_provisioning_page import admin_client, page_text, save  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def job_of(application) -> ProvisioningJob:
    return ProvisioningJob.objects.get(application=application)


def test_the_page_shows_each_cause_with_its_default(admin_client, application):  # noqa: F811
    from django.urls import reverse

    html = page_text(admin_client.get(reverse("portal:provisioning", args=[application.pk])))
    for label in ("When a user is unassigned from the application", "When a user no longer matches the scoping filters",
                  "When a user is disabled in Microsoft Entra ID",
                  "When a user is deleted in Microsoft Entra ID (recycle bin)",
                  "When a user is permanently deleted in Microsoft Entra ID",
                  "Keep removed members&#x27; accounts as Dropbox accounts of their own",
                  "Send Dropbox&#x27;s welcome email to new members"):
        assert label in html
    assert '<option value="remove" selected>Remove at once</option>' in html  # permanently deleted
    assert html.count('<option value="suspend" selected>') == 4


def test_choices_are_saved_and_audited(admin_client, application):  # noqa: F811
    response = save(admin_client, application, on_unassigned="nothing", on_disabled="remove",
                    on_hard_deleted="suspend", keep_account_on_remove="on", send_welcome_email="")
    assert response.status_code == 302
    job = job_of(application)
    assert (job.on_unassigned, job.on_disabled, job.on_hard_deleted) == (
        LeaveAction.NOTHING, LeaveAction.REMOVE, LeaveAction.SUSPEND)
    assert job.keep_account_on_remove is True and job.send_welcome_email is False
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_SETTINGS)
    assert event.before["on_unassigned"] == "Suspend (removed after the grace period, if one is set)"
    assert event.after["on_unassigned"] == "Do nothing"
    assert (event.before["send_welcome_email"], event.after["send_welcome_email"]) == (True, False)


def test_an_unknown_choice_is_a_field_error(admin_client, application):  # noqa: F811
    response = save(admin_client, application, on_disabled="delete-everything")
    assert response.status_code == 400
    assert "Select a valid choice. delete-everything is not one of the available choices." in page_text(response)
    assert job_of(application).on_disabled == LeaveAction.SUSPEND


def test_a_kept_account_cannot_also_be_wiped(admin_client, application):  # noqa: F811
    response = save(admin_client, application, keep_account_on_remove="on", wipe_devices_on_remove="on")
    assert response.status_code == 400
    assert "A kept account keeps its devices&#x27; data" in page_text(response)
    job = job_of(application)
    assert (job.keep_account_on_remove, job.wipe_devices_on_remove) == (False, False)


def test_a_kept_account_cannot_also_give_its_files_away(admin_client, application):  # noqa: F811
    response = save(admin_client, application, keep_account_on_remove="on",
                    transfer_files_to_email="admin@contoso.com")
    assert response.status_code == 400
    assert "A kept account keeps its files" in page_text(response)
    assert job_of(application).keep_account_on_remove is False


def test_reconciliation_is_daily_by_default_can_be_switched_off_and_takes_only_sensible_hours(
        admin_client, application):  # noqa: F811
    assert job_of(application).reconcile_every_hours == 24
    assert save(admin_client, application, reconcile_every_hours="").status_code == 302
    assert job_of(application).reconcile_every_hours is None
    for bad in ("0", "721", "daily"):
        response = save(admin_client, application, reconcile_every_hours=bad)
        assert response.status_code == 400, bad
        assert job_of(application).reconcile_every_hours is None
    assert save(admin_client, application, reconcile_every_hours="6").status_code == 302
    assert job_of(application).reconcile_every_hours == 6

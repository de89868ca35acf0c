"""Delete application: only with its name typed, audited; provisioning stops and the
credentials are forgotten at once, nothing changes in Dropbox, its pages are gone
but its provisioning logs stay readable until the retention period ends, when the
rest of it is purged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from provisioning.constants import AuditActivity
from provisioning.models import Application, AuditEvent, ProvisioningJob, ProvisioningLog
from provisioning.tasks import purge_old_logs

pytestmark = pytest.mark.django_db


def delete(client, application, name=None):
    return client.post(reverse("portal:delete_application", args=[application.pk]),
                       {"confirm_name": application.display_name if name is None else name}, follow=True)


def test_it_needs_the_name_typed(alice_client, application):
    page = delete(alice_client, application, name="something else").content.decode()
    assert "The application was not deleted: type its name to confirm." in page
    assert Application.objects.get(pk=application.pk).deleted_at is None


def test_deleting_stops_provisioning_forgets_the_credentials_and_keeps_the_logs(alice_client, application):
    job = application.job
    ProvisioningJob.objects.filter(pk=job.pk).update(enabled=True, mode="automatic", target_refresh_token="secret-rt")
    ProvisioningLog.objects.create(job=job, activity_time=timezone.now(), change_id="0" * 32, action="Create",
                                   status="Success", source_display_name="Kept Person")
    page = delete(alice_client, application).content.decode()
    assert "was deleted. Nothing changed in Dropbox" in page and 'id="deleted-applications"' in page
    job.refresh_from_db()
    assert (job.enabled, job.mode, job.target_refresh_token, job.stop_requested) == (False, "manual", None, True)
    event = AuditEvent.objects.get(activity=AuditActivity.DELETE_APPLICATION)
    assert event.application_id == application.pk and "secret-rt" not in str(event.before) + event.detail

    assert alice_client.get(reverse("portal:overview", args=[application.pk])).status_code == 404
    assert alice_client.get(reverse("portal:provisioning", args=[application.pk])).status_code == 404
    logs = alice_client.get(reverse("portal:provisioning_logs", args=[application.pk]), {"date": "30d"})
    assert logs.status_code == 200 and "Kept Person" in logs.content.decode()
    assert 'id="deleted-application"' in logs.content.decode()
    listing = alice_client.get(reverse("portal:applications")).content.decode()
    assert "0 applications found" in listing


def test_what_is_left_is_purged_after_the_retention_period(alice_client, application, settings):
    delete(alice_client, application)
    purge_old_logs()
    assert Application.objects.filter(pk=application.pk).exists()  # within the retention period
    Application.objects.filter(pk=application.pk).update(
        deleted_at=timezone.now() - timedelta(days=settings.PROVISIONING_LOG_RETENTION_DAYS + 1))
    purge_old_logs()
    assert not Application.objects.filter(pk=application.pk).exists()
    assert AuditEvent.objects.filter(activity=AuditActivity.DELETE_APPLICATION).exists()  # the trail stays


def test_readers_cannot_delete(bob_client, application):
    assert bob_client.post(reverse("portal:delete_application", args=[application.pk]),
                           {"confirm_name": application.display_name}).status_code == 403
    assert Application.objects.get(pk=application.pk).deleted_at is None

"""Turning provisioning On and Off, shared by the Provisioning page's status
and the Overview's Start and Stop buttons: audited, and acted on after commit."""

from __future__ import annotations

from django.http import HttpRequest

from provisioning import audit
from provisioning.constants import AuditActivity
from provisioning.engine.runner import request_stop
from provisioning.tasks import enqueue_run


def started(request: HttpRequest, job, *, was_enabled: bool) -> None:
    """The job was just saved with provisioning On: record it and start a cycle once committed."""
    application = job.application
    audit.record(AuditActivity.START, request=request, target=application, application=application,
                 before={"status": "On" if was_enabled else "Off"}, after={"status": "On"})
    enqueue_run(job, initiated_by=request.user.email)


def stopped(request: HttpRequest, job) -> None:
    """The job was just saved with provisioning Off: record it and stop a running cycle at its next batch."""
    application = job.application
    request_stop(job)
    audit.record(AuditActivity.STOP, request=request, target=application, application=application,
                 before={"status": "On"}, after={"status": "Off"})

"""What the API and the command line both do, beyond provisioning.jobs: find a job by any of its names,
read Graph's resetScope, restart with it, and wait for a provision-on-demand run."""

from __future__ import annotations

import time

from django.db.models import Q

from provisioning import jobs
from provisioning.models import OnDemandRun, ProvisioningJob

RESET_SCOPES = ("None", "ConnectorDataStore", "Escrows", "Watermark", "QuarantineState", "Full", "ForceDeletes")


class OperationError(Exception):
    """Input that cannot be acted on; the message says why."""


def find_job(identifier: str) -> ProvisioningJob | None:
    """A job (of an application not deleted) by its job id, its application's id or name, or its service
    principal's id (when that names one job only)."""
    jobs_ = ProvisioningJob.objects.select_related("application").filter(application__deleted_at__isnull=True)
    found = jobs_.filter(job_id=identifier).first()
    if found is not None:
        return found
    query = Q(application__display_name=identifier) | Q(application__service_principal_id=identifier)
    try:
        import uuid

        query |= Q(application__pk=uuid.UUID(identifier))
    except ValueError:
        pass
    matches = list(jobs_.filter(query)[:2]) if identifier else []
    if len(matches) > 1:
        raise OperationError(f"{identifier!r} names several applications: give the job id (jobs list).")
    return matches[0] if matches else None


def parse_reset_scope(text: str) -> set[str]:
    """Graph's criteria.resetScope: a comma-separated combination of its flags."""
    flags = {flag.strip() for flag in (text or "").split(",") if flag.strip()}
    unknown = flags - set(RESET_SCOPES)
    if unknown:
        raise OperationError(f"{', '.join(sorted(unknown))}: resetScope combines {', '.join(RESET_SCOPES)}.")
    if "ConnectorDataStore" in flags:
        raise OperationError("ConnectorDataStore is not offered: the portal keeps its links to target objects. "
                             "Remove single links on the Object links page.")
    return flags


def restart(job: ProvisioningJob, actor: jobs.Actor, flags: set[str]) -> None:
    """Restart provisioning as resetScope says: anything but ForceDeletes alone is the portal's Restart
    provisioning (delta links, escrows and quarantine cleared, links kept); ForceDeletes also lets the next cycle
    run the deletions that accidental-deletion prevention staged (jobs.JobError when none are)."""
    if "ForceDeletes" in flags:
        if job.staged_cycle is None:
            raise jobs.JobError("No deletions are waiting for approval.")
        jobs.allow_deletes(job, actor)
        if flags <= {"ForceDeletes"}:
            return
    jobs.restart(job, actor)


def wait_for(run: OnDemandRun, seconds: float) -> OnDemandRun:
    """The run once the worker is done with it, or as it is after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        run.refresh_from_db()
        if run.status != "running" or time.monotonic() >= deadline:
            return run
        time.sleep(0.2)

"""Celery tasks. Each is a few lines: take primary keys, claim, call plain code."""

from __future__ import annotations

import socket
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from .constants import ProvisioningMode
from .models import ProvisioningJob, ProvisioningLog, ServiceHeartbeat


@shared_task(name="provisioning.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Record that a worker is alive (beat's own liveness is its last_run_at)."""
    ServiceHeartbeat.objects.update_or_create(
        name="worker", defaults={"last_seen": timezone.now(), "hostname": socket.gethostname()}
    )


@shared_task(name="provisioning.tasks.run_job", ignore_result=True)
def run_job(job_id: int, force_full: bool = False, initiated_by: str = "") -> None:
    """Run one cycle of a job; skipped when another run holds its lease."""
    from .engine.runner import run_job as run

    run(job_id, force_full=force_full, initiated_by=initiated_by)


@shared_task(name="provisioning.tasks.dispatch_due_jobs", ignore_result=True)
def dispatch_due_jobs(queue: str | None = None) -> int:
    """Enqueue the jobs whose next cycle is due and whose lease is free or expired (beat calls this every
    few seconds); ``queue`` sends them to a queue of its own rather than the default one."""
    now = timezone.now()
    due = ProvisioningJob.objects.filter(enabled=True, mode=ProvisioningMode.AUTOMATIC,
                                         application__deleted_at__isnull=True).filter(
        Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)
    ).filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)).values_list("pk", flat=True)
    count = 0
    for job_id in due:
        run_job.apply_async(args=[job_id], queue=queue) if queue else run_job.delay(job_id)
        count += 1
    return count


@shared_task(name="provisioning.tasks.preview_job", ignore_result=True)
def preview_job(preview_id: int) -> None:
    from .engine.runner import preview

    preview(preview_id)


@shared_task(name="provisioning.tasks.discover_accounts", ignore_result=True)
def discover_accounts(discovery_id: int) -> None:
    from .discovery import run

    run(discovery_id)


@shared_task(name="provisioning.tasks.provision_on_demand", ignore_result=True)
def provision_on_demand(run_id: int) -> None:
    from .engine.ondemand import run

    run(run_id)


@shared_task(name="provisioning.tasks.record_lost_cycle", ignore_result=True, autoretry_for=(DatabaseError,),
             retry_backoff=2, retry_backoff_max=300, max_retries=None)
def record_lost_cycle(cycle_pk: int, message: str) -> None:
    """A cycle lost its database for longer than it could wait: once the database is back, say so on the
    cycle (whatever a takeover wrote meanwhile) and let the job retry soon."""
    from .constants import CycleStatus
    from .jobs import retry_later
    from .metrics.counters import cycle_ended
    from .models import SyncCycle

    cycle = SyncCycle.objects.select_related("job").filter(pk=cycle_pk).first()
    with transaction.atomic():
        if cycle is None or not SyncCycle.objects.filter(
                pk=cycle_pk, status__in=[CycleStatus.RUNNING, CycleStatus.INTERRUPTED]).update(
                status=CycleStatus.FAILED, error=message, finished_at=cycle.finished_at or timezone.now(), phase=""):
            return
        if cycle.status == CycleStatus.RUNNING:  # an interrupted one was counted when it was found so
            cycle.status, cycle.finished_at = CycleStatus.FAILED, cycle.finished_at or timezone.now()
            cycle_ended(cycle, cycle.job.job_id)
    job = cycle.job
    if job.last_cycle_id == cycle.pk:
        retry_later(job, minutes=min(job.interval_minutes, 5))


@shared_task(name="provisioning.tasks.check_alerts", ignore_result=True)
def check_alerts() -> int:
    """Every job's alerts, also when no cycle runs (no cycle completed for N hours)."""
    from . import alerts

    return alerts.evaluate_all()


@shared_task(name="provisioning.tasks.purge_old_logs", ignore_result=True)
def purge_old_logs() -> int:
    """Delete provisioning log rows older than the retention period, in chunks."""
    from .applications import purge_deleted

    cutoff = timezone.now() - timedelta(days=settings.PROVISIONING_LOG_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(ProvisioningLog.objects.filter(activity_time__lt=cutoff).values_list("pk", flat=True)[:5000])
        if not ids:
            # and what is left of applications deleted longer ago than the retention period
            purge_deleted(settings.PROVISIONING_LOG_RETENTION_DAYS)
            return deleted
        deleted += ProvisioningLog.objects.filter(pk__in=ids).delete()[0]


@shared_task(name="provisioning.tasks.deliver_streams", ignore_result=True)
def deliver_streams(queue: str | None = None) -> int:
    """Enqueue one delivery per log streaming destination with entries due (beat calls this every few
    seconds); ``queue`` sends them to a queue of its own."""
    from .streaming.delivery import due_destinations

    due = due_destinations()
    for destination_id in due:
        deliver_stream.apply_async(args=[destination_id], queue=queue) if queue else deliver_stream.delay(
            destination_id)
    return len(due)


@shared_task(name="provisioning.tasks.deliver_stream", ignore_result=True)
def deliver_stream(destination_id: int) -> int:
    """Send a destination's outbox entries, oldest first; skipped while another worker sends them."""
    from .streaming.delivery import deliver

    return deliver(destination_id)


def enqueue_run(job: ProvisioningJob, *, force_full: bool = False, initiated_by: str = "") -> None:
    """Start a cycle as soon as the current transaction commits (so the worker sees the change)."""
    transaction.on_commit(lambda: run_job.delay(job.pk, force_full=force_full, initiated_by=initiated_by))

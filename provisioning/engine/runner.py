"""Running a job: claim its lease, choose the cycle kind, run the cycle, and
settle the job's state through :mod:`provisioning.jobs` (delta links,
quarantine, next run, notifications).

Called by the Celery tasks and by ``manage.py provision``; it needs neither."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from .. import connections, jobs
from ..audit import redact_text
from ..connectors.errors import ConfigurationError, ConnectorError, CredentialsError, DeltaExpired, TransientError
from ..constants import CycleKind, CycleStatus, ProvisioningMode
from ..log_context import in_cycle
from ..metrics import calls as metric_calls
from ..metrics import counters as metric_counters
from ..models import CyclePreview, PreviewAction, ProvisioningJob, SyncCycle
from ..notifications import notify
from ..targets import package_of
from .config import from_job, with_draft
from .cycle import Cycle, DeltaLinks, Outcome
from .types import planned_changes
from .record import DatabaseLost
from .safety import DeletePermit
from .store import LeaseLost, StopRequested, Store

log = logging.getLogger(__name__)

claim, release, lease_seconds = jobs.claim, jobs.release, jobs.lease_seconds


@dataclass
class RunResult:
    ran: bool
    cycle: SyncCycle | None = None
    message: str = ""


def lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper(threading.Thread):
    """Renews a job's lease while a cycle runs (reads of a large tenant take longer than
    a lease); flags the loss if another run took the job over."""

    def __init__(self, job_id: int, owner: str):
        super().__init__(name=f"lease-{job_id}", daemon=True)
        self.job_id, self.owner = job_id, owner
        self.lost = threading.Event()
        self._stop_event = threading.Event()

    def run(self) -> None:
        interval = max(0.5, lease_seconds() / 4)
        last_renewal = time.monotonic()
        try:
            while not self._stop_event.wait(interval):
                try:
                    renewed = jobs.renew(self.job_id, self.owner)
                except Exception:  # a locked or dropped database: try again, and give up before the lease ends
                    log.warning("Could not renew the lease of job %s", self.job_id, exc_info=True)
                    connection.close()
                    if time.monotonic() - last_renewal > lease_seconds() / 2:
                        self.lost.set()
                        return
                    continue
                if not renewed:
                    self.lost.set()
                    return
                last_renewal = time.monotonic()
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


def _check_alerts(job_id: int) -> None:
    """The alerts of a job, as its cycle left it (before the lease is released: whoever waits for the
    run's end sees them settled)."""
    from .. import alerts

    try:
        alerts.evaluate(ProvisioningJob.objects.select_related("application").get(pk=job_id))
    except Exception:  # an alert that cannot be checked must not turn a finished cycle into a failure
        log.exception("Could not check the alerts of job %s", job_id)


def choose_kind(job: ProvisioningJob, fingerprint: str, force_full: bool) -> str:
    if not job.user_delta_link or not SyncCycle.objects.filter(
            job=job, status__in=[CycleStatus.SUCCEEDED, CycleStatus.COMPLETED_WITH_FAILURES]).exists():
        return CycleKind.INITIAL if not job.user_delta_link and job.last_cycle_id is None else CycleKind.FULL
    if force_full or job.full_cycle_requested or fingerprint != job.config_fingerprint or not job.group_delta_link:
        return CycleKind.FULL
    if reconciliation_due(job):
        return CycleKind.FULL
    return CycleKind.INCREMENTAL


def reconciliation_due(job: ProvisioningJob, now=None) -> bool:
    """Whether the scheduled full cycle (reconciliation) is due."""
    if not job.reconcile_every_hours:
        return False
    if job.last_full_cycle_at is None:
        return True
    return (now or timezone.now()) - job.last_full_cycle_at >= timedelta(hours=job.reconcile_every_hours)


def run_job(job_id: int, *, owner: str | None = None, force_full: bool = False, initiated_by: str = "",
            ignore_schedule: bool = False, max_workers: int = 24) -> RunResult:
    """Run one cycle of a job if its lease is free. A second trigger while it runs is skipped."""
    owner = owner or lease_owner()
    if not claim(job_id, owner):
        return RunResult(False, message="Another run of this job is in progress; this trigger was skipped.")
    keeper = LeaseKeeper(job_id, owner)
    try:
        job = ProvisioningJob.objects.select_related("application").get(pk=job_id)
        refusal = None if ignore_schedule else _not_due(job)
        if refusal:
            return RunResult(False, message=refusal)
        keeper.start()
        result = _run(job, keeper, force_full=force_full, initiated_by=initiated_by, max_workers=max_workers)
        _check_alerts(job_id)
        return result
    finally:
        if keeper.is_alive():
            keeper.stop()
        try:
            release(job_id, owner)
        except DatabaseError:  # still no database: the lease expires instead
            log.warning("Could not release the lease of job %s; it expires by itself", job_id)


def _not_due(job: ProvisioningJob) -> str:
    if not (job.enabled and job.mode == ProvisioningMode.AUTOMATIC):
        return "Provisioning is off for this application."
    if job.next_run_at and job.next_run_at > timezone.now():
        # A trigger queued twice (beat while the queue was busy) must not run a cycle early,
        # nor skip a quarantine's backoff.
        return "The next cycle of this job is not due yet."
    return ""


def build_cycle(job: ProvisioningJob, store: Store, *, kind: str, dry_run: bool = False,
                max_workers: int = 24, config=None) -> Cycle:
    """A cycle of a job, with its connectors and what an administrator allowed."""
    return Cycle(config or from_job(job), connections.source(), connections.target(job, dry_run=dry_run), store,
                 kind=kind,
                 delta=DeltaLinks(job.user_delta_link, job.group_delta_link),
                 permit=DeletePermit(job.allow_deletes_once, job.allowed_deletes), dry_run=dry_run,
                 max_workers=max_workers)


def _run(job: ProvisioningJob, keeper: LeaseKeeper, *, force_full: bool, initiated_by: str, max_workers: int,
         retried_delta: bool = False) -> RunResult:
    fingerprint = from_job(job).fingerprint()
    kind = choose_kind(job, fingerprint, force_full)
    generation = job.generation
    cycle = jobs.begin_cycle(job, kind=kind, initiated_by=initiated_by)
    with in_cycle(cycle.cycle_id):
        return _run_cycle(job, keeper, cycle, kind=kind, fingerprint=fingerprint, generation=generation,
                          initiated_by=initiated_by, max_workers=max_workers, retried_delta=retried_delta)


def _run_cycle(job: ProvisioningJob, keeper: LeaseKeeper, cycle: SyncCycle, *, kind: str, fingerprint: str,
               generation: int, initiated_by: str, max_workers: int, retried_delta: bool) -> RunResult:
    log.info("Cycle %s of job %s started (%s)", cycle.cycle_id, job.job_id, kind)
    store = Store(job, cycle)
    store.lease_lost = keeper.lost
    try:
        engine = build_cycle(job, store, kind=kind, max_workers=max_workers)
        try:
            outcome = engine.run()
        finally:
            cycle.target_calls = engine.target.stats.requests
            cycle.source_calls = engine.source.stats.requests
            cycle.unlinked_accounts = engine.outcome.unlinked_accounts
            cycle.rate_limit_waited_seconds = engine.target.stats.waited_seconds + engine.source.stats.waited_seconds
    except (DatabaseError, DatabaseLost) as exc:
        return _database_lost(job, cycle, store, exc)
    except DeltaExpired as exc:
        jobs.forget_delta_links(job)
        _finish(cycle, store, CycleStatus.FAILED, f"{exc.message} A full cycle reads everything again now.")
        if retried_delta:
            return RunResult(True, cycle, exc.message)
        job.refresh_from_db()
        return _run(job, keeper, force_full=True, initiated_by=initiated_by, max_workers=max_workers,
                    retried_delta=True)
    except Exception as exc:  # every failure ends the cycle with its reason; see _failed
        return _failed(job, cycle, store, exc)
    return _settle(job, cycle, store, outcome, fingerprint, generation)


#: how long a cycle that lost its database tries to record that (seconds between tries)
RECONNECT_PAUSES = (0, 1, 2, 4, 8)


def database_lost_message(exc: Exception) -> str:
    return (f"The cycle lost its database connection ({exc.__class__.__name__}) and stopped writing. The writes "
            "it had sent are confirmed by the next cycle, which starts in a few minutes.")


def _database_lost(job: ProvisioningJob, cycle: SyncCycle, store: Store, exc: Exception) -> RunResult:
    """Record, on a fresh connection, that the cycle failed for want of its database, and retry soon. If the
    database stays away, leave that to a task that waits for it (the lease expires meanwhile)."""
    message = database_lost_message(exc)
    log.warning("Cycle %s lost its database connection: %s", cycle.cycle_id, exc)
    for pause in RECONNECT_PAUSES:
        time.sleep(pause)
        connection.close()
        try:
            jobs.retry_later(job, minutes=min(job.interval_minutes, 5))
            return _ended(cycle, store, CycleStatus.FAILED, message)
        except DatabaseError:
            continue
    from ..tasks import record_lost_cycle

    record_lost_cycle.delay(cycle.pk, message)
    raise DatabaseLost(message) from exc


def _failed(job: ProvisioningJob, cycle: SyncCycle, store: Store, exc: Exception) -> RunResult:
    """End a cycle that failed, and set the job up for what comes next, by the kind of failure."""
    if isinstance(exc, StopRequested):
        jobs.stopped_by_administrator(job)
        return _ended(cycle, store, CycleStatus.STOPPED, "Provisioning was stopped by an administrator. What was "
                                                         "done is kept; the next cycle continues from there.")
    if isinstance(exc, LeaseLost):
        return _ended(cycle, store, CycleStatus.INTERRUPTED, "Another run took over this job.")
    if isinstance(exc, ConfigurationError):  # rejected credentials, missing permissions or settings
        key, what = ("credentials", "the credentials were rejected") if isinstance(exc, CredentialsError) else \
            ("configuration", "a configuration problem")
        jobs.quarantine(job, exc.code, f"{exc.message} {exc.recommendation}".strip(), reason_key=key,
                        subject=f"Provisioning is quarantined: {what}")
        return _ended(cycle, store, CycleStatus.FAILED, exc.message)
    if isinstance(exc, ConnectorError):
        # Nothing destructive was done on a partial read; a passing failure is tried again soon.
        transient = isinstance(exc, TransientError)
        jobs.retry_later(job, minutes=min(job.interval_minutes, 5) if transient else job.interval_minutes)
        notify(job, "cycle-failure", "A provisioning cycle failed", exc.message)
        return _ended(cycle, store, CycleStatus.FAILED,
                      f"{exc.message} The next cycle will try again." if transient else exc.message)
    log.exception("Provisioning cycle %s failed", cycle.cycle_id, exc_info=exc)
    jobs.retry_later(job, minutes=job.interval_minutes)
    message = redact_text(f"Unexpected error: {exc.__class__.__name__}: {exc}")
    notify(job, "cycle-failure", "A provisioning cycle failed", message)
    return _ended(cycle, store, CycleStatus.FAILED, message)


def _settle(job: ProvisioningJob, cycle: SyncCycle, store: Store, outcome: Outcome, fingerprint: str,
            generation: int) -> RunResult:
    jobs.commit_cycle(job, generation=generation, outcome=outcome, fingerprint=fingerprint, store=store)
    if outcome.staged:
        # The staged actions are planned again, in full, by the cycle that runs them.
        jobs.quarantine(job, "StagedDeletions", outcome.staged_reason, reason_key="staged",
                        subject="Provisioning stopped deletions for your review", staged_cycle=cycle)
        return _ended(cycle, store, CycleStatus.STAGED, outcome.staged_reason)
    if outcome.should_quarantine_for_failures:
        service = package_of(job).names.service
        reason = redact_text(f"{outcome.write_failures} of {outcome.writes} writes to {service} failed in the "
                             f"last cycle (over 40%). Most common error: {outcome.top_error}")
        jobs.quarantine(job, "HighFailureRate", reason, reason_key="failures",
                        subject="Provisioning is quarantined: too many failures")
        return _ended(cycle, store, CycleStatus.COMPLETED_WITH_FAILURES, reason)
    if outcome.write_failures:
        notify(job, "cycle-failure", "A provisioning cycle completed with failures",
               redact_text(f"{outcome.write_failures} of {outcome.writes} writes failed. "
                           f"Most common error: {outcome.top_error}"))
    jobs.cycle_succeeded(job)
    status = CycleStatus.COMPLETED_WITH_FAILURES if outcome.write_failures else CycleStatus.SUCCEEDED
    return _ended(cycle, store, status, outcome.top_error if outcome.write_failures else "")


def _ended(cycle: SyncCycle, store: Store, status: str, error: str = "") -> RunResult:
    _finish(cycle, store, status, error)
    return RunResult(True, cycle, error or "Completed.")


def _finish(cycle: SyncCycle, store: Store, status: str, error: str = "") -> None:
    """Mark the cycle finished: always the last write of a run, so whoever sees a finished
    cycle also sees the job's state, quarantine and notifications settled."""
    cycle.status = status
    cycle.error = redact_text(error)
    cycle.finished_at = timezone.now()
    cycle.objects_processed = store.processed
    cycle.objects_in_scope = max(store.in_scope, store.processed)
    cycle.counters = {a: dict(s) for a, s in store.counters.items()}
    cycle.phase = ""
    with transaction.atomic():
        cycle.save()
        metric_counters.cycle_ended(cycle, store.job.job_id)
    metric_calls.flush(force=True)
    log.info("Cycle %s ended: %s, %s objects processed", cycle.cycle_id, status, cycle.objects_processed)


# ---------------------------------------------------------------------------- previews
def preview(preview_id: int, *, max_workers: int = 24) -> CyclePreview:
    """Fill a :class:`CyclePreview` with what the next cycle would do, writing nothing to the target or to
    the job's state (the target connector refuses writes; the store is read-only)."""
    record = CyclePreview.objects.select_related("job__application").get(pk=preview_id)
    job = record.job
    config = with_draft(from_job(job), record.draft) if record.draft else from_job(job)
    kind = choose_kind(job, config.fingerprint(), record.kind == CycleKind.FULL)
    try:
        outcome = build_cycle(job, Store(job, None, read_only=True), kind=kind, dry_run=True,
                              max_workers=max_workers, config=config).run()
    except ConnectorError as exc:
        return _preview_failed(record, exc.message)
    except Exception as exc:  # the page must never wait forever for a preview that crashed
        log.exception("Preview %s failed", record.pk)
        return _preview_failed(record, redact_text(f"Unexpected error: {exc.__class__.__name__}: {exc}"))
    counts: dict[str, int] = {}
    rows = []
    for plan in outcome.plans:
        counts[plan.action] = counts.get(plan.action, 0) + 1
        if plan.writes or plan.log or plan.staged:
            rows.append(PreviewAction(
                preview=record, object_type=plan.object_type, action=plan.action, source_id=plan.source_id,
                display_name=plan.display_name[:300], user_principal_name=plan.upn[:300],
                target_email=plan.target_label[:300], reason=plan.reason,
                changes=[{"name": n, "old": o, "new": v if not isinstance(v, list) else ", ".join(v)}
                         for n, o, v in planned_changes(plan)],
            ))
    PreviewAction.objects.bulk_create(rows, batch_size=2000)
    record.kind, record.counts, record.staged_reason = kind, counts, outcome.staged_reason
    record.status, record.finished_at = "done", timezone.now()
    record.save()
    return record


def _preview_failed(record: CyclePreview, message: str) -> CyclePreview:
    record.status, record.error, record.finished_at = "failed", message, timezone.now()
    record.save()
    return record

"""Running a job: claim its lease, choose the cycle kind, run the cycle, and
settle the job's state (delta links, quarantine, next run, notifications).

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

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..connectors.entra import EntraConnector
from ..audit import redact_text
from ..connectors.errors import ConfigurationError, ConnectorError, CredentialsError, DeltaExpired, TransientError
from ..constants import Action, CycleKind, CycleStatus, JobState, ProvisioningMode
from ..credentials import target_connector
from ..models import CyclePreview, PreviewAction, ProvisioningJob, SyncCycle
from ..notifications import notify
from .config import from_job
from .cycle import Cycle, Outcome
from .store import LeaseLost, StopRequested, Store, lease_seconds

log = logging.getLogger(__name__)

#: Quarantined jobs run less and less often: interval x 2, x 4 ... at most once a day.
MAX_QUARANTINE_DELAY = timedelta(hours=24)


@dataclass
class RunResult:
    ran: bool
    cycle: SyncCycle | None = None
    message: str = ""


def lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(job_id: int, owner: str) -> bool:
    """Take the job's lease if it is free or expired: one run at a time, across all workers."""
    now = timezone.now()
    claimed = ProvisioningJob.objects.filter(pk=job_id).filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    ).update(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds()))
    return claimed == 1


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
                    renewed = ProvisioningJob.objects.filter(pk=self.job_id, lease_owner=self.owner).update(
                        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds()))
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


def release(job_id: int, owner: str) -> None:
    ProvisioningJob.objects.filter(pk=job_id, lease_owner=owner).update(lease_owner="", lease_expires_at=None)


def choose_kind(job: ProvisioningJob, fingerprint: str, force_full: bool) -> str:
    if not job.user_delta_link or not SyncCycle.objects.filter(
            job=job, status__in=[CycleStatus.SUCCEEDED, CycleStatus.COMPLETED_WITH_FAILURES]).exists():
        return CycleKind.INITIAL if not job.user_delta_link and job.last_cycle_id is None else CycleKind.FULL
    if force_full or job.full_cycle_requested or fingerprint != job.config_fingerprint or not job.group_delta_link:
        return CycleKind.FULL
    return CycleKind.INCREMENTAL


def run_job(job_id: int, *, owner: str | None = None, force_full: bool = False, initiated_by: str = "",
            ignore_schedule: bool = False, max_workers: int = 24) -> RunResult:
    """Run one cycle of a job if its lease is free. A second trigger while it runs is skipped."""
    owner = owner or lease_owner()
    if not claim(job_id, owner):
        return RunResult(False, message="Another run of this job is in progress; this trigger was skipped.")
    keeper = LeaseKeeper(job_id, owner)
    try:
        job = ProvisioningJob.objects.select_related("application").get(pk=job_id)
        if not ignore_schedule and not (job.enabled and job.mode == ProvisioningMode.AUTOMATIC):
            return RunResult(False, message="Provisioning is off for this application.")
        if not ignore_schedule and job.next_run_at and job.next_run_at > timezone.now():
            # A trigger queued twice (beat while the queue was busy) must not run a cycle early,
            # nor skip a quarantine's backoff.
            return RunResult(False, message="The next cycle of this job is not due yet.")
        # A cycle left "running" by a worker that died: say so, and start afresh.
        SyncCycle.objects.filter(job=job, status=CycleStatus.RUNNING).update(
            status=CycleStatus.INTERRUPTED, finished_at=timezone.now(),
            error="The worker running this cycle stopped before it finished; the next cycle took over.")
        keeper.start()
        return _run(job, keeper, force_full=force_full, initiated_by=initiated_by, max_workers=max_workers)
    finally:
        if keeper.is_alive():
            keeper.stop()
        release(job_id, owner)


def _run(job: ProvisioningJob, keeper: LeaseKeeper, *, force_full: bool, initiated_by: str, max_workers: int,
         retried_delta: bool = False) -> RunResult:
    config = from_job(job)
    fingerprint = config.fingerprint()
    kind = choose_kind(job, fingerprint, force_full)
    generation = job.generation
    cycle = SyncCycle.objects.create(job=job, kind=kind, initiated_by=initiated_by or "System")
    ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, last_cycle=cycle, stop_requested=False)
    job.refresh_from_db()
    store = Store(job, cycle)
    store.lease_lost = keeper.lost
    try:
        source = EntraConnector.from_settings()
        target = target_connector(job)
        engine = Cycle(config, source, target, store, kind=kind, user_delta_link=job.user_delta_link,
                       group_delta_link=job.group_delta_link, allow_deletes=job.allow_deletes_once,
                       allowed_deletes=job.allowed_deletes, max_workers=max_workers)
        try:
            outcome = engine.run()
        finally:
            cycle.dropbox_calls = target.stats.requests
            cycle.graph_calls = source.stats.requests
            cycle.rate_limit_waited_seconds = target.stats.waited_seconds + source.stats.waited_seconds
    except StopRequested:
        ProvisioningJob.objects.filter(pk=job.pk).update(state=_idle_state(job), stop_requested=False)
        _finish(cycle, store, CycleStatus.STOPPED, "Provisioning was stopped by an administrator. What was done "
                                                   "is kept; the next cycle continues from there.")
        return RunResult(True, cycle, "Stopped.")
    except LeaseLost:
        _finish(cycle, store, CycleStatus.INTERRUPTED, "Another run took over this job.")
        return RunResult(True, cycle, "Lease lost.")
    except DeltaExpired as exc:
        ProvisioningJob.objects.filter(pk=job.pk).update(user_delta_link="", group_delta_link="",
                                                         full_cycle_requested=True)
        _finish(cycle, store, CycleStatus.FAILED, f"{exc.message} A full cycle reads everything again now.")
        if retried_delta:
            return RunResult(True, cycle, exc.message)
        job.refresh_from_db()
        return _run(job, keeper, force_full=True, initiated_by=initiated_by, max_workers=max_workers,
                    retried_delta=True)
    except CredentialsError as exc:
        _quarantine(job, exc.code, f"{exc.message} {exc.recommendation}".strip(), reason_key="credentials",
                    subject="Provisioning is quarantined: the credentials were rejected")
        _finish(cycle, store, CycleStatus.FAILED, exc.message)
        return RunResult(True, cycle, exc.message)
    except ConfigurationError as exc:
        _quarantine(job, exc.code, f"{exc.message} {exc.recommendation}".strip(), reason_key="configuration",
                    subject="Provisioning is quarantined: a configuration problem")
        _finish(cycle, store, CycleStatus.FAILED, exc.message)
        return RunResult(True, cycle, exc.message)
    except TransientError as exc:
        # Nothing destructive was done on a partial read; try again soon rather than in a full interval.
        _retry_later(job, minutes=min(job.interval_minutes, 5))
        notify(job, "cycle-failure", "A provisioning cycle failed", exc.message)
        _finish(cycle, store, CycleStatus.FAILED, f"{exc.message} The next cycle will try again.")
        return RunResult(True, cycle, exc.message)
    except ConnectorError as exc:
        _retry_later(job, minutes=job.interval_minutes)
        notify(job, "cycle-failure", "A provisioning cycle failed", exc.message)
        _finish(cycle, store, CycleStatus.FAILED, exc.message)
        return RunResult(True, cycle, exc.message)
    except Exception as exc:
        log.exception("Provisioning cycle %s failed", cycle.cycle_id)
        _retry_later(job, minutes=job.interval_minutes)
        message = redact_text(f"Unexpected error: {exc.__class__.__name__}: {exc}")
        notify(job, "cycle-failure", "A provisioning cycle failed", message)
        _finish(cycle, store, CycleStatus.FAILED, message)
        return RunResult(True, cycle, message)
    return _settle(job, cycle, store, engine, outcome, fingerprint, generation)


def _settle(job: ProvisioningJob, cycle: SyncCycle, store: Store, engine: Cycle, outcome: Outcome, fingerprint: str,
            generation: int) -> RunResult:
    # The snapshot this cycle read and the delta links it reached are written together, and only
    # if no Restart or Allow deletes came while it ran (those win: their next cycle is a full one).
    with transaction.atomic():
        current = ProvisioningJob.objects.select_for_update().get(pk=job.pk)
        if current.generation == generation:
            engine.commit_snapshots()
            ProvisioningJob.objects.filter(pk=job.pk).update(
                user_delta_link=outcome.user_delta_link or "", group_delta_link=outcome.group_delta_link or "",
                config_fingerprint=fingerprint, full_cycle_requested=bool(outcome.staged),
                allow_deletes_once=False, allowed_deletes=None,
            )
    if outcome.staged:
        # The staged actions are planned again, in full, by the cycle that runs them.
        _quarantine(job, "StagedDeletions", outcome.staged_reason, reason_key="staged",
                    subject="Provisioning stopped deletions for your review", staged_cycle=cycle)
        _finish(cycle, store, CycleStatus.STAGED, outcome.staged_reason)
        return RunResult(True, cycle, outcome.staged_reason)
    if outcome.should_quarantine_for_failures:
        reason = redact_text(f"{outcome.write_failures} of {outcome.writes} writes to Dropbox failed in the last "
                             f"cycle (over 40%). Most common error: {outcome.top_error}")
        _quarantine(job, "HighFailureRate", reason, reason_key="failures",
                    subject="Provisioning is quarantined: too many failures")
        _finish(cycle, store, CycleStatus.COMPLETED_WITH_FAILURES, reason)
        return RunResult(True, cycle, reason)
    status = CycleStatus.COMPLETED_WITH_FAILURES if outcome.write_failures else CycleStatus.SUCCEEDED
    if outcome.write_failures:
        notify(job, "cycle-failure", "A provisioning cycle completed with failures",
               redact_text(f"{outcome.write_failures} of {outcome.writes} writes failed. "
                           f"Most common error: {outcome.top_error}"))
    # A cycle that succeeds ends a quarantine.
    ProvisioningJob.objects.filter(pk=job.pk).update(
        state=JobState.IDLE, quarantine_reason="", quarantine_code="", quarantined_at=None, quarantine_level=0,
        staged_cycle=None, next_run_at=timezone.now() + timedelta(minutes=job.interval_minutes),
    )
    _finish(cycle, store, status, outcome.top_error if outcome.write_failures else "")
    return RunResult(True, cycle, "Completed.")


def _idle_state(job: ProvisioningJob) -> str:
    """The state a job returns to after a cycle that neither succeeded nor quarantined it: a
    quarantine in force stays (with its backoff) until a cycle succeeds or provisioning restarts."""
    job.refresh_from_db(fields=["quarantine_level"])
    return JobState.QUARANTINED if job.quarantine_level else JobState.IDLE


def _retry_later(job: ProvisioningJob, *, minutes: float) -> None:
    state = _idle_state(job)
    if state == JobState.QUARANTINED:
        ProvisioningJob.objects.filter(pk=job.pk).update(state=state)  # keep the quarantine's own schedule
    else:
        ProvisioningJob.objects.filter(pk=job.pk).update(state=state,
                                                         next_run_at=timezone.now() + timedelta(minutes=minutes))


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
    cycle.save()


def _quarantine(job: ProvisioningJob, code: str, reason: str, *, reason_key: str, subject: str,
                staged_cycle: SyncCycle | None = None) -> None:
    """Quarantine the job: run less often (gradually) until a cycle succeeds or it is restarted."""
    job.refresh_from_db()
    level = min(job.quarantine_level + 1, 10)
    delay = min(timedelta(minutes=job.interval_minutes * 2 ** level), MAX_QUARANTINE_DELAY)
    ProvisioningJob.objects.filter(pk=job.pk).update(
        state=JobState.QUARANTINED, quarantine_code=code, quarantine_reason=reason,
        quarantined_at=job.quarantined_at or timezone.now(), quarantine_level=level,
        next_run_at=timezone.now() + delay, staged_cycle=staged_cycle,
    )
    notify(job, reason_key, subject, reason)


# ---------------------------------------------------------------------- operations from the portal
def request_stop(job: ProvisioningJob) -> None:
    ProvisioningJob.objects.filter(pk=job.pk).update(stop_requested=True)


def restart(job: ProvisioningJob) -> None:
    """Clear delta links, escrows and quarantine; keep links: the next cycle is a full one."""
    from ..models import Escrow

    Escrow.objects.filter(job=job).delete()
    ProvisioningJob.objects.filter(pk=job.pk).update(
        generation=F("generation") + 1,
        user_delta_link="", group_delta_link="", config_fingerprint="", full_cycle_requested=True,
        quarantine_reason="", quarantine_code="", quarantined_at=None, quarantine_level=0, staged_cycle=None,
        allow_deletes_once=False, state=JobState.IDLE, next_run_at=timezone.now(),
    )


def allow_deletes(job: ProvisioningJob) -> None:
    """Let the next cycle run the staged disables and deletes, once."""
    staged = job.staged_cycle
    allowed = (staged.count(Action.STAGED_DELETE) + staged.count(Action.STAGED_DISABLE)) if staged else None
    ProvisioningJob.objects.filter(pk=job.pk).update(
        generation=F("generation") + 1, allowed_deletes=allowed,
        allow_deletes_once=True, full_cycle_requested=True, quarantine_reason="", quarantine_code="", quarantined_at=None,
        quarantine_level=0, staged_cycle=None, state=JobState.IDLE, next_run_at=timezone.now(),
    )


def preview(preview_id: int, *, max_workers: int = 24) -> CyclePreview:
    """Fill a :class:`CyclePreview` with what the next cycle would do, writing nothing to Dropbox or to
    the job's state (the target connector refuses writes; the store is read-only)."""
    record = CyclePreview.objects.select_related("job__application").get(pk=preview_id)
    job = record.job
    config = from_job(job)
    kind = choose_kind(job, config.fingerprint(), False)
    store = Store(job, None, read_only=True)
    try:
        source = EntraConnector.from_settings()
        target = target_connector(job, dry_run=True)
        outcome = Cycle(config, source, target, store, kind=kind, user_delta_link=job.user_delta_link,
                        group_delta_link=job.group_delta_link, allow_deletes=job.allow_deletes_once, dry_run=True,
                        max_workers=max_workers).run()
    except ConnectorError as exc:
        record.status, record.error, record.finished_at = "failed", exc.message, timezone.now()
        record.save()
        return record
    except Exception as exc:  # the page must never wait forever for a preview that crashed
        log.exception("Preview %s failed", record.pk)
        record.status, record.finished_at = "failed", timezone.now()
        record.error = redact_text(f"Unexpected error: {exc.__class__.__name__}: {exc}")
        record.save()
        return record
    counts: dict[str, int] = {}
    rows = []
    for plan in outcome.plans:
        counts[plan.action] = counts.get(plan.action, 0) + 1
        if plan.writes or plan.log or plan.action.startswith("Staged"):
            rows.append(PreviewAction(
                preview=record, object_type=plan.object_type, action=plan.action, source_id=plan.source_id,
                display_name=plan.display_name[:300], user_principal_name=plan.upn[:300],
                target_email=plan.target_email[:300], reason=plan.reason,
                changes=[{"name": n, "old": o, "new": v if not isinstance(v, list) else ", ".join(v)}
                         for n, o, v in plan.changes],
            ))
    PreviewAction.objects.bulk_create(rows, batch_size=2000)
    record.kind, record.counts, record.staged_reason = kind, counts, outcome.staged_reason
    record.status, record.finished_at = "done", timezone.now()
    record.save()
    return record

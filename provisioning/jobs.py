"""Every change of a provisioning job's state, in one place: what an
administrator does (start, stop, restart, allow deletes, save the settings,
finish an authorization, test the connection, preview, provision on demand) and
what a worker does (claim the lease, begin, settle, quarantine, retry later).

Each is one conditional update of the job's row plus its audit event. Views, the
CLI, the runner and the API call these; none of them writes job state itself.
Work that follows a change (a cycle, a preview) is enqueued once the change is
committed, so a worker never sees the old state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from . import audit
from .constants import Action, AuditActivity, AuditResult, CycleKind, CycleStatus, JobState, ProvisioningMode
from .metrics.counters import cycle_ended
from .models import AccountDiscovery, CyclePreview, Escrow, ObjectLink, OnDemandRun, ProvisioningJob, SyncCycle
from .notifications import notify

log = logging.getLogger(__name__)

#: Quarantined jobs run less and less often: interval x 2, x 4 ... at most once a day.
MAX_QUARANTINE_DELAY = timedelta(hours=24)

#: What leaving quarantine resets (a successful cycle, Restart, Allow deletes).
QUARANTINE_CLEARED = {"quarantine_reason": "", "quarantine_code": "", "quarantined_at": None, "quarantine_level": 0,
                      "staged_cycle": None, "quarantine_kind": ""}


class JobError(Exception):
    """The change cannot be made now; the message says why, in the page's words."""


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a person (with the request, for the audit trail's address), or the system."""

    user: Any = None
    request: HttpRequest | None = None
    #: how cycles started by this actor are labelled ("initiated by")
    label: str = "System"

    @classmethod
    def of(cls, request: HttpRequest) -> "Actor":
        user = request.user if request.user.is_authenticated else None
        return cls(user=user, request=request, label=getattr(user, "email", "") or "System")

    def audit(self, activity: str, job: ProvisioningJob, **kwargs) -> None:
        application = job.application
        kwargs.setdefault("target", application)
        audit.record(activity, request=self.request, actor=self.user, application=application, **kwargs)


SYSTEM = Actor()


def _update(job: ProvisioningJob, condition: Q | None = None, **fields) -> bool:
    """One conditional update of the job's row; refreshes ``job`` with what was written."""
    rows = ProvisioningJob.objects.filter(pk=job.pk)
    if condition is not None:
        rows = rows.filter(condition)
    changed = rows.update(**fields) == 1
    if changed:
        for name, value in fields.items():
            if not hasattr(value, "resolve_expression"):  # F() values are read back by refresh_from_db
                setattr(job, name, value)
    return changed


def _service(job: ProvisioningJob) -> str:
    from .targets import package_of

    return package_of(job).names.service


def _enqueue_cycle(job: ProvisioningJob, actor: Actor, *, force_full: bool = False) -> None:
    from .tasks import enqueue_run

    enqueue_run(job, force_full=force_full, initiated_by=actor.label)


# ---------------------------------------------------------------------------- administrators
def start(job: ProvisioningJob, actor: Actor) -> None:
    """Turn provisioning On and start a cycle now."""
    if job.mode != ProvisioningMode.AUTOMATIC or not job.is_authorized:
        raise JobError(f"Set Provisioning Mode to Automatic and authorize the portal against {_service(job)} "
                       "(Provisioning page) before starting provisioning.")
    with transaction.atomic():
        was_enabled = job.enabled
        _update(job, Q(mode=ProvisioningMode.AUTOMATIC), enabled=True, stop_requested=False,
                next_run_at=timezone.now())
        _started(job, actor, was_enabled=was_enabled)


def _started(job: ProvisioningJob, actor: Actor, *, was_enabled: bool) -> None:
    actor.audit(AuditActivity.START, job, before={"status": "On" if was_enabled else "Off"}, after={"status": "On"})
    _enqueue_cycle(job, actor)


def stop(job: ProvisioningJob, actor: Actor) -> None:
    """Turn provisioning Off; a running cycle stops after its current batch."""
    with transaction.atomic():
        _update(job, enabled=False, stop_requested=True)
        _stopped(job, actor)


def _stopped(job: ProvisioningJob, actor: Actor) -> None:
    actor.audit(AuditActivity.STOP, job, before={"status": "On"}, after={"status": "Off"})


def restart(job: ProvisioningJob, actor: Actor, *, detail: str = "Delta links, escrows and quarantine cleared; "
                                                                  "links kept.") -> None:
    """Clear delta links, escrows and quarantine; keep links: the next cycle is a full one, now."""
    with transaction.atomic():
        Escrow.objects.filter(job=job).delete()
        _update(job, generation=F("generation") + 1, user_delta_link="", group_delta_link="", config_fingerprint="",
                full_cycle_requested=True, allow_deletes_once=False, state=JobState.IDLE, next_run_at=timezone.now(),
                **QUARANTINE_CLEARED)
        actor.audit(AuditActivity.RESTART, job, detail=detail)
        job.refresh_from_db()
        if job.enabled and job.mode == ProvisioningMode.AUTOMATIC:
            _enqueue_cycle(job, actor, force_full=True)


def allow_deletes(job: ProvisioningJob, actor: Actor) -> None:
    """Let the next cycle run the disables and deletes the last one staged (as many, no more), once."""
    staged = job.staged_cycle
    if staged is None:
        raise JobError("No deletions are waiting for approval.")
    allowed = staged.count(Action.STAGED_DELETE) + staged.count(Action.STAGED_DISABLE)
    with transaction.atomic():
        if not _update(job, Q(staged_cycle=staged), generation=F("generation") + 1, allowed_deletes=allowed,
                       allow_deletes_once=True, full_cycle_requested=True, state=JobState.IDLE,
                       next_run_at=timezone.now(), **QUARANTINE_CLEARED):
            raise JobError("No deletions are waiting for approval.")
        actor.audit(AuditActivity.ALLOW_DELETES, job,
                    detail=f"Allowed the deletions staged by cycle {staged.cycle_id}.")
        if job.enabled:
            _enqueue_cycle(job, actor)


@dataclass(frozen=True)
class SettingsSaved:
    """What saving the Provisioning page did to the job's status."""

    started: bool = False
    stopped: bool = False


def save_settings(job: ProvisioningJob, fields: dict[str, Any], actor: Actor, *, snapshot) -> SettingsSaved:
    """Save the Provisioning page's fields (validated by its form). Turning Provisioning Status
    On starts a cycle; Off stops one. ``snapshot(job)`` is what the audit trail records."""
    before, was_enabled = snapshot(job), job.enabled
    now_enabled = fields.get("enabled", was_enabled)
    extra = {"next_run_at": timezone.now(), "stop_requested": False} if now_enabled and not was_enabled else {}
    with transaction.atomic():
        _update(job, **fields, **extra, updated_at=timezone.now())
        after = snapshot(job)
        if after != before:
            actor.audit(AuditActivity.UPDATE_SETTINGS, job, before=before, after=after)
        if now_enabled and not was_enabled:
            _started(job, actor, was_enabled=False)
            return SettingsSaved(started=True)
        if was_enabled and not now_enabled:
            _update(job, stop_requested=True)
            _stopped(job, actor)
            return SettingsSaved(stopped=True)
    return SettingsSaved()


@dataclass(frozen=True)
class Authorized:
    """A stored authorization: whom it belongs to, and whether it is another team than before."""

    team_changed: bool
    previous_team: str


def finish_authorization(job: ProvisioningJob, actor: Actor, *, secret: str, identity, snapshot) -> Authorized:
    """Store a new authorization of the target (encrypted) and whom it belongs to. Another team
    than before: what the portal knew of the old one means nothing there, so its links are cleared
    and provisioning restarts."""
    before, previous = snapshot(job), job.target_team_id
    with transaction.atomic():
        _update(job, target_refresh_token=secret, target_team_id=identity.team_id,
                target_team_name=identity.team_name, target_admin_email=identity.admin_email,
                target_admin_id=identity.admin_id, authorized_at=timezone.now(), authorized_by=actor.user,
                connection_ok=None, connection_message="", updated_at=timezone.now())
        changed = bool(previous and identity.team_id and previous != identity.team_id)
        detail = f"Authorized against {_service(job)}"
        if changed:
            ObjectLink.objects.filter(job=job).delete()
            detail += f" (a different team than before: links to team {previous} were cleared)"
        actor.audit(AuditActivity.UPDATE_SETTINGS, job, before=before, after=snapshot(job), detail=detail)
        if changed:
            restart(job, actor, detail="Restarted after authorizing a different team.")
    return Authorized(changed, previous)


def authorization_failed(job: ProvisioningJob, actor: Actor, message: str) -> None:
    actor.audit(AuditActivity.UPDATE_SETTINGS, job, result=AuditResult.FAILURE, detail=f"Authorize failed: {message}")


def test_connection(job: ProvisioningJob):
    """Test Connection: call the target with the stored credentials; the result is kept on the job. Raises
    ConfigurationError, with nothing kept, when the portal lacks a setting to call the target at all."""
    from .credentials import check_connection

    result = check_connection(job)
    fields = {"connection_checked_at": timezone.now(), "connection_ok": result.ok,
              "connection_message": result.message if result.ok else f"{result.message} {result.recommendation}"
              .strip()}
    if result.ok:
        fields.update(target_admin_email=result.admin_email, target_team_name=result.team_name)
    _update(job, **fields)
    return result


def _after_commit(task, *args) -> None:
    transaction.on_commit(lambda: task.delay(*args))


def request_preview(job: ProvisioningJob, actor: Actor, *, draft: dict | None = None) -> CyclePreview:
    """A dry run of the next cycle, in the background. With ``draft`` (unsaved changes), two: one with the
    changes and, to compare it with, one as saved; nothing of the draft is saved."""
    from .tasks import preview_job

    if not job.is_authorized:
        raise JobError(f"Authorize the portal against {_service(job)} before previewing a cycle.")
    baseline, kind = None, ""
    if draft:
        from .engine.config import from_job, with_draft

        saved = from_job(job)
        # Changes that make the next cycle a full one are compared with a full cycle as saved, not with
        # an incremental one (whose actions differ for reasons that are not the changes).
        kind = CycleKind.FULL if with_draft(saved, draft).fingerprint() != saved.fingerprint() else ""
        baseline = CyclePreview.objects.create(job=job, requested_by=actor.label, kind=kind)
        _after_commit(preview_job, baseline.pk)
    record = CyclePreview.objects.create(job=job, requested_by=actor.label, draft=draft or {}, baseline=baseline,
                                         kind=kind)
    _after_commit(preview_job, record.pk)
    return record


def request_discovery(job: ProvisioningJob, actor: Actor) -> AccountDiscovery:
    """Account discovery, in the background: one at a time per job."""
    from .tasks import discover_accounts

    if not job.is_authorized:
        raise JobError(f"Authorize the portal against {_service(job)} before discovering its accounts.")
    running = job.discoveries.filter(status="running", created_at__gte=timezone.now() - DISCOVERY_GIVES_UP).first()
    if running is not None:
        return running
    record = AccountDiscovery.objects.create(job=job, requested_by=actor.label)
    _after_commit(discover_accounts, record.pk)
    return record


#: a discovery still "running" after this long was lost with its worker: a new one may start
DISCOVERY_GIVES_UP = timedelta(hours=2)


def unlink(job: ProvisioningJob, actor: Actor, *, object_type: str, source_id: str,
           target_id: str | None = None) -> ObjectLink:
    """Forget the link between a source object and its target object: nothing changes in the target now;
    the next cycle matches the object again by its matching attributes (and leaves alone a target object
    it no longer matches)."""
    with transaction.atomic():
        link = ObjectLink.objects.select_for_update().filter(job=job, object_type=object_type,
                                                             source_id=source_id).first()
        if link is None or (target_id is not None and link.target_id != target_id):
            raise JobError("This object is not linked (any more): nothing was changed.")
        link.delete()
        actor.audit(AuditActivity.UNLINK, job, target_type="Object link", target_id=f"{object_type}:{source_id}",
                    target_display=f"{link.display_name or source_id} - {link.target_email or link.target_id}",
                    before={"source_id": source_id, "target_id": link.target_id, "target": link.target_email,
                            "state": link.state, "matched_by": link.matched_by},
                    detail="The next cycle matches the object again by its matching attributes.")
    return link


def provision_on_demand(job: ProvisioningJob, actor: Actor, *, object_type: str, source_id: str,
                        display_name: str = "") -> OnDemandRun:
    """Provision one user (or a small group) now, in the background, with its steps shown live."""
    from .tasks import provision_on_demand as task

    if not job.is_authorized:
        raise JobError(f"Authorize the portal against {_service(job)} (Provisioning page) before provisioning.")
    with transaction.atomic():
        run = OnDemandRun.objects.create(job=job, object_type=object_type, source_id=source_id,
                                         display_name=display_name[:300], requested_by=actor.label)
        actor.audit(AuditActivity.PROVISION_ON_DEMAND, job, target=None, target_type=object_type.capitalize(),
                    target_id=source_id, target_display=display_name[:300])
        _after_commit(task, run.pk)
    return run


# ---------------------------------------------------------------------------- workers: the lease
def lease_seconds() -> int:
    """How long a claim on a job lasts without renewal (renewed while a cycle runs)."""
    from django.conf import settings

    return settings.PROVISIONING_LEASE_SECONDS


def claim(job_id: int, owner: str) -> bool:
    """Take the job's lease if it is free or expired: one run at a time, across all workers."""
    now = timezone.now()
    return ProvisioningJob.objects.filter(pk=job_id).filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    ).update(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds())) == 1


def renew(job_id: int, owner: str) -> bool:
    """Extend the lease; False when another run took the job over."""
    return ProvisioningJob.objects.filter(pk=job_id, lease_owner=owner).update(
        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds())) == 1


def release(job_id: int, owner: str) -> None:
    ProvisioningJob.objects.filter(pk=job_id, lease_owner=owner).update(lease_owner="", lease_expires_at=None)


# ---------------------------------------------------------------------------- workers: a cycle's life
def begin_cycle(job: ProvisioningJob, *, kind: str, initiated_by: str) -> SyncCycle:
    """Record a new cycle and mark the job running (a stop asked before it began is spent)."""
    with transaction.atomic():
        for left in SyncCycle.objects.select_for_update().filter(job=job, status=CycleStatus.RUNNING):
            left.status, left.finished_at = CycleStatus.INTERRUPTED, timezone.now()
            left.error = "The worker running this cycle stopped before it finished; the next cycle took over."
            left.save(update_fields=["status", "finished_at", "error"])
            cycle_ended(left, job.job_id)
    cycle = SyncCycle.objects.create(job=job, kind=kind, initiated_by=initiated_by or "System")
    _update(job, state=JobState.RUNNING, last_cycle=cycle, stop_requested=False)
    return cycle


def _resting_state(job: ProvisioningJob) -> str:
    """The state a job returns to after a cycle that neither succeeded nor quarantined it: a
    quarantine in force stays (with its backoff) until a cycle succeeds or provisioning restarts."""
    job.refresh_from_db(fields=["quarantine_level"])
    return JobState.QUARANTINED if job.quarantine_level else JobState.IDLE


def stopped_by_administrator(job: ProvisioningJob) -> None:
    _update(job, state=_resting_state(job), stop_requested=False)


def forget_delta_links(job: ProvisioningJob) -> None:
    """Graph no longer knows the delta links: the next cycle reads everything."""
    _update(job, user_delta_link="", group_delta_link="", full_cycle_requested=True)


def retry_later(job: ProvisioningJob, *, minutes: float) -> None:
    """A cycle failed for a passing reason: try again sooner than a full interval (a quarantine keeps its own
    schedule)."""
    state = _resting_state(job)
    if state == JobState.QUARANTINED:
        _update(job, state=state)
    else:
        _update(job, state=state, next_run_at=timezone.now() + timedelta(minutes=minutes))


def quarantine(job: ProvisioningJob, code: str, reason: str, *, reason_key: str, subject: str,
               staged_cycle: SyncCycle | None = None) -> None:
    """Quarantine the job: run less often (gradually) until a cycle succeeds or it is restarted. The
    notification address is told (once a day per reason); entering quarantine is audited."""
    job.refresh_from_db()
    level = min(job.quarantine_level + 1, 10)
    delay = min(timedelta(minutes=job.interval_minutes * 2 ** level), MAX_QUARANTINE_DELAY)
    entering = job.quarantine_level == 0
    if not _update(job, Q(quarantine_level=job.quarantine_level), state=JobState.QUARANTINED, quarantine_code=code,
                   quarantine_kind=reason_key, quarantine_reason=reason, quarantined_at=job.quarantined_at or timezone.now(),
                   quarantine_level=level, next_run_at=timezone.now() + delay, staged_cycle=staged_cycle):
        return  # a Restart or Allow deletes came first: it wins
    if entering:
        SYSTEM.audit(AuditActivity.QUARANTINE, job, detail=reason, after={"code": code})
    notify(job, reason_key, subject, reason)


def commit_cycle(job: ProvisioningJob, *, generation: int, outcome, fingerprint: str, store) -> bool:
    """Store what a finished cycle read (the snapshot and its delta links) together, unless a Restart or
    Allow deletes came while it ran (those win: their next cycle is a full one). Returns whether it did."""
    with transaction.atomic():
        current = ProvisioningJob.objects.select_for_update().get(pk=job.pk)
        if current.generation != generation:
            return False
        if outcome.snapshot is not None:
            outcome.snapshot.commit(store)
        delta = outcome.delta
        full = {"last_full_cycle_at": timezone.now()} if outcome.kind != CycleKind.INCREMENTAL else {}
        return _update(job, Q(generation=generation), user_delta_link=delta.users if delta else "",
                       group_delta_link=delta.groups if delta else "", config_fingerprint=fingerprint,
                       full_cycle_requested=bool(outcome.staged), allow_deletes_once=False, allowed_deletes=None,
                       **full)


def cycle_succeeded(job: ProvisioningJob) -> None:
    """A cycle that succeeds ends a quarantine; the next one is due after the interval."""
    job.refresh_from_db(fields=["quarantine_level"])
    was_quarantined = job.quarantine_level > 0
    _update(job, state=JobState.IDLE, next_run_at=timezone.now() + timedelta(minutes=job.interval_minutes),
            **QUARANTINE_CLEARED)
    if was_quarantined:
        SYSTEM.audit(AuditActivity.RELEASE_QUARANTINE, job, detail="A cycle succeeded: provisioning left quarantine.")

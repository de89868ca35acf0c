"""What a cycle keeps in the database: links, the source membership and
assignment snapshots, escrows, provisioning logs and progress. Every write is
a bulk write; a read-only store (previews) writes nothing at all."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from ..batching import chunked
from ..bulk import delete_rows, insert_rows, upsert_rows
from ..constants import Action, LinkState, LogStatus, ObjectType
from ..metrics import calls
from ..metrics.counters import objects_recorded
from ..models import (
    Escrow,
    ObjectLink,
    PendingWrite,
    ProvisioningJob,
    ProvisioningLog,
    SourceAssignment,
    SourceMembership,
    SyncCycle,
)
from ..streaming.outbox import enqueue_logs
from ..targets.base import AccountStatus
from .execution import Result
from .membership import MemberChange
from .types import LinkInfo, Plan, plan_to_json, planned_changes, step

log = logging.getLogger(__name__)

BULK = 2000
#: announced writes ended between two vacuums of their table (see :meth:`Store._tidy_pending`)
VACUUM_PENDING_EVERY = 20_000
#: a log row of the store's own cycle (not one resolved for an earlier run)
_CURRENT = object()


def lease_seconds() -> int:
    """How long a claim on a job lasts without renewal (renewed every second while a cycle runs)."""
    from django.conf import settings

    return settings.PROVISIONING_LEASE_SECONDS


class LeaseLost(Exception):
    """Another run took over this job (our lease expired): stop without writing more."""


class StopRequested(Exception):
    """An administrator turned provisioning off or stopped the cycle."""


#: the columns of a link row that make its LinkInfo, in LinkInfo's order
_LINK_COLUMNS = ("source_id", "target_id", "state", "exported", "disabled_at", "display_name",
                 "user_principal_name", "target_email")


def _link_infos(rows) -> dict[str, LinkInfo]:
    """LinkInfos by source id, read as plain values (no model instances)."""
    return {values[0]: LinkInfo(*values) for values in rows.values_list(*_LINK_COLUMNS).iterator(chunk_size=BULK)}


class Store:
    """The database side of one cycle (or preview, or on-demand run)."""

    def __init__(self, job: ProvisioningJob, cycle: SyncCycle | None, *, read_only: bool = False,
                 initiated_by: str = "Microsoft.Azure.SyncFabric"):
        self.job = job
        self.cycle = cycle
        self.read_only = read_only
        self.initiated_by = initiated_by
        #: set by the runner's lease keeper when the lease could not be renewed
        self.lease_lost: threading.Event | None = None
        self.counters: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.processed = 0
        self.in_scope = 0
        self.phase = ""
        self._last_flush = 0.0
        self._last_stop_check = 0.0
        self._stop = False
        #: announced writes this store ended since their table was last vacuumed (None: never vacuumed here)
        self._ended_since_vacuum: int | None = 0

    # ------------------------------------------------------------------ links
    def links(self, object_type: str) -> dict[str, LinkInfo]:
        return _link_infos(ObjectLink.objects.filter(job=self.job, object_type=object_type))

    def links_for(self, object_type: str, source_ids: Iterable[str]) -> dict[str, LinkInfo]:
        wanted = set(source_ids)
        if len(wanted) > BULK and len(wanted) * 4 > ObjectLink.objects.filter(
                job=self.job, object_type=object_type).count():
            # Ids of most of the links (a group phase's members, say): reading them all costs less than
            # asking by id. (For 10,000 changed users of 100,000, all would be 150 MB.)
            return {uid: info for uid, info in self.links(object_type).items() if uid in wanted}
        found: dict[str, LinkInfo] = {}
        for ids in chunked(wanted, BULK):
            found.update(_link_infos(ObjectLink.objects.filter(job=self.job, object_type=object_type,
                                                               source_id__in=ids)))
        return found

    def linked_source_ids(self, object_type: str) -> set[str]:
        """The source ids of every linked object of a type (no more of the links than that)."""
        return set(ObjectLink.objects.filter(job=self.job, object_type=object_type)
                   .values_list("source_id", flat=True).iterator(chunk_size=BULK))

    def target_ids(self, object_type: str, source_ids: Iterable[str]) -> dict[str, str]:
        """Source id -> target id of these linked objects (no more of the links than that)."""
        wanted = set(source_ids)
        rows = ObjectLink.objects.filter(job=self.job, object_type=object_type)
        if len(wanted) > BULK:
            return {sid: tid for sid, tid in rows.values_list("source_id", "target_id").iterator(chunk_size=BULK)
                    if sid in wanted}
        found: dict[str, str] = {}
        for ids in chunked(wanted, BULK):
            found.update(rows.filter(source_id__in=ids).values_list("source_id", "target_id"))
        return found

    def links_past_grace(self, days: int | None, now: datetime) -> list[str]:
        """Source ids of users suspended longer than the grace period."""
        if days is None:
            return []
        cutoff = now - timedelta(days=days)
        return list(ObjectLink.objects.filter(job=self.job, object_type=ObjectType.USER, state=LinkState.DISABLED,
                                              disabled_at__lte=cutoff).values_list("source_id", flat=True))

    # ------------------------------------------------------------------ source snapshots
    def memberships_of(self, user_ids: Iterable[str]) -> dict[str, set[str]]:
        groups: dict[str, set[str]] = defaultdict(set)
        for ids in chunked(dict.fromkeys(user_ids), BULK):
            for gid, mid in SourceMembership.objects.filter(job=self.job, member_id__in=ids) \
                    .values_list("group_id", "member_id"):
                groups[mid].add(gid)
        return groups

    def members_of(self, group_ids: Iterable[str]) -> dict[str, dict[str, set[str]]]:
        """{group id: {"user": {...}, "group": {...}}}"""
        members: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"user": set(), "group": set()})
        for ids in chunked(dict.fromkeys(group_ids), BULK):
            for gid, mid, kind in SourceMembership.objects.filter(job=self.job, group_id__in=ids) \
                    .values_list("group_id", "member_id", "member_type"):
                members[gid]["group" if kind == "group" else "user"].add(mid)
        return members

    def all_memberships(self) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        users: dict[str, set[str]] = defaultdict(set)
        groups: dict[str, set[str]] = defaultdict(set)
        rows = SourceMembership.objects.filter(job=self.job).values_list("group_id", "member_id", "member_type")
        for gid, mid, kind in rows.iterator(chunk_size=BULK * 5):
            (groups if kind == "group" else users)[gid].add(mid)
        return users, groups

    def replace_memberships(self, users: dict[str, set[str]], groups: dict[str, set[str]]) -> None:
        if self.read_only:
            return
        with transaction.atomic():
            SourceMembership.objects.filter(job=self.job).delete()
            job_id = self.job.pk
            rows = [{"job_id": job_id, "group_id": gid, "member_id": mid, "member_type": kind}
                    for kind, table in (("user", users), ("group", groups))
                    for gid, members in table.items() for mid in members]
            insert_rows(SourceMembership, rows)

    def replace_group_memberships(self, group_ids: set[str], users: dict[str, set[str]],
                                  groups: dict[str, set[str]]) -> None:
        """Replace the stored members of some groups (groups just assigned)."""
        if self.read_only:
            return
        with transaction.atomic():
            SourceMembership.objects.filter(job=self.job, group_id__in=list(group_ids)).delete()
            job_id = self.job.pk
            rows = [{"job_id": job_id, "group_id": gid, "member_id": mid, "member_type": kind}
                    for kind, table in (("user", users), ("group", groups))
                    for gid, members in table.items() for mid in members]
            insert_rows(SourceMembership, rows, ignore_conflicts=True)

    def apply_membership_changes(self, added: Iterable[MemberChange], removed: Iterable[MemberChange],
                                 dropped_groups: Iterable[str] = ()) -> None:
        if self.read_only:
            return
        with transaction.atomic():
            dropped = list(dropped_groups)
            if dropped:
                SourceMembership.objects.filter(job=self.job, group_id__in=dropped).delete()
            by_group: dict[str, list[str]] = defaultdict(list)
            for change in removed:
                by_group[change.group_id].append(change.member_id)
            for gid, mids in by_group.items():
                SourceMembership.objects.filter(job=self.job, group_id=gid, member_id__in=mids).delete()
            job_id = self.job.pk
            insert_rows(SourceMembership, [{"job_id": job_id, "group_id": c.group_id, "member_id": c.member_id,
                                            "member_type": c.kind} for c in added], ignore_conflicts=True)

    def assignments(self) -> list[dict]:
        return [
            {"id": a.assignment_id, "principalId": a.principal_id, "principalType": a.principal_type,
             "principalDisplayName": a.principal_display_name, "appRoleId": a.app_role_id}
            for a in SourceAssignment.objects.filter(job=self.job)
        ]

    def replace_assignments(self, rows: list[dict]) -> None:
        if self.read_only:
            return
        with transaction.atomic():
            SourceAssignment.objects.filter(job=self.job).delete()
            insert_rows(SourceAssignment, (
                SourceAssignment(job=self.job, assignment_id=r["id"], principal_id=r["principalId"],
                                 principal_type=r["principalType"], app_role_id=r["appRoleId"],
                                 principal_display_name=(r.get("principalDisplayName") or "")[:300])
                for r in rows
            ))

    # ------------------------------------------------------------------ escrows
    def due_escrows(self, now: datetime) -> dict[str, list[str]]:
        due: dict[str, list[str]] = defaultdict(list)
        for object_type, source_id in Escrow.objects.filter(job=self.job, not_before__lte=now) \
                .values_list("object_type", "source_id"):
            due[object_type].append(source_id)
        return due

    # ------------------------------------------------------------------ writes announced, results recorded
    def announce(self, plans: list[Plan], *, early: bool = False) -> None:
        """Record these writes before they are sent: each gets the id of its log row, and a run that
        stops before its answer is recorded leaves a :class:`PendingWrite` for the next one to resolve.
        ``early``: updates sent while the users' round is read (a user named again later in the round
        is updated a second time in the same cycle, with a log row of its own)."""
        cycle_id = self.cycle.cycle_id if self.cycle else None
        suffix = ":early" if early else ""
        for plan in plans:
            seed = f"{cycle_id or uuid.uuid4()}:{plan.object_type}:{plan.source_id}:{plan.action}{suffix}"
            plan.change_id = str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
        if self.read_only:
            return
        job_id, initiated_by = self.job.pk, self.initiated_by
        insert_rows(PendingWrite, [
            {"job_id": job_id, "cycle_id": cycle_id, "change_id": plan.change_id, "initiated_by": initiated_by,
             "object_type": plan.object_type, "source_id": plan.source_id, "action": plan.action,
             "plan": plan_to_json(plan)} for plan in plans])

    def pending_writes(self, *, on_demand_older_than: timedelta = timedelta(minutes=10)) -> list[PendingWrite]:
        """Writes announced by runs that are over (a cycle of this job that is not this one; provision on
        demand, which holds no lease, once it is surely done) whose answers were never recorded."""
        current = self.cycle.cycle_id if self.cycle else None
        rows = PendingWrite.objects.filter(job=self.job).exclude(cycle_id=current) if current else \
            PendingWrite.objects.filter(job=self.job)
        cutoff = timezone.now() - on_demand_older_than
        return [row for row in rows.order_by("id") if row.cycle_id is not None or row.created_at < cutoff]

    def record(self, results: list[Result], plans_without_writes: list[Plan] = ()) -> None:
        """Links, logs, escrows and counters for executed results and for logged plans that wrote nothing,
        in one transaction with the end of their announced writes."""
        batch = _Batch(self, timezone.now())
        for result in results:
            self._count(result.action, result.status)
            batch.add_result(result)
        for plan in plans_without_writes:
            status = LogStatus.SKIPPED if plan.action == Action.SKIP or plan.staged else LogStatus.SUCCESS
            self._count(plan.action, status)
            batch.add_quiet(plan, status)
        if not self.read_only:
            batch.write()
            self.flush()
            self._tidy_pending(len(batch.done))

    def _tidy_pending(self, ended: int) -> None:
        """Vacuum the announced writes' table every so many ended writes. It is a queue: each write inserts
        a row and deletes it moments later, so a large phase leaves hundreds of thousands of dead rows that
        every later delete steps over until the table is vacuumed, and autovacuum may be late or off.
        Vacuumed as the cycle goes, it stays a few pages long. A vacuum that cannot run is not tried again."""
        if self._ended_since_vacuum is None or connection.vendor != "postgresql":
            return
        self._ended_since_vacuum += ended
        if self._ended_since_vacuum < VACUUM_PENDING_EVERY or connection.in_atomic_block:
            return
        self._ended_since_vacuum = 0
        table = connection.ops.quote_name(PendingWrite._meta.db_table)
        try:
            with connection.cursor() as cursor:
                # (another process vacuuming it already: nothing to wait for)
                cursor.execute(f"VACUUM (SKIP_LOCKED) {table}")
        except DatabaseError as exc:
            self._ended_since_vacuum = None
            log.warning("Could not vacuum %s (%s); PostgreSQL's autovacuum is left to do it.", table, exc)

    def record_resolved(self, resolved: list[tuple[PendingWrite, Result]]) -> None:
        """Log rows, links and escrows of writes a stopped run left pending, under the cycle that made them
        (whose counters they join), and the end of those pending writes."""
        batch = _Batch(self, timezone.now())
        counted: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
        for pending, result in resolved:
            batch.add_result(result, cycle_id=pending.cycle_id, initiated_by=pending.initiated_by)
            counted[pending.cycle_id][result.action][result.status] += 1
        with transaction.atomic():
            batch.write()
            for cycle in SyncCycle.objects.select_for_update().filter(job=self.job, cycle_id__in=[
                    cid for cid in counted if cid is not None]):
                for action, statuses in counted[cycle.cycle_id].items():
                    by_status = cycle.counters.setdefault(action, {})
                    for status, count in statuses.items():
                        by_status[status] = by_status.get(status, 0) + count
                cycle.objects_processed += sum(sum(s.values()) for s in counted[cycle.cycle_id].values())
                cycle.save(update_fields=["counters", "objects_processed"])

    def _count(self, action: str, status: str) -> None:
        self.counters[action][status] += 1
        self.processed += 1

    def _link_row(self, plan: Plan, result: Result | None, now: datetime) -> dict:
        """The link's row (a plain dict by column, see :mod:`provisioning.bulk`)."""
        action = result.action if result else plan.action
        if action == Action.DISABLE:
            state, disabled_at = LinkState.DISABLED, now
        elif result and result.account is not None and result.account.status == AccountStatus.SUSPENDED \
                and action != Action.ENABLE:
            state, disabled_at = LinkState.DISABLED, now
        else:
            state, disabled_at = LinkState.ACTIVE, None
        exported = (result.exported if result and result.exported else plan.values) or {}
        return {
            "job_id": self.job.pk, "object_type": plan.object_type, "source_id": plan.source_id,
            "target_id": (result.target_id if result and result.target_id else plan.target_id),
            "display_name": plan.display_name[:300], "user_principal_name": plan.upn[:300],
            "target_email": ((result.target_label if result else "") or plan.target_label)[:300],
            # Users keep their attribute values; groups also keep the member ids they were given.
            "state": state, "exported": exported if plan.object_type == ObjectType.GROUP
            else {k: v for k, v in exported.items() if k != "members"},
            "disabled_at": disabled_at, "updated_at": now,
            # kept from the link's first row (the upsert does not update it)
            "matched_by": ("created" if action == Action.CREATE and not plan.newly_linked else plan.matched_by)[:60],
        }

    def _escrow(self, result: Result, now: datetime) -> None:
        plan = result.plan
        existing = Escrow.objects.filter(job=self.job, object_type=plan.object_type, source_id=plan.source_id).first()
        attempts = (existing.attempts + 1) if existing else 1
        # 2, 4, 8 ... minutes, at most a day: a lasting failure does not slow every cycle.
        delay = timedelta(minutes=min(2 ** attempts, 24 * 60))
        Escrow.objects.update_or_create(
            job=self.job, object_type=plan.object_type, source_id=plan.source_id,
            defaults={"attempts": attempts, "not_before": now + delay, "last_error": str(result.error or "")[:2000]},
        )

    def _log(self, plan: Plan, action: str, status: str, now: datetime, result: Result | None, *,
             cycle_id=_CURRENT, initiated_by: str = "") -> dict:
        """The log row (a plain dict by column, see :mod:`provisioning.bulk`)."""
        error = result.error if result else None
        steps = list(plan.steps)
        perform = f"{action}: {plan.reason}".strip()
        if error is not None:
            perform = f"{action} failed: {error.message}"
        if result is not None and result.note:
            perform = f"{perform} {result.note}"
        steps.append(step("Perform action", status, perform,
                          **({"error_code": error.code} if error is not None else {})))
        if cycle_id is _CURRENT:
            cycle_id = self.cycle.cycle_id if self.cycle else None
        change_id = plan.change_id or uuid.uuid5(
            uuid.NAMESPACE_URL, f"{cycle_id or uuid.uuid4()}:{plan.object_type}:{plan.source_id}:{action}")
        return {
            "job_id": self.job.pk, "activity_time": now, "cycle_id": cycle_id,
            "change_id": change_id, "initiated_by": initiated_by or self.initiated_by,
            "object_type": plan.object_type, "action": action, "status": status,
            "error_code": (error.code if error is not None
                           else (plan.code if status != LogStatus.SUCCESS else ""))[:120],
            "error_reason": (error.message if error is not None
                             else (plan.reason if status != LogStatus.SUCCESS else "")),
            "recommendation": (error.recommendation if error is not None and error.recommendation
                               else plan.recommendation),
            "source_id": plan.source_id, "source_display_name": plan.display_name[:300],
            "source_upn": plan.upn[:300],
            "target_id": (result.target_id if result and result.target_id else plan.target_id)[:120],
            "target_email": ((result.target_label if result else "") or plan.target_label)[:300],
            "steps": steps,
            "modified_properties": [{"name": n, "old": _show(o), "new": _show(v)}
                                    for n, o, v in planned_changes(plan, action)],
            "duration_ms": result.duration_ms if result else 0,
        }

    # ------------------------------------------------------------------ progress, lease, stop
    def flush(self, force: bool = False) -> None:
        """Store progress (at most once a second). Never raises: see :meth:`checkpoint`."""
        if self.read_only or self.cycle is None:
            return
        now = time.monotonic()
        if not force and now - self._last_flush < 1.0:
            return
        self._last_flush = now
        SyncCycle.objects.filter(pk=self.cycle.pk).update(
            objects_processed=self.processed, objects_in_scope=max(self.in_scope, self.processed),
            counters=_plain(self.counters), phase=self.phase[:120],
        )
        calls.flush()  # the counts of calls, every few seconds while a cycle runs

    def checkpoint(self) -> None:
        """Store progress, and stop here if an administrator asked to or the lease was lost.
        Called where stopping loses nothing: between reads, and after writes are recorded."""
        self.flush(force=True)
        if self.lease_lost is not None and self.lease_lost.is_set():
            raise LeaseLost("Another run took over this provisioning job.")
        if self.stop_requested(fresh=True):
            raise StopRequested()

    def stop_requested(self, fresh: bool = False) -> bool:
        """Whether to stop taking new work (asked at most once a second)."""
        if self.read_only:
            return False
        if self.lease_lost is not None and self.lease_lost.is_set():
            return True
        now = time.monotonic()
        if fresh or now - self._last_stop_check >= 1.0:
            self._last_stop_check = now
            self._stop = ProvisioningJob.objects.filter(pk=self.job.pk, stop_requested=True).exists()
        return self._stop

    def link_owners(self, object_type: str, target_ids: Iterable[str]) -> dict[str, str]:
        """Target id -> source id, for those of these target objects the portal linked."""
        owners: dict[str, str] = {}
        for ids in chunked(target_ids, BULK):
            owners.update(ObjectLink.objects.filter(job=self.job, object_type=object_type, target_id__in=ids)
                          .values_list("target_id", "source_id"))
        return owners

    def linked_target_ids(self, target_ids: Iterable[str]) -> set[str]:
        """Which of these target ids belong to objects the portal linked."""
        found: set[str] = set()
        for ids in chunked(target_ids, BULK):
            found |= set(ObjectLink.objects.filter(job=self.job, target_id__in=ids).values_list("target_id", flat=True))
        return found

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        self.checkpoint()



class _Batch:
    """What one ``record`` writes: log rows, link upserts and removals, escrows, and the ends of the
    writes announced, all in one transaction."""

    def __init__(self, store: Store, now: datetime):
        self.store, self.now = store, now
        #: rows, as plain dicts (see :mod:`provisioning.bulk`)
        self.logs: list[dict] = []
        self.upserts: dict[tuple[str, str], dict] = {}
        #: links of objects this batch created: almost always new rows
        self.new_links: dict[tuple[str, str], dict] = {}
        self.unlinks: dict[str, list[str]] = defaultdict(list)
        self.escrow_add: list[Result] = []
        self.escrow_clear: dict[str, list[str]] = defaultdict(list)
        self.done: list[str] = []
        #: (object type, action, status) -> how many, for /metrics' counters
        self.counted: Counter = Counter()

    def add_result(self, result: Result, **log_fields) -> None:
        plan, store = result.plan, self.store
        self.counted[(plan.object_type, result.action, result.status)] += 1
        self.logs.append(store._log(plan, result.action, result.status, self.now, result, **log_fields))
        if plan.change_id:
            self.done.append(plan.change_id)
        key = (plan.object_type, plan.source_id)
        if result.ok:
            self.escrow_clear[plan.object_type].append(plan.source_id)
            if plan.link and result.target_id and result.action == Action.CREATE and key not in self.upserts:
                self.new_links[key] = store._link_row(plan, result, self.now)
            elif plan.link and result.target_id:
                self.upserts[key] = store._link_row(plan, result, self.now)
            elif not plan.link:
                self.unlinks[plan.object_type].append(plan.source_id)
            return
        if result.transient:
            self.escrow_add.append(result)
        if result.unlink:
            self.unlinks[plan.object_type].append(plan.source_id)

    def add_quiet(self, plan: Plan, status: str) -> None:
        store = self.store
        self.counted[(plan.object_type, plan.action, status)] += 1
        if plan.log:
            self.logs.append(store._log(plan, plan.action, status, self.now, None))
        self.escrow_clear[plan.object_type].append(plan.source_id)
        if plan.link and plan.target_id and plan.newly_linked:
            self.upserts[(plan.object_type, plan.source_id)] = store._link_row(plan, None, self.now)
        if plan.code == "TargetGone":
            self.unlinks[plan.object_type].append(plan.source_id)

    def write(self) -> None:
        job = self.store.job
        with transaction.atomic():
            # Links of objects just created are new (tried as a plain insert); the others are updates.
            for rows, likely_new in ((self.new_links.values(), True), (self.upserts.values(), False)):
                upsert_rows(
                    ObjectLink, rows, unique_fields=["job", "object_type", "source_id"],
                    update_fields=["target_id", "display_name", "user_principal_name", "target_email", "state",
                                   "exported", "disabled_at", "updated_at"], likely_new=likely_new,
                )
            for object_type, ids in self.unlinks.items():
                delete_rows(ObjectLink, "source_id", ids, job=job, object_type=object_type)
            # Most cycles have no escrow at all: one cheap look spares a delete per batch.
            if self.escrow_clear and Escrow.objects.filter(job=job).exists():
                for object_type, ids in self.escrow_clear.items():
                    delete_rows(Escrow, "source_id", ids, job=job, object_type=object_type)
            for result in self.escrow_add:
                self.store._escrow(result, self.now)
            insert_rows(ProvisioningLog, self.logs, ignore_conflicts=True)
            enqueue_logs(self.logs)  # their outbox entries, in the same transaction (log streaming)
            delete_rows(PendingWrite, "change_id", self.done, job=job)
            objects_recorded(job.job_id, self.counted)


def _show(value):
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return value


def _plain(counters) -> dict:
    return {action: dict(statuses) for action, statuses in counters.items()}




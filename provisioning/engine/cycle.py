"""One provisioning cycle, phase after phase: check the credentials → read the
source → the memberships → evaluate (scope and mapped values, once) → match
against the target → plan → safety → execute → record; users first, then
groups (whose members are the users just provisioned).

A **full** cycle (the initial one, or after a restart or a configuration change)
reads every user and group; an **incremental** cycle reads only what changed
since the delta links, and acts only on the users and groups the changes touch;
the updates of users whose attributes alone changed go out while the rest of the
users' round is still being read, everything else once it is all in.
This module only orders the phases; each lives in its own module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from ..connectors.source import SourceConnector
from ..constants import Action, CycleKind, ObjectType
from ..targets.base import TargetConnector
from .changes import Affected, affected_by, with_users_read
from .config import EngineConfig
from .evaluate import HARD_DELETED, SOFT_DELETED, SourceGroup, SourceUser
from .execution import Executor
from .membership import Memberships, expand_groups, groups_by_user
from .pipeline import Pipeline
from .planning import PlanContext
from .reading import DeltaRead, FullRead, SourceReader, empty_read_reason
from .record import Tally, execute_and_record, plan_only, send_and_record_as_planned
from .recovery import resolve_pending
from .safety import DeletePermit, Staging, stage_groups, stage_users
from .shards import execute_in_shards, shard_count
from .spill import SpilledPlans
from .store import Store
from .types import Plan

WRITE_FAILURE_QUARANTINE_RATIO = 0.4
WRITE_FAILURE_QUARANTINE_MINIMUM = 5


@dataclass(frozen=True)
class DeltaLinks:
    """Where the last cycle's delta rounds ended."""

    users: str = ""
    groups: str = ""


@dataclass
class Outcome:
    """What a cycle did, for the job's state, notifications and previews."""

    kind: str
    counters: dict = field(default_factory=dict)
    #: the plans of a dry run (a preview)
    plans: list[Plan] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    staging: Staging = field(default_factory=Staging)
    #: the delta links this cycle reached (None until its reads are done)
    delta: DeltaLinks | None = None
    #: the source snapshot read, written with the delta links when the job settles
    snapshot: "Snapshot | None" = None
    #: writes a stopped run left pending that this cycle confirmed (or found missing) first
    confirmed: int = 0
    #: accounts of the target linked to no source user after this cycle (full cycles only)
    unlinked_accounts: int | None = None

    @property
    def writes(self) -> int:
        return self.tally.writes

    @property
    def write_failures(self) -> int:
        return self.tally.write_failures

    @property
    def top_error(self) -> str:
        return self.tally.top_error

    @property
    def staged(self) -> int:
        return self.staging.staged

    @property
    def staged_reason(self) -> str:
        return self.staging.reason

    @property
    def failure_ratio(self) -> float:
        return self.write_failures / self.writes if self.writes else 0.0

    @property
    def should_quarantine_for_failures(self) -> bool:
        return self.writes >= WRITE_FAILURE_QUARANTINE_MINIMUM and self.failure_ratio > WRITE_FAILURE_QUARANTINE_RATIO


@dataclass
class Snapshot:
    """The assignments and memberships a cycle read, to store once the job settles: all of them
    (a full cycle), or the stored ones with the changes applied (an incremental cycle)."""

    assignment_rows: list[dict]
    full: Memberships | None = None
    affected: Affected | None = None

    def commit(self, store: Store) -> None:
        store.replace_assignments(self.assignment_rows)
        if self.full is not None:
            store.replace_memberships(self.full.users, self.full.groups)
            return
        view = self.affected.view
        if view.replaced.group_ids:
            store.replace_group_memberships(view.replaced.group_ids, view.replaced.users, view.replaced.groups)
        store.apply_membership_changes(view.added, view.removed, view.dropped)


@dataclass
class _Work:
    """What the read phase leaves to plan: users (and how to match them), then groups."""

    users: list[SourceUser]
    links: dict
    #: the whole target (a full cycle), or None to look the accounts up
    index_from_team: bool
    assignments: object
    suspicion_read: FullRead | DeltaRead
    groups: Callable[[set[str]], list[SourceGroup]] | None
    #: lets go of what the users' planning did not take (a read still under way stops)
    release: Callable[[], None] = lambda: None


def _destructive(plans: list[Plan] | SpilledPlans) -> list[Plan]:
    """The plans staging looks at (it stages disables and deletes): of spilled plans, those kept as objects."""
    return plans.kept if isinstance(plans, SpilledPlans) else plans


class Cycle:
    """Runs one cycle. Build it with the connectors, the configuration and a store; call
    :meth:`run`; once the job's state is settled, ``outcome.snapshot.commit(store)``."""

    def __init__(self, config: EngineConfig, source: SourceConnector, target: TargetConnector, store: Store, *,
                 kind: str, delta: DeltaLinks = DeltaLinks(), permit: DeletePermit = DeletePermit(),
                 dry_run: bool = False, now: datetime | None = None, max_workers: int = 24,
                 sleep: Callable[[float], None] | None = None):
        self.config = config
        self.source = source
        self.target = target
        self.store = store
        self.kind = kind
        self.full = kind != CycleKind.INCREMENTAL
        self.delta = delta
        self.permit = permit
        self.dry_run = dry_run
        self.now = now or timezone.now()
        self.outcome = Outcome(kind=kind)
        #: updates sent while the users' delta round was still being read
        self.sent_early = 0
        extra = {"sleep": sleep} if sleep else {}
        self.executor = Executor(target, config, max_workers=max_workers, should_stop=store.stop_requested, **extra)
        self.reader = SourceReader(source, config, progress=store.set_phase, checkpoint=store.checkpoint)

    # ================================================================== the phases, in order
    def run(self) -> Outcome:
        self._check_credentials()
        if not self.dry_run:
            self.outcome.confirmed = resolve_pending(self.store, self.target)
        pipeline = Pipeline(PlanContext(self.config, self.target.schema, self.target.names, self.now, self.full),
                            self.target, self.store)
        work = self._read_full() if self.full else self._read_delta()
        try:
            user_plans = self._plan_users(pipeline, work)
        finally:
            work.release()
        suspicion = self._suspicion(pipeline, work)
        try:
            self.outcome.staging = stage_users(_destructive(user_plans), self.config, self.permit, suspicion)
            self.store.in_scope += len(user_plans)
            self._apply(user_plans, "Provisioning users", sent_before=self.sent_early)
            # (a full cycle reads every group again: only an incremental one needs the users relinked)
            relinked = set() if isinstance(user_plans, SpilledPlans) else {
                p.source_id for p in user_plans if p.newly_linked or p.action in (Action.CREATE, Action.DELETE)}
            staged_accounts = {p.target_id for p in _destructive(user_plans) if p.staged}
        finally:
            if isinstance(user_plans, SpilledPlans):
                user_plans.close()
        del user_plans  # recorded: let them go before the groups are planned
        if work.groups is not None:
            self.store.set_phase("Planning groups")
            group_items = work.groups(relinked)
            group_plans = pipeline.plan_groups(group_items, work.assignments, self.store.links_for(
                ObjectType.GROUP, [item.source_id for item in group_items]))
            self.outcome.staging.add(stage_groups(group_plans, staged_accounts, self.config, self.permit,
                                                  self.target.names, suspicion))
            self.store.in_scope += len(group_plans)
            self._apply(group_plans, "Provisioning groups")
        self.outcome.counters = {a: dict(s) for a, s in self.store.counters.items()}
        return self.outcome

    def _check_credentials(self) -> None:
        # One cheap call first: a revoked authorization, or an admin who lost the role, stops the
        # cycle before anything is read or written, and is never mistaken for "nothing changed".
        self.store.set_phase(f"Checking the {self.target.names.service} credentials")
        admin = self.target.authenticated_admin()
        self.config = replace(self.config, protected_account_id=admin.id)
        self.executor.config = self.config

    def _suspicion(self, pipeline: Pipeline, work: _Work) -> str:
        return empty_read_reason(self.config, work.suspicion_read, in_scope=pipeline.in_scope_users, links=work.links)

    def _plan_users(self, pipeline: Pipeline, work: _Work) -> list[Plan]:
        if not work.index_from_team:
            evaluations = pipeline.evaluate_users(work.users, work.assignments, work.links)
            return pipeline.plan_users(evaluations, work.links)
        self.store.set_phase(f"Reading the {self.target.names.container}")
        index = pipeline.team_index(work.links)
        self.store.set_phase("Planning")
        # One user at a time, each let go once planned: a whole tenant's attributes and evaluations
        # are never held beside its plans.
        evaluations = pipeline.iter_evaluations(work.users, work.assignments, work.links)
        plans, linked = SpilledPlans(), set()
        try:
            for plan in pipeline.iter_plans(evaluations, work.links, index):
                plans.append(plan)  # on disk until it is sent: a tenant's plans are never all held at once
                if plan.target_id and (plan.link or plan.action == Action.DELETE):
                    linked.add(plan.target_id)
        except BaseException:
            plans.close()
            raise
        protected = self.config.protected_account_id
        self.outcome.unlinked_accounts = sum(1 for account_id in index.by_id
                                             if account_id not in linked and account_id != protected)
        return plans

    def _apply(self, plans: list[Plan] | SpilledPlans, phase: str, *, sent_before: int = 0) -> None:
        """Send and record the plans of a phase; ``sent_before``: its writes already sent (updates sent while
        the users' round was read), which count towards how many processes send the rest."""
        self.store.set_phase(phase)
        if self.dry_run:
            plan_only(plans, self.store, self.outcome.plans)
        else:
            writes = plans.writes if isinstance(plans, SpilledPlans) else sum(1 for p in plans if p.writes)
            shards = shard_count(writes + sent_before)
            if sent_before and writes * 10 < settings.PROVISIONING_SHARD_FROM:
                shards = 1  # a small rest is sent by this process: forking would cost more than it saves
            if shards > 1:
                execute_in_shards(plans, self.executor, self.store, self.outcome.tally, shards)
            else:
                execute_and_record(plans, self.executor, self.store, self.outcome.tally)

    # ================================================================== full cycle
    def _read_full(self) -> _Work:
        # The users are still being read when this returns: each is planned as it arrives.
        read = self.reader.full(streamed=True)
        try:
            self.outcome.delta = DeltaLinks(read.user_delta_link, read.group_delta_link)
            self.outcome.snapshot = Snapshot(read.assignment_rows, full=read.memberships)
            config, assignments = self.config, read.assignments
            users_of = expand_groups(read.memberships, config.expand_nested_groups)
            groups_of = groups_by_user(users_of, assignments.groups)
            links = self.store.links(ObjectType.USER)
        except BaseException:
            read.users.clear()
            raise
        every_user = config.scope == "all"
        assigned = set(assignments.users) | set(groups_of)

        def items() -> Iterator[SourceUser]:
            # The users in scope or linked, in the order they were read, each read back from the scratch file
            # as it is planned; then, in the order of their ids, the linked users the read did not return.
            try:
                for uid, user in read.users.arrivals(tick=self.store.checkpoint):
                    if every_user or uid in assigned or uid in links:
                        yield SourceUser(uid, user, "", frozenset(groups_of.get(uid, ())))
                for uid in sorted(uid for uid in links if uid not in read.users):
                    gone = SOFT_DELETED if self.reader.soft_deleted(uid) else HARD_DELETED
                    yield SourceUser(uid, None, gone, frozenset(groups_of.get(uid, ())))
            finally:
                read.users.clear()

        def groups(_relinked: set[str]) -> list[SourceGroup]:
            group_links = self.store.links(ObjectType.GROUP)
            ids = set(read.groups) if config.scope == "all" else set(assignments.groups)
            return [SourceGroup(gid, read.groups.get(gid), users=frozenset(users_of.get(gid, ())))
                    for gid in sorted(ids | set(group_links))]

        return _Work(items(), links, True, assignments, read, groups if config.groups.enabled else None,
                     release=read.users.clear)

    # ================================================================== incremental cycle
    def _read_delta(self) -> _Work:
        # A dry run (a preview) writes nothing: it takes the whole round first.
        read = self.reader.delta(user_delta_link=self.delta.users, group_delta_link=self.delta.groups,
                                 previous_rows=self.store.assignments(), streamed=not self.dry_run)
        if read.arrivals is None:
            affected, early = affected_by(read, self.store, self.config, self.now), set()
        else:
            base = affected_by(read, self.store, self.config, self.now)  # (no user read yet: what the rest touches)
            try:
                early = self._update_as_read(read, base)
            finally:
                read.arrivals.close()
            affected = with_users_read(base, read)
        self.outcome.delta = DeltaLinks(read.user_delta_link, read.group_delta_link)
        self.outcome.snapshot = Snapshot(read.assignment_rows, affected=affected)
        affected.users -= early  # updated already, and not changed again later in the round
        links = self.store.links_for(ObjectType.USER, affected.users)
        items = self._changed_users(read, affected, links)
        groups = (lambda relinked: self._touched_groups(read, affected, relinked)) if self.config.groups.enabled \
            else None
        return _Work(items, links, False, read.assignments, read, groups)

    def _update_as_read(self, read: DeltaRead, base: Affected) -> set[str]:
        """Send the updates of linked users whose attributes alone changed while the rest of the users' round
        is still being read (its pages come one after the other, each waiting on Graph): the ids of the
        users updated.

        Only updates go early: everything else (creates, disables, deletes, anything staged, and users
        the round's memberships, assignments, escrows or grace periods touch) waits for the whole round,
        so the accidental-deletion threshold and every other check still see all of it. A user the round
        names again after the update is planned again with the rest, against the account as updated.
        ``base``: what the round touches apart from its users."""
        assigned = set(read.assignments.groups)
        pipeline = Pipeline(PlanContext(self.config, self.target.schema, self.target.names, self.now, self.full),
                            self.target, self.store)
        seen: set[str] = set()
        updated: set[str] = set()
        stopped: list[BaseException] = []

        def named_again(batch: list[tuple[str, bool]]) -> None:
            # a user the round names again after its update is planned with the rest, whatever came (a removal,
            # a disable, more changes), against the account as updated
            updated.difference_update(uid for uid, _removed in batch if uid in seen)

        def updates() -> Iterator[list[Plan]]:
            try:
                yield from planned()
            except GeneratorExit:
                raise  # the executor stopped taking work (a stop): what follows says why
            except BaseException as exc:  # noqa: BLE001 - raised once the updates in flight are recorded
                stopped.append(exc)

        def planned() -> Iterator[list[Plan]]:
            for batch in read.arrivals.batches(self.store.checkpoint):
                named_again(batch)
                if read.arrivals.read_through.is_set():
                    return  # the round is in: what is left goes with the rest, sent by several processes if many
                fresh = [(uid, removed) for uid, removed in batch if uid not in seen]
                seen.update(uid for uid, _removed in batch)
                # (a user changed and then removed in the same batch is in the read as removed)
                candidates = [uid for uid, removed in fresh
                              if not removed and uid in read.changed_users and uid not in base.users]
                links = self.store.links_for(ObjectType.USER, candidates) if candidates else {}
                candidates = [uid for uid in dict.fromkeys(candidates) if uid in links]
                if not candidates:
                    continue
                groups_of = base.groups_of(set(candidates), assigned)
                items = [SourceUser(uid, read.changed_users[uid], "", frozenset(groups_of.get(uid, ())))
                         for uid in candidates]
                plans = [plan for plan in pipeline.plan_users(pipeline.evaluate_users(items, read.assignments, links),
                                                              links)
                         if plan.action == Action.UPDATE and not plan.newly_linked]
                updated.update(plan.source_id for plan in plans)
                yield plans

        self.store.set_phase(f"Reading changed users from Microsoft Entra ID, updating them in "
                             f"{self.target.names.service}")
        # (a round that fails, or a stop, ends the updates: those sent are recorded before it is raised)
        send_and_record_as_planned(updates(), self.executor, self.store, self.outcome.tally)
        if stopped:
            raise stopped[0]
        # The rest of the round, laid into the read to be planned with the rest: every user in it is looked at.
        for batch in read.arrivals.batches(self.store.checkpoint):
            named_again(batch)
        self.store.in_scope += len(updated)
        self.sent_early = len(updated)
        return updated

    def _changed_users(self, read: DeltaRead, affected: Affected, links: dict) -> list[SourceUser]:
        self.store.set_phase("Planning")
        # Attributes of affected users the delta did not carry (a membership or assignment change).
        missing = [uid for uid in affected.users if uid not in read.changed_users and uid not in read.removed_users]
        fetched, not_found = self.reader.users(missing) if missing else ({}, set())
        groups_of = affected.groups_of(affected.users, set(read.assignments.groups))
        items = []
        for uid in sorted(affected.users):
            if uid in read.removed_users or uid in not_found:
                if uid not in links:
                    continue
                gone = HARD_DELETED if read.removed_users.get(uid) == "deleted" else SOFT_DELETED
                items.append(SourceUser(uid, None, gone))
            else:
                user = read.changed_users.get(uid) or fetched[uid]
                items.append(SourceUser(uid, user, "", frozenset(groups_of.get(uid, ()))))
        return items

    def _touched_groups(self, read: DeltaRead, affected: Affected, relinked: set[str]) -> list[SourceGroup]:
        """The groups the changes touch, and those whose provisioned members changed because users
        were just created or removed."""
        touched = set(affected.groups)
        if not touched and not relinked:
            return []  # attribute changes alone: no group to read or plan
        linked = self.store.linked_source_ids(ObjectType.GROUP)
        for gids in affected.groups_of(relinked, set(read.assignments.groups) | linked).values():
            touched.update(gids)
        candidates = {g for g in touched if g in read.assignments.groups or g in linked}
        if not candidates:
            return []
        group_links = self.store.links_for(ObjectType.GROUP, candidates)
        attrs, removed = self._group_attributes(read, candidates, group_links)
        users_of = affected.users_of(candidates)
        return [SourceGroup(gid, attrs.get(gid), deleted=gid in removed, users=frozenset(users_of.get(gid, ())))
                for gid in sorted(candidates)]

    def _group_attributes(self, read: DeltaRead, candidates: set[str], group_links: dict):
        """Attributes of the candidate groups: those the delta carried, else read. A linked group needs
        no read while the group mappings and filters read nothing but its name."""
        attrs = {gid: read.changed_groups[gid] for gid in candidates if gid in read.changed_groups}
        removed = set(read.removed_groups)
        names = self.config.groups.source_attributes() - {"objectId", "displayName", "members"}
        unread = sorted(gid for gid in candidates if gid not in attrs and gid not in removed
                        and (gid not in group_links or names))
        if unread:
            found, gone = self.reader.groups(unread)
            attrs.update(found)
            removed |= gone
        for gid in candidates - set(attrs) - removed:
            attrs[gid] = {"id": gid, "displayName": group_links[gid].display_name}
        return attrs, removed

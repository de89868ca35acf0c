"""Provision on demand: one user (or a group of up to five members) through the
cycle's own pipeline, now, with each step reported as it completes and logged."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from django.utils import timezone

from .. import connections
from ..connectors.errors import ConnectorError, NotFoundError
from ..connectors.source import SourceConnector
from ..constants import Action, ObjectType
from ..models import OnDemandRun, ProvisioningLog
from ..targets.base import TargetConnector
from .config import from_job
from .evaluate import HARD_DELETED, SOFT_DELETED, SourceGroup, SourceUser
from .execution import Executor
from .pipeline import Pipeline
from .planning import PlanContext
from .scope import Assignments, read_assignments
from .store import Store
from .types import Plan, planned_changes, step

log = logging.getLogger(__name__)

MAX_GROUP_MEMBERS = 5
#: the steps before "Perform action", by position, as the page shows them
IMPORT, SCOPE, MATCH = range(3)


class OnDemandError(Exception):
    """The object cannot be provisioned on demand (a group too big, say)."""


def run(run_id: int) -> OnDemandRun:
    """Carry out an :class:`OnDemandRun`, saving its steps as they complete."""
    record = OnDemandRun.objects.select_related("job__application").get(pk=run_id)

    def report(identity: str, item: dict) -> None:
        record.steps = [*record.steps, {"identity": identity, **item}]
        OnDemandRun.objects.filter(pk=record.pk).update(steps=record.steps)

    try:
        log_ids = OnDemand(record.job, report=report, initiated_by=record.requested_by).provision(
            record.object_type, record.source_id)
        record.status, record.log_ids = "done", log_ids
    except (ConnectorError, OnDemandError) as exc:
        record.status, record.error = "failed", getattr(exc, "message", str(exc))
    except Exception as exc:  # the page must never wait forever for a run that crashed
        log.exception("Provision on demand %s failed", record.pk)
        record.status, record.error = "failed", f"Unexpected error: {exc.__class__.__name__}: {exc}"
    record.finished_at = timezone.now()
    record.save(update_fields=["status", "log_ids", "error", "finished_at"])
    return record


class OnDemand:
    """Provision one object through the pipeline and record it as a cycle would."""

    def __init__(self, job, *, report: Callable[[str, dict], None] = lambda identity, item: None,
                 initiated_by: str = "", source: SourceConnector | None = None,
                 target: TargetConnector | None = None):
        self.job = job
        self.config = from_job(job)
        self.source = source or connections.source()
        self.target = target or connections.target(job)
        self.report = report
        self.store = Store(job, None, initiated_by=initiated_by or "Provision on demand")
        # On demand is asked for explicitly: a stop meant for scheduled cycles does not apply.
        self.executor = Executor(self.target, self.config, should_stop=lambda: False)
        self.pipeline: Pipeline | None = None

    def provision(self, object_type: str, source_id: str) -> list[int]:
        """Provision one object; returns the ids of the log rows written."""
        started = timezone.now()
        admin = self.target.authenticated_admin()
        self.config = self.executor.config = replace(self.config, protected_account_id=admin.id)
        self.pipeline = Pipeline(PlanContext(self.config, self.target.schema, self.target.names, started, False),
                                 self.target, self.store)
        assignments = read_assignments(self.source, self.config)
        if object_type == ObjectType.GROUP:
            self._group(source_id, assignments)
        else:
            self._user(source_id, assignments)
        return list(ProvisioningLog.objects.filter(job=self.job, activity_time__gte=started,
                                                   initiated_by=self.store.initiated_by)
                    .order_by("id").values_list("id", flat=True))

    def _read_user(self, uid: str, assignments: Assignments) -> SourceUser:
        select = self.source.select_for(self.config.users.source_attributes())
        try:
            user = self.source.get_user(uid, select)
        except NotFoundError:
            if not self.store.links_for(ObjectType.USER, [uid]):
                raise OnDemandError("The user does not exist in Microsoft Entra ID and was never provisioned.")
            return SourceUser(uid, None, SOFT_DELETED if self.source.is_soft_deleted(uid) else HARD_DELETED)
        groups = self.source.group_ids_of_user(uid, transitive=self.config.expand_nested_groups)
        return SourceUser(uid, user, "", frozenset(groups & set(assignments.groups)))

    def _user(self, uid: str, assignments: Assignments) -> None:
        item = self._read_user(uid, assignments)
        plan = self.pipeline.plan_user(item, assignments)
        identity = plan.upn or uid
        for position in (IMPORT, SCOPE, MATCH):
            self.report(identity, plan.steps[position])
        plan.log = True  # on demand, every outcome is logged, even "nothing to do"
        self._perform(identity, plan)

    def _perform(self, identity: str, plan: Plan) -> None:
        if plan.writes:
            [result] = list(self.executor.run([plan]))
            self.store.record([result])
            status, action = result.status, result.action
            text = f"{result.action}: {plan.reason}" if result.ok else \
                f"{result.action} failed: {result.error.message if result.error else 'unknown error'}"
        else:
            self.store.record([], [plan])
            status, action = ("Skipped" if plan.action == Action.SKIP else "Success"), plan.action
            text = f"{plan.action}: {plan.reason}"
        self.report(identity, step("Perform action", status, text, action=plan.action,
                                   modifiedProperties="; ".join(f"{n}: {o or '(empty)'} → {v or '(empty)'}"
                                                                for n, o, v in planned_changes(plan, action))))

    def _group(self, gid: str, assignments: Assignments) -> None:
        group = self.source.get_group(gid, self.source.select_for(self.config.groups.source_attributes()))
        members = [m for m in self.source.iter_group_members(gid) if m.get("@odata.type", "").endswith("user")]
        if len(members) > MAX_GROUP_MEMBERS:
            raise OnDemandError(
                f"{group.get('displayName')} has {len(members)} members; provision on demand takes a group of up to "
                f"{MAX_GROUP_MEMBERS} members. Its members are provisioned by the next cycle.")
        for member in members:
            self._user(member["id"], assignments)
        name = group.get("displayName") or gid
        self.report(name, step("Import group", "Success", f"Retrieved group {name} with {len(members)} members."))
        if gid not in assignments.groups and not self.store.links_for(ObjectType.GROUP, [gid]):
            self.report(name, step("Determine if group is in scope", "Skipped",
                                   "The group is not assigned to the application."))
            return
        plan = self.pipeline.plan_group(SourceGroup(gid, group, users=frozenset(m["id"] for m in members)),
                                        assignments)
        plan.log = True
        self.report(name, plan.steps[SCOPE])
        self.report(name, plan.steps[MATCH])
        self._perform(name, plan)


"""Provision on demand: the cycle's pipeline for one user (or a group of up to
five members), now, with each step reported as it completes and logged."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from django.utils import timezone

from ..connectors.errors import ConnectorError, NotFoundError
from ..constants import ObjectType
from ..connectors.entra import EntraConnector
from ..credentials import target_connector
from ..models import OnDemandRun, ProvisioningLog
from .config import from_job, graph_select
from .cycle import Cycle, import_step, scope_step
from .mapping import user_source_attributes
from .scope import Assignments, user_decision
from .store import Store

log = logging.getLogger(__name__)

MAX_GROUP_MEMBERS = 5


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
    def __init__(self, job, *, report: Callable[[str, dict], None] = lambda identity, item: None,
                 initiated_by: str = "", source: EntraConnector | None = None, target=None):
        self.job = job
        self.config = from_job(job)
        self.source = source or EntraConnector.from_settings()
        self.target = target or target_connector(job)
        self.report = report
        self.store = Store(job, None, initiated_by=initiated_by or "Provision on demand")
        self.cycle = Cycle(self.config, self.source, self.target, self.store, kind="incremental")
        # On demand is asked for explicitly: a stop meant for scheduled cycles does not apply.
        self.cycle.executor.should_stop = lambda: False

    def provision(self, object_type: str, source_id: str) -> list[int]:
        """Provision one object; returns the ids of the log rows written."""
        started = timezone.now()
        admin = self.target.authenticated_admin()
        self.cycle.config = self.config = replace(self.config, protected_member_id=admin.team_member_id)
        self.cycle.executor.config = self.config
        assignments = Assignments.from_rows(self.source.iter_assignments(self.config.service_principal_id))
        if object_type == ObjectType.GROUP:
            self._group(source_id, assignments)
        else:
            self._user(source_id, assignments)
        return list(ProvisioningLog.objects.filter(job=self.job, activity_time__gte=started,
                                                   initiated_by=self.store.initiated_by)
                    .order_by("id").values_list("id", flat=True))

    def _user(self, uid: str, assignments: Assignments) -> None:
        select = graph_select(self.config.users.source_attributes()) + ["id", "userPrincipalName", "displayName",
                                                                        "accountEnabled", "mail"]
        link = self.store.links_for(ObjectType.USER, [uid]).get(uid)
        soft = hard = False
        try:
            user = self.source.get_user(uid, list(dict.fromkeys(select)))
        except NotFoundError:
            user = None
            soft = self._in_recycle_bin(uid)
            hard = not soft
            if link is None:
                raise OnDemandError("The user does not exist in Microsoft Entra ID and was never provisioned.")
        identity = (user or {}).get("userPrincipalName") or (link.user_principal_name if link else uid)
        self.report(identity, import_step(uid, user, identity, hard))

        groups: set[str] = set()
        if user is not None:
            groups = {g["id"] for g in self.source.iter_member_of(uid, transitive=self.config.expand_nested_groups)
                      if g.get("@odata.type", "").endswith("group")}
            self.report(identity, scope_step(user_decision(self.config, user_source_attributes(user), assignments,
                                                           groups & set(assignments.groups))))
        else:
            self.report(identity, scope_step(user_decision(self.config, {"id": uid}, assignments, set())))

        changed = {uid: user} if user else {}
        index = self.cycle._lookup_members({uid}, {uid: link} if link else {}, changed, {})
        plan = self.cycle._plan_one_user(uid, user, assignments, groups & set(assignments.groups), link, index,
                                         soft_deleted=soft, hard_deleted=hard)
        plan.log = True  # on demand, every outcome is logged, even "nothing to do"
        self.report(identity, plan.steps[2])
        self._perform(identity, plan)

    def _perform(self, identity: str, plan) -> None:
        if plan.writes:
            results = list(self.cycle.executor.run([plan]))
            self.store.record(results)
            result = results[0]
            status, text = result.status, (f"{result.action}: {plan.reason}" if result.ok
                                           else f"{result.action} failed: {result.error.message}")
        else:
            self.store.record([], [plan])
            status = "Skipped" if plan.action == "Skip" else "Success"
            text = f"{plan.action}: {plan.reason}"
        self.report(identity, {"name": "Perform action", "status": status, "description": text,
                               "details": {"action": plan.action,
                                           "modifiedProperties": "; ".join(f"{n}: {o or '(empty)'} → {v or '(empty)'}"
                                                                  for n, o, v in plan.changes)}})

    def _in_recycle_bin(self, uid: str) -> bool:
        try:
            self.source.get_json(f"directory/deletedItems/{uid}")
            return True
        except NotFoundError:
            return False

    def _group(self, gid: str, assignments: Assignments) -> None:
        group = self.source.get_group(gid, graph_select(self.config.groups.source_attributes()))
        members = [m for m in self.source.iter_group_members(gid) if m.get("@odata.type", "").endswith("user")]
        if len(members) > MAX_GROUP_MEMBERS:
            raise OnDemandError(
                f"{group.get('displayName')} has {len(members)} members; provision on demand takes a group of up to "
                f"{MAX_GROUP_MEMBERS} members. Its members are provisioned by the next cycle.")
        for member in members:
            self._user(member["id"], assignments)
        name = group.get("displayName") or gid
        self.report(name, {"name": "Import group", "status": "Success",
                           "description": f"Retrieved group {name} with {len(members)} members.", "details": {}})
        users_of = {gid: {m["id"] for m in members}}
        plans = self.cycle._plan_groups({gid: group}, assignments, users_of,
                                        {"touched": {gid}, "removed": set(), "view": None})
        if not plans:
            self.report(name, {"name": "Determine if group is in scope", "status": "Skipped",
                               "description": "The group is not assigned to the application.", "details": {}})
            return
        plan = plans[0]
        plan.log = True
        self.report(name, plan.steps[1])
        self.report(name, plan.steps[2])
        self._perform(name, plan)

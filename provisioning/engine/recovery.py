"""Confirming the writes a stopped run left pending.

A write is announced before it is sent and recorded with its answer. A run that
stops in between (a killed worker, a lost database) leaves the announcement; the
next run reads the target to see whether each such write landed (did the account
appear, does it carry the new values, is it suspended?) and writes its log row
as Success or Failure, "confirmed after the run stopped", under the cycle that
made it. A write that did not land is tried again: this cycle plans it afresh
(or, for an incremental one, its escrow brings it back)."""

from __future__ import annotations

from ..connectors.errors import TransientError
from ..constants import Action, LogStatus, ObjectType
from ..targets.base import Account, AccountStatus, TargetConnector, TargetGroup
from .execution import Result
from .store import Store
from .types import Plan, plan_from_json

CONFIRMED = "Confirmed after the run that sent it stopped: {what}."


def resolve_pending(store: Store, target: TargetConnector) -> int:
    """Confirm every write left pending by runs that stopped; how many there were."""
    pending = store.pending_writes()
    if not pending:
        return 0
    store.set_phase("Confirming the writes of a run that stopped")
    plans = [(row, plan_from_json(row.plan)) for row in pending]
    accounts = _accounts(target, [plan for _, plan in plans if plan.object_type == ObjectType.USER])
    groups = {group.id: group for group in target.iter_groups()} \
        if any(plan.object_type == ObjectType.GROUP for _, plan in plans) else {}
    checker = _Checker(target, accounts, groups)
    store.record_resolved([(row, checker.verdict(plan)) for row, plan in plans])
    return len(pending)


def _key(plan: Plan, target: TargetConnector) -> tuple[str, str]:
    """How to find the account a user write concerns: by id, or for a create by its key attribute."""
    if plan.action == Action.CREATE:
        key = target.schema.users.key_attribute
        return key, plan.values.get(key) or ""
    return "id", plan.target_id


def _accounts(target: TargetConnector, plans: list[Plan]) -> dict[tuple[str, str], Account | None]:
    keys = [_key(plan, target) for plan in plans]
    return target.find([key for key in keys if key[1]]) if keys else {}


class _Checker:
    """Whether each pending write shows in the target as read now."""

    def __init__(self, target: TargetConnector, accounts: dict, groups: dict[str, TargetGroup]):
        self.target, self.accounts, self.groups = target, accounts, groups
        self.service = target.names.service

    def verdict(self, plan: Plan) -> Result:
        if plan.object_type == ObjectType.USER:
            landed, what, found = self._user(plan)
        else:
            landed, what, found = self._group(plan)
        if landed:
            return Result(plan, LogStatus.SUCCESS, plan.action, account=found if isinstance(found, Account) else None,
                          target_id=found.id if found is not None else plan.target_id,
                          target_label=found.label if found is not None else plan.target_label,
                          exported=dict(plan.values), note=CONFIRMED.format(what=what))
        error = TransientError(
            f"The run that sent this write stopped before its answer was recorded, and {self.service} does not "
            f"show it ({what}); it is tried again.", service=self.service, code="WriteNotConfirmed")
        gone = what.endswith("no longer exists")
        return Result(plan, LogStatus.FAILURE, plan.action, error=error, transient=True, target_id=plan.target_id,
                      target_label=plan.target_label, unlink=gone and plan.object_type == ObjectType.USER)

    def _user(self, plan: Plan) -> tuple[bool, str, Account | None]:
        account = self.accounts.get(_key(plan, self.target))
        present = account is not None and account.status != AccountStatus.REMOVED
        if plan.action == Action.CREATE:
            return present, "the account exists" if present else "no such account", account if present else None
        if plan.action == Action.DELETE:
            return not present, "the account is gone" if not present else "the account is still there", None
        if not present:
            return False, "the account no longer exists", None
        if plan.action == Action.DISABLE:
            return account.status == AccountStatus.SUSPENDED, f"the account is {account.status}", account
        if plan.action == Action.ENABLE and account.status == AccountStatus.SUSPENDED:
            return False, "the account is still suspended", account
        values = self.target.schema.users.changes(dict((name, new) for name, _, new in plan.changes), account.values)
        return not values, "the account carries the new values" if not values else "the values differ", account

    def _group(self, plan: Plan) -> tuple[bool, str, TargetGroup | None]:
        schema = self.target.schema.groups
        if plan.action == Action.CREATE:
            name = (plan.values.get(schema.name_attribute) or plan.display_name).lower()
            found = next((g for g in self.groups.values() if (g.values.get(schema.name_attribute) or "").lower()
                          == name), None)
            return found is not None, "the group exists" if found else "no such group", found
        group = self.groups.get(plan.target_id)
        if plan.action == Action.DELETE:
            return group is None, "the group is gone" if group is None else "the group is still there", None
        if group is None:
            return False, "the group no longer exists", None
        members = set(self.target.iter_group_members(group.id))
        renamed = {name: new for name, _, new in plan.changes if name != "members"}
        landed = (not schema.changes(renamed, group.values) and set(plan.add_members) <= members
                  and not set(plan.remove_members) & members)
        return landed, "the group shows the changes" if landed else "the group does not show the changes", group


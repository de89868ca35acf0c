"""Safety: nothing destructive runs when a cycle would disable or delete more
than the accidental-deletion threshold, or when what was read looks like an
empty answer rather than everyone leaving. Such actions are staged (logged,
not done) until an administrator selects Allow deletes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..constants import Action
from ..targets.base import TargetNames
from .config import EngineConfig
from .planning import describe_member_changes
from .types import Plan

STAGED_CODE = "StagedForDeletionThreshold"
STAGED_NOTE = " Staged: waiting for an administrator to allow deletes."


@dataclass(frozen=True)
class DeletePermit:
    """What an administrator allowed with Allow deletes: whether, and how many (None: as many as planned)."""

    allowed: bool = False
    limit: int | None = None


@dataclass
class Staging:
    """What safety held back: how many actions, and why (in words for the Overview)."""

    staged: int = 0
    reason: str = ""

    def add(self, other: "Staging") -> None:
        self.staged += other.staged
        self.reason = self.reason or other.reason


def _stage(plan: Plan) -> None:
    plan.action = Action.STAGED_DELETE if plan.action == Action.DELETE else Action.STAGED_DISABLE
    plan.code = STAGED_CODE
    plan.reason = f"{plan.reason}{STAGED_NOTE}"
    plan.link = True


def stage_users(plans: list[Plan], config: EngineConfig, permit: DeletePermit, suspicion: str = "") -> Staging:
    """Stage every disable and delete when there are more than the threshold (beyond what was
    allowed), or when ``suspicion`` says the read that led to them looks wrong."""
    destructive = [p for p in plans if p.destructive]
    count = len(destructive)
    over = (config.prevent_accidental_deletion and count > config.deletion_threshold
            and (not permit.allowed or (permit.limit is not None and count > permit.limit)))
    suspicious = bool(suspicion) and not permit.allowed
    if not destructive or not (over or suspicious):
        return Staging()
    if suspicious:
        reason = suspicion
    else:
        more = (f" (more than the {permit.limit} an administrator allowed)"
                if permit.allowed and permit.limit is not None else "")
        reason = (f"This cycle would disable or delete {count} users, more than the accidental-deletion threshold "
                  f"of {config.deletion_threshold}{more}. Nothing was disabled or deleted. Review the staged actions "
                  "in the provisioning logs, then select Allow deletes to run them, or fix the cause (assignments, "
                  "scoping filters) and Restart provisioning.")
    for plan in destructive:
        _stage(plan)
        plan.newly_linked, plan.log = False, True
    return Staging(count, reason)


WITHHELD_CODE = "StagedMemberRemovals"


def stage_groups(plans: list[Plan], staged_accounts: Iterable[str], config: EngineConfig, permit: DeletePermit,
                 names: TargetNames, suspicion: str = "") -> Staging:
    """Group memberships carry access to shared folders: no member is removed from a group, and no group
    deleted, after a read that looks wrong. Removals wait while users are staged (they are the same
    people leaving), after an empty read of the tenant, and in a group whose members read empty (or
    shrank past the threshold) while the portal had provisioned them; deletions wait with them, or on
    their own beyond the threshold. An administrator's Allow deletes lets them run."""
    deletes = [p for p in plans if p.action == Action.DELETE]
    staged_accounts = set(staged_accounts)
    if permit.allowed and not staged_accounts:
        return Staging()
    hold_all = bool(staged_accounts) or (bool(suspicion) and not permit.allowed)
    staging = Staging()
    emptied = []
    for plan in plans:
        if plan.remove_members and (hold_all or _implausible(plan, config)):
            if not hold_all:
                emptied.append(plan.display_name)
            _withhold_removals(plan)
            staging.staged += 1
    if hold_all or (config.prevent_accidental_deletion and len(deletes) > config.deletion_threshold):
        for plan in deletes:
            _stage(plan)
            staging.staged += 1
    if staging.staged:
        staging.reason = suspicion or _group_reason(names, config, emptied, len(deletes))
    return staging


def _implausible(plan: Plan, config: EngineConfig) -> bool:
    """A group whose members read empty while the portal had provisioned some, or that would lose more
    members than the accidental-deletion threshold."""
    now_members = len(plan.values.get("members") or []) if plan.values else 0
    emptied = now_members == 0 and bool(plan.previous_members)
    return emptied or (config.prevent_accidental_deletion and len(plan.remove_members) > config.deletion_threshold)


def _withhold_removals(plan: Plan) -> None:
    withheld = len(plan.remove_members)
    plan.remove_members = []
    describe_member_changes(plan)
    note = (f" Staged: {withheld} members would be removed from the group; they stay until an administrator allows "
            "deletes.")
    if plan.action == Action.UPDATE and not (plan.changes or plan.add_members):
        plan.action, plan.code, plan.reason = Action.SKIP, WITHHELD_CODE, f"{plan.reason}{note}"
    else:
        plan.reason = f"{plan.reason}{note}"
    plan.log = True


def _group_reason(names: TargetNames, config: EngineConfig, emptied: list[str], deletes: int) -> str:
    if emptied:
        shown = ", ".join(emptied[:5]) + (f" and {len(emptied) - 5} more" if len(emptied) > 5 else "")
        return (f"Microsoft Entra ID returned no members (or far fewer) for {len(emptied)} groups ({shown}) whose "
                "members the portal had provisioned. No member was removed from a group: an empty answer is not "
                "taken to mean that everyone left. If they really left, select Allow deletes.")
    return (f"This cycle would delete {deletes} {names.group}s, more than the accidental-deletion threshold of "
            f"{config.deletion_threshold}. Nothing was deleted. Review the staged actions in the provisioning "
            "logs, then select Allow deletes to run them.")

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


def stage_groups(plans: list[Plan], staged_accounts: Iterable[str], config: EngineConfig, permit: DeletePermit,
                 names: TargetNames) -> Staging:
    """Keep staged users in their groups, and stage group deletions with the users' (or on their
    own, when more groups than the threshold would go)."""
    staged_accounts = set(staged_accounts)
    deletes = [p for p in plans if p.action == Action.DELETE]
    stage_deletes = bool(staged_accounts) or (config.prevent_accidental_deletion and not permit.allowed
                                              and len(deletes) > config.deletion_threshold)
    staging = Staging()
    for plan in plans:
        if staged_accounts and plan.remove_members:
            _keep_members(plan, staged_accounts)
        if plan.action == Action.DELETE and stage_deletes:
            _stage(plan)
            staging.staged += 1
    if staging.staged and deletes:
        staging.reason = (
            f"This cycle would delete {len(deletes)} {names.group}s, more than the accidental-deletion threshold "
            f"of {config.deletion_threshold}. Nothing was deleted. Review the staged actions in the provisioning "
            "logs, then select Allow deletes to run them.")
    return staging


def _keep_members(plan: Plan, staged_accounts: set[str]) -> None:
    plan.remove_members = [m for m in plan.remove_members if m not in staged_accounts]
    describe_member_changes(plan)
    if plan.action == Action.UPDATE and not (plan.changes or plan.add_members):
        plan.action, plan.log = Action.OTHER, False

"""Planning: one action per object, with its reason and the steps of its log
row, decided from the object's evaluation, its link and the target object it
matched. Planning is pure: it never calls a service or the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..constants import Action, LeaveAction, LeaveCause, ObjectType
from ..targets.base import Account, AccountStatus, TargetGroup, TargetNames, TargetSchema
from .config import EngineConfig
from .evaluate import HARD_DELETED, Evaluation
from .mapping import Mapped, desired_active
from .matching import LINK, Match
from .types import LinkInfo, Plan, step


@dataclass(frozen=True)
class PlanContext:
    """What every plan of a cycle is decided with."""

    config: EngineConfig
    schema: TargetSchema
    names: TargetNames
    now: datetime
    #: a full cycle: unchanged objects are not logged
    full: bool


# ---------------------------------------------------------------------------- users
def plan_user(ctx: PlanContext, ev: Evaluation, link: LinkInfo | None, match: Match) -> Plan:
    """The action for one user, with the steps Import, scope and Match already in place."""
    target = match.target
    plan = Plan(ObjectType.USER, Action.OTHER, ev.source_id, display_name=ev.display_name, upn=ev.upn,
                target_id=target.id if target else (link.target_id if link else ""),
                target_label=target.label if target else (link.target_label if link else ""))
    plan.steps = [_import_step(ev), scope_step(ev)]
    if match.owner is not None and match.owner != ev.source_id:
        return _linked_to_another(ctx, plan, target, match.owner)
    plan.steps.append(_match_step(ctx, link, match))
    plan.newly_linked = target is not None and link is None
    plan.matched_by = match.matched_by
    if ev.counts_as_in_scope:
        _plan_in_scope(ctx, plan, ev, link, target)
    else:
        _plan_out_of_scope(ctx, plan, ev, link, target)
    return plan


def _import_step(ev: Evaluation) -> dict:
    name = ev.upn or ev.source_id
    if ev.source is None:
        what = "permanently deleted" if ev.gone == HARD_DELETED else "deleted (in the recycle bin)"
        return step("Import user", "Success", f"The user {name} was {what} in Microsoft Entra ID.")
    return step("Import user", "Success", f"Retrieved {name} from Microsoft Entra ID.",
                accountEnabled=ev.source.get("accountEnabled"), department=ev.source.get("department"))


def scope_step(ev: Evaluation) -> dict:
    noun = "user" if ev.object_type == ObjectType.USER else "group"
    return step(f"Determine if {noun} is in scope", ev.decision.step_status, ev.decision.reason)


def _match_step(ctx: PlanContext, link: LinkInfo | None, match: Match) -> dict:
    target, n = match.target, ctx.names
    if target is None:
        text = f"No {n.account} matches the user." if link is None else f"The linked {n.account} no longer exists."
    else:
        text = f"Matched {n.account} {target.label} by {match.matched_by}."
    return step("Match user between source and target system", "Success", text, matchedBy=match.matched_by,
                teamMemberId=target.id if target else None, memberStatus=target.status if target else None)


def _linked_to_another(ctx: PlanContext, plan: Plan, target: Account, owner: str) -> Plan:
    """The email (say) now belongs to someone else in Entra ID, but its account is linked to
    the user who had it: never hand one account to two users."""
    n = ctx.names
    plan.steps.append(step("Match user between source and target system", "Skipped",
                           f"The {n.account} {target.label} is linked to another Microsoft Entra ID user.",
                           teamMemberId=target.id, linkedTo=owner))
    plan.action, plan.code, plan.link = Action.SKIP, "TargetLinkedToAnotherUser", False
    plan.target_id, plan.target_label = "", ""
    plan.reason = (f"The {n.account} {target.label} is linked to another Microsoft Entra ID user ({owner}); it is "
                   "not given to a second one.")
    plan.recommendation = (f"If the other user left, let its deprovisioning finish (or remove the member in "
                           f"{n.service}); then this user is provisioned by the next cycle.")
    return plan


def _skip(plan: Plan, code: str, reason: str, *, link: bool | None = None, log: bool | None = None,
          recommendation: str = "") -> Plan:
    plan.action, plan.code, plan.reason = Action.SKIP, code, reason
    if link is not None:
        plan.link = link
    if log is not None:
        plan.log = log
    if recommendation:
        plan.recommendation = recommendation
    return plan


def _plan_in_scope(ctx: PlanContext, plan: Plan, ev: Evaluation, link: LinkInfo | None,
                   target: Account | None) -> Plan:
    mapped = ev.mapped.for_account(target is not None) if ev.mapped else None
    if mapped is None or not mapped.ok:
        errors = mapped.errors if mapped else [("", "The user's attributes could not be read.")]
        plan.field = errors[0][0] or None
        return _skip(plan, "InvalidData", " ".join(message for _, message in errors), link=target is not None,
                     recommendation="Correct the value in Microsoft Entra ID, or change the attribute mapping (an "
                                    "expression such as Left() can shorten it).")
    active = desired_active(mapped.values, ctx.schema.users.active_attribute) and ev.account_enabled is not False
    if target is None:
        return _plan_create(ctx, plan, mapped, active)
    changes = ctx.schema.users.changes(mapped.values, target.values)
    if target.id == ctx.config.protected_account_id:
        wanted = bool(changes) or not active
        plan.action, plan.code = (Action.SKIP if wanted else Action.OTHER), "ProtectedAdmin"
        plan.log = wanted or plan.newly_linked
        plan.reason = "The member is the team admin who authorized the portal; it is linked but never changed."
        return plan
    if active and target.status == AccountStatus.SUSPENDED:
        return _plan_enable(ctx, plan, mapped, changes)
    if not active:
        if link is None:
            # Never act on an account the portal did not provision or link.
            return _skip(plan, "NotLinked", f"The user is disabled in Microsoft Entra ID, and the {ctx.names.account} "
                                            "with its email was not provisioned by the portal: it is left as it is.",
                         link=False)
        return _deprovision(ctx, plan, target, link, "SourceDisabled", "The user is disabled in Microsoft Entra ID.",
                            LeaveCause.DISABLED)
    return _plan_update(ctx, plan, mapped, changes)


def _plan_create(ctx: PlanContext, plan: Plan, mapped: Mapped, active: bool) -> Plan:
    rules = ctx.config.users
    key = ctx.schema.users.key_attribute
    if not mapped.values.get(key) and not any(mapped.values.get(r.target) for r in rules.matching_rules):
        return _skip(plan, "MissingMatchingAttribute",
                     "The user has no value for the matching attribute, so it cannot be matched or created.",
                     link=False)
    if not active:
        return _skip(plan, "SourceDisabled",
                     f"The user is disabled in Microsoft Entra ID; no {ctx.names.service} account is created for it.",
                     link=False, log=not ctx.full)
    if not rules.allow_create:
        return _skip(plan, "CreateDisabled", "Create is switched off in the target object actions.", link=False)
    plan.action, plan.values = Action.CREATE, mapped.values
    plan.reason = f"The user is in scope and has no {ctx.names.service} account."
    return plan  # its changes are its values (types.planned_changes)


def _plan_enable(ctx: PlanContext, plan: Plan, mapped: Mapped, changes: list) -> Plan:
    if not ctx.config.users.allow_update:
        return _skip(plan, "UpdateDisabled", f"The member is suspended in {ctx.names.service}, and Update is switched "
                                             "off in the target object actions.")
    plan.action, plan.changes, plan.values = Action.ENABLE, changes, mapped.values
    plan.reason = f"The user is in scope and enabled again: the {ctx.names.account} is restored."
    return plan


def _plan_update(ctx: PlanContext, plan: Plan, mapped: Mapped, changes: list) -> Plan:
    if changes and ctx.config.users.allow_update:
        plan.action, plan.changes, plan.values = Action.UPDATE, changes, mapped.values
        plan.reason = "Attributes changed in Microsoft Entra ID."
        return plan
    plan.action, plan.code = Action.OTHER, "NoChange"
    plan.reason = (f"The user matches an existing {ctx.names.account}, which is now linked." if plan.newly_linked
                   else f"The {ctx.names.account} is up to date.")
    plan.log = plan.newly_linked or not ctx.full
    return plan


def _plan_out_of_scope(ctx: PlanContext, plan: Plan, ev: Evaluation, link: LinkInfo | None,
                       target: Account | None) -> Plan:
    """Out of scope, disabled or deleted in the source."""
    decision, gone, n = ev.decision, bool(ev.gone), ctx.names
    if target is None:
        _skip(plan, decision.code, decision.reason, link=False, log=decision.assigned or gone)
        if gone and link is not None:
            plan.action, plan.code = Action.OTHER, "TargetGone"
            plan.reason = f"The linked {n.account} no longer exists; the link is removed."
        return plan
    if link is None:
        # Never act on an account the portal did not provision or link.
        reason = decision.reason if not gone else \
            f"The user was deleted, but its {n.account} was never linked by the portal; it is left alone."
        return _skip(plan, decision.code if not gone else "NotLinked", reason, link=False,
                     log=decision.assigned or gone)
    if target.id == ctx.config.protected_account_id:
        return _skip(plan, "ProtectedAdmin",
                     "The member is the team admin who authorized the portal; it is never suspended or removed.")
    if ev.gone == HARD_DELETED:
        code, reason, cause = "SourceDeleted", "The user was permanently deleted in Microsoft Entra ID.", \
            LeaveCause.HARD_DELETED
    elif gone:
        code, reason = "SourceSoftDeleted", "The user was deleted in Microsoft Entra ID (it can still be restored)."
        cause = LeaveCause.SOFT_DELETED
    else:
        code, reason = decision.code, decision.reason
        cause = _OUT_OF_SCOPE_CAUSES.get(decision.code, LeaveCause.UNASSIGNED)
    return _deprovision(ctx, plan, target, link, code, reason, cause)


#: the leaving cause of each out-of-scope decision (the others are unassignments)
_OUT_OF_SCOPE_CAUSES = {"ScopingFilter": LeaveCause.OUT_OF_SCOPE, "ScopingFilterError": LeaveCause.OUT_OF_SCOPE}


def _grace_over(ctx: PlanContext, link: LinkInfo) -> bool:
    grace = ctx.config.delete_after_days
    return grace is not None and (grace == 0 or (link.disabled_at is not None
                                                 and ctx.now - link.disabled_at >= timedelta(days=grace)))


def _deprovision(ctx: PlanContext, plan: Plan, target: Account, link: LinkInfo, code: str, reason: str,
                 cause: str) -> Plan:
    """What leaving means for this cause in the Settings: nothing, a removal at once, or a suspension
    (and a removal once the grace period is over)."""
    config = ctx.config
    plan.code, plan.reason = code, reason
    choice = config.on_leaving(cause)
    if choice == LeaveAction.NOTHING:
        # The link stays: a user who comes back is the same member, with nothing to match again.
        return _skip(plan, code, f"{reason} The Settings say to do nothing when a user {LeaveCause(cause).label}: "
                                 f"the {ctx.names.account} is left as it is.")
    invited = target.status == AccountStatus.INVITED
    if invited and ctx.schema.suspending_invited_deletes and choice == LeaveAction.SUSPEND:
        return _invited_cannot_be_suspended(ctx, plan, reason)
    if config.users.allow_delete and (choice == LeaveAction.REMOVE or _grace_over(ctx, link)):
        plan.action, plan.link = Action.DELETE, False
        plan.remove_instead = invited  # an invitation is withdrawn: no files to move, no account to keep
        plan.reason = reason + (" The Settings say to remove the member at once." if choice == LeaveAction.REMOVE
                                else " The grace period is over: the member is removed.")
        return plan
    return _suspend(ctx, plan, target, reason, removal_refused=choice == LeaveAction.REMOVE)


def _invited_cannot_be_suspended(ctx: PlanContext, plan: Plan, reason: str) -> Plan:
    config, n = ctx.config, ctx.names
    if config.remove_invited_members and config.users.allow_delete:
        plan.action, plan.remove_instead, plan.link = Action.DELETE, True, False
        plan.reason = f"{reason} The member never accepted its invitation and {n.service} cannot suspend " \
                      "invited members, so it is removed."
        return plan
    return _skip(plan, "InvitedMemberNotSuspended",
                 f"{reason} The member has not accepted its invitation, and {n.service} removes invited members "
                 "it is asked to suspend; removing invited members is not allowed in the settings.",
                 recommendation=f"Allow removing invited members in Provisioning › Settings, or remove it in "
                                f"{n.service}.")


def _suspend(ctx: PlanContext, plan: Plan, target: Account, reason: str, *, removal_refused: bool) -> Plan:
    if removal_refused:
        reason += " Delete is switched off in the target object actions, so the member is suspended instead."
    if target.status == AccountStatus.SUSPENDED:
        plan.action, plan.code, plan.log = Action.OTHER, "AlreadyDisabled", False
        plan.reason = f"{reason} The {ctx.names.account} is already suspended."
        return plan
    if target.status == AccountStatus.INVITED and ctx.schema.suspending_invited_deletes:
        return _invited_cannot_be_suspended(ctx, plan, reason)
    plan.action = Action.DISABLE
    grace = ctx.config.delete_after_days
    plan.reason = (f"{reason} The member is suspended; it is removed after {grace} days unless the user comes back."
                   if grace else f"{reason} The member is suspended.")
    return plan


# ---------------------------------------------------------------------------- groups
def plan_group(ctx: PlanContext, ev: Evaluation, link: LinkInfo | None, match: Match,
               desired: set[str] | None, current: set[str] | None) -> Plan:
    """The action for one group: create, rename, change membership, or delete. ``desired`` and
    ``current`` are the target account ids the group should have and has (None: not known)."""
    target: TargetGroup | None = match.target
    n = ctx.names
    plan = Plan(ObjectType.GROUP, Action.OTHER, ev.source_id, display_name=ev.display_name,
                target_id=target.id if target else (link.target_id if link else ""),
                target_label=target.label if target else "")
    plan.newly_linked = target is not None and link is None
    plan.matched_by = match.matched_by
    plan.previous_members = len((link.exported or {}).get(ctx.schema.groups.members_attribute) or []) \
        if link is not None else None
    plan.steps = [
        step("Import group", "Success", f"Retrieved group {ev.display_name} from Microsoft Entra ID." if not ev.gone
             else f"The group {ev.display_name} was deleted in Microsoft Entra ID."),
        scope_step(ev),
        step("Match group between source and target system", "Success",
             f"Matched {n.group} {target.label}." if target else f"No {n.group} matches the group."),
    ]
    if ev.decision.in_scope and not ev.gone:
        _plan_group_in_scope(ctx, plan, ev, link, target, desired, current)
        plan.values = {**plan.values, ctx.schema.groups.members_attribute: sorted(desired or ())}
        return plan
    return _plan_group_out_of_scope(ctx, plan, ev, link, target)


def _plan_group_in_scope(ctx: PlanContext, plan: Plan, ev: Evaluation, link: LinkInfo | None,
                         target: TargetGroup | None, desired: set[str] | None, current: set[str] | None) -> Plan:
    rules, schema, n = ctx.config.groups, ctx.schema.groups, ctx.names
    mapped = ev.mapped.create if link is None else ev.mapped.update
    if not mapped.ok:
        plan.field = mapped.errors[0][0] or None
        return _skip(plan, "InvalidData", " ".join(message for _, message in mapped.errors))
    name = mapped.values.get(schema.name_attribute) or ev.display_name
    if target is None:
        if not rules.allow_create:
            return _skip(plan, "CreateDisabled", "Create is switched off in the target object actions.", link=False)
        plan.action, plan.values = Action.CREATE, dict(mapped.values)
        plan.add_members = sorted(desired or ())
        plan.reason = f"The group is in scope and does not exist in {n.service}."
        plan.changes = [(schema.name_attribute, None, name)] + (
            [("members", None, f"{len(plan.add_members)} members")] if plan.add_members else [])
        return plan
    changes = schema.changes({**mapped.values, schema.name_attribute: name}, target.values)
    if desired is not None and current is not None:
        plan.add_members, plan.remove_members = sorted(desired - current), sorted(current - desired)
    if (changes or plan.add_members or plan.remove_members) and rules.allow_update:
        plan.action, plan.changes, plan.values = Action.UPDATE, changes, dict(mapped.values)
        describe_member_changes(plan)
        plan.reason = "The group's name or members changed in Microsoft Entra ID."
        return plan
    plan.action, plan.code = Action.OTHER, "NoChange"
    plan.reason = f"The {n.group} is up to date." if not plan.newly_linked else \
        f"The group matches an existing {n.group}, which is now linked."
    # Groups are looked at whenever one of their members changes: "no change" is not news.
    plan.log = plan.newly_linked
    return plan


def describe_member_changes(plan: Plan) -> None:
    """Show a group's membership changes as counts among its modified properties."""
    plan.changes = [c for c in plan.changes if c[0] != "members"]
    if plan.add_members:
        plan.changes.append(("members", None, f"+{len(plan.add_members)}"))
    if plan.remove_members:
        plan.changes.append(("members", f"-{len(plan.remove_members)}", None))


def _plan_group_out_of_scope(ctx: PlanContext, plan: Plan, ev: Evaluation, link: LinkInfo | None,
                             target: TargetGroup | None) -> Plan:
    decision, n = ev.decision, ctx.names
    deleted = bool(ev.gone)
    if target is None or link is None:
        _skip(plan, decision.code, decision.reason, link=False, log=decision.assigned and target is None)
        if link is not None and target is None:
            plan.action, plan.code = Action.OTHER, "TargetGone"
            plan.reason, plan.log = f"The linked {n.group} no longer exists; the link is removed.", True
        return plan
    if not ctx.config.groups.allow_delete:
        return _skip(plan, "DeleteDisabled", f"{decision.reason if not deleted else 'The group was deleted.'} Delete "
                                             f"is switched off in the target object actions, so the {n.group} is kept.")
    plan.action, plan.link = Action.DELETE, False
    plan.code = "SourceDeleted" if deleted else decision.code
    plan.reason = ("The group was deleted in Microsoft Entra ID." if deleted else decision.reason) + \
        f" The {n.group} is deleted (its members keep their accounts)."
    return plan


__all__ = ["LINK", "PlanContext", "plan_group", "plan_user", "scope_step", "describe_member_changes"]

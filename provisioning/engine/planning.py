"""Planning: one action per object, with its reason, decided from the source
object, its scope, its mapped values, its link and the Dropbox object it
matches. Planning never calls a service; execution does."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..connectors.dropbox import Group, Member
from ..constants import Action, ObjectType
from .config import EngineConfig, ObjectRules
from .mapping import Mapped, desired_active
from .scope import Decision

#: target attributes compared for updates, with how Dropbox reports them on a member
_MEMBER_FIELDS = {"email": "email", "givenName": "given_name", "surname": "surname", "externalId": "external_id"}


@dataclass
class LinkInfo:
    """What the engine knows of a provisioned object from its link row."""

    source_id: str
    target_id: str
    state: str = "active"
    exported: dict = field(default_factory=dict)
    disabled_at: datetime | None = None
    display_name: str = ""
    user_principal_name: str = ""
    target_email: str = ""


@dataclass
class Plan:
    """One planned action on one object."""

    object_type: str
    action: str
    source_id: str
    display_name: str = ""
    upn: str = ""
    reason: str = ""
    code: str = ""
    target_id: str = ""
    target_email: str = ""
    values: dict = field(default_factory=dict)
    #: (attribute, old, new)
    changes: list[tuple[str, object, object]] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    #: whether the source object is linked to (or matched with) ``target_id`` after this action
    link: bool = True
    #: for Disable of an invited member: Dropbox cannot suspend it, so it is removed
    remove_instead: bool = False
    #: group membership changes (team member ids)
    add_members: list[str] = field(default_factory=list)
    remove_members: list[str] = field(default_factory=list)
    #: whether the log row is worth writing (unchanged objects of full cycles are not logged)
    log: bool = True
    newly_linked: bool = False
    #: the field at fault for invalid data
    field: str | None = None
    recommendation: str = ""

    @property
    def destructive(self) -> bool:
        return self.action in (Action.DISABLE, Action.DELETE)

    @property
    def writes(self) -> bool:
        return self.action in (Action.CREATE, Action.UPDATE, Action.DISABLE, Action.ENABLE, Action.DELETE)


def step(name: str, status: str, description: str, **details) -> dict:
    return {"name": name, "status": status, "description": description,
            "details": {k: v for k, v in details.items() if v not in (None, "", [], {})}}


def member_changes(values: dict, member: Member) -> list[tuple[str, object, object]]:
    """The mapped values that differ from what Dropbox holds (emails compare case-insensitively)."""
    changes = []
    for target, attribute in _MEMBER_FIELDS.items():
        if target not in values or values[target] is None:
            continue
        new, old = values[target], getattr(member, attribute)
        if target == "email":
            if (old or "").lower() == new.lower():
                continue
        elif (old or "") == new:
            continue
        changes.append((target, old, new))
    return changes


def plan_user(
    *,
    config: EngineConfig,
    source_id: str,
    display_name: str,
    upn: str,
    decision: Decision,
    mapped: Mapped | None,
    account_enabled: bool | None,
    soft_deleted: bool,
    hard_deleted: bool,
    link: LinkInfo | None,
    target: Member | None,
    matched_by: str,
    now: datetime,
    full: bool,
) -> Plan:
    """The action for one user. ``target`` is the Dropbox member found by the link
    or by the matching attributes (None when there is none)."""
    rules: ObjectRules = config.users
    plan = Plan(ObjectType.USER, Action.OTHER, source_id, display_name=display_name, upn=upn,
                target_id=target.team_member_id if target else (link.target_id if link else ""),
                target_email=target.email if target else (link.target_email if link else ""))
    plan.newly_linked = target is not None and link is None
    protected = target is not None and target.team_member_id == config.protected_member_id

    gone = hard_deleted or soft_deleted
    if decision.in_scope and not gone:
        if mapped is None or not mapped.ok:
            errors = mapped.errors if mapped else [("", "The user's attributes could not be read.")]
            plan.action, plan.code = Action.SKIP, "InvalidData"
            plan.field = errors[0][0] or None
            plan.reason = " ".join(message for _, message in errors)
            plan.recommendation = "Correct the value in Microsoft Entra ID, or change the attribute mapping (an " \
                                  "expression such as Left() can shorten it)."
            plan.link = target is not None
            return plan
        wanted_active = desired_active(mapped.values) and account_enabled is not False
        if target is None:
            if not mapped.values.get("email") and not any(mapped.values.get(r.target) for r in rules.matching_rules):
                plan.action, plan.code = Action.SKIP, "MissingMatchingAttribute"
                plan.reason = "The user has no value for the matching attribute, so it cannot be matched or created."
                plan.link = False
                return plan
            if not wanted_active:
                plan.action, plan.code = Action.SKIP, "SourceDisabled"
                plan.reason = "The user is disabled in Microsoft Entra ID; no Dropbox account is created for it."
                plan.link, plan.log = False, not full
                return plan
            if not rules.allow_create:
                plan.action, plan.code = Action.SKIP, "CreateDisabled"
                plan.reason = "Create is switched off in the target object actions."
                plan.link = False
                return plan
            plan.action, plan.values = Action.CREATE, mapped.values
            plan.reason = "The user is in scope and has no Dropbox account."
            plan.changes = [(name, None, value) for name, value in mapped.values.items() if value is not None]
            return plan
        changes = member_changes(mapped.values, target)
        if protected:
            wanted = bool(changes) or not wanted_active
            plan.action = Action.SKIP if wanted else Action.OTHER
            plan.code, plan.log = "ProtectedAdmin", wanted or plan.newly_linked
            plan.reason = "The member is the team admin who authorized the portal; it is linked but never changed."
            return plan
        if wanted_active and target.status == "suspended":
            if not rules.allow_update:
                plan.action, plan.code = Action.SKIP, "UpdateDisabled"
                plan.reason = "The member is suspended in Dropbox, and Update is switched off in the target object actions."
                return plan
            plan.action, plan.changes, plan.values = Action.ENABLE, changes, mapped.values
            plan.reason = "The user is in scope and enabled again: the Dropbox member is restored."
            return plan
        if not wanted_active:
            if link is None:
                # Never act on a Dropbox member the portal did not provision or link.
                plan.action, plan.code, plan.link = Action.SKIP, "NotLinked", False
                plan.reason = "The user is disabled in Microsoft Entra ID, and the Dropbox member with its email " \
                              "was not provisioned by the portal: it is left as it is."
                return plan
            return _deprovision(plan, config, target, link, "SourceDisabled",
                                "The user is disabled in Microsoft Entra ID.", now=now)
        if changes and rules.allow_update:
            plan.action, plan.changes, plan.values = Action.UPDATE, changes, mapped.values
            plan.reason = "Attributes changed in Microsoft Entra ID."
            return plan
        plan.action, plan.code = Action.OTHER, "NoChange"
        plan.reason = ("The user matches an existing Dropbox member, which is now linked." if plan.newly_linked
                       else "The Dropbox member is up to date.")
        plan.log = plan.newly_linked or not full
        return plan

    # Out of scope, disabled or deleted in the source.
    if target is None:
        plan.action, plan.code, plan.reason = Action.SKIP, decision.code, decision.reason
        plan.link = False
        plan.log = decision.assigned or gone
        if gone and link is not None:
            plan.action, plan.code = Action.OTHER, "TargetGone"
            plan.reason = "The linked Dropbox member no longer exists; the link is removed."
        return plan
    if link is None:
        # Never act on a Dropbox member the portal did not provision or link.
        plan.action, plan.code, plan.link = Action.SKIP, decision.code if not gone else "NotLinked", False
        plan.reason = decision.reason if not gone else "The user was deleted, but its Dropbox member was never " \
                                                       "linked by the portal; it is left alone."
        plan.log = decision.assigned or gone
        return plan
    if protected:
        plan.action, plan.code = Action.SKIP, "ProtectedAdmin"
        plan.reason = "The member is the team admin who authorized the portal; it is never suspended or removed."
        return plan
    if hard_deleted:
        code, reason = "SourceDeleted", "The user was permanently deleted in Microsoft Entra ID."
    elif soft_deleted:
        code, reason = "SourceSoftDeleted", "The user was deleted in Microsoft Entra ID (it can still be restored)."
    else:
        code, reason = decision.code, decision.reason
    return _deprovision(plan, config, target, link, code, reason, now=now, hard_deleted=hard_deleted)


def _deprovision(plan: Plan, config: EngineConfig, target: Member, link: LinkInfo | None, code: str, reason: str,
                 *, now: datetime, hard_deleted: bool = False) -> Plan:
    """Disable (suspend), or Delete (remove) when the source is gone for good or the grace period is over."""
    rules = config.users
    plan.code, plan.reason = code, reason
    grace = config.delete_after_days
    disabled_since = link.disabled_at if link else None
    grace_over = grace is not None and (grace == 0 or (disabled_since is not None
                                                       and now - disabled_since >= timedelta(days=grace)))
    want_delete = rules.allow_delete and (hard_deleted or grace_over)
    if target.status == "invited":
        if config.remove_invited_members and rules.allow_delete:
            plan.action, plan.remove_instead = Action.DELETE, True
            plan.reason = f"{reason} The member never accepted its invitation and Dropbox cannot suspend " \
                          "invited members, so it is removed."
            plan.link = False
        else:
            plan.action, plan.code = Action.SKIP, "InvitedMemberNotSuspended"
            plan.reason = f"{reason} The member has not accepted its invitation, and Dropbox removes invited " \
                          "members it is asked to suspend; removing invited members is not allowed in the settings."
            plan.recommendation = "Allow removing invited members in Provisioning › Settings, or remove it in Dropbox."
        return plan
    if want_delete:
        plan.action, plan.link = Action.DELETE, False
        plan.reason = reason + (" The grace period is over: the member is removed." if grace_over and not hard_deleted
                                else " The member is removed.")
        return plan
    if target.status == "suspended":
        plan.action, plan.code, plan.log = Action.OTHER, "AlreadyDisabled", False
        plan.reason = f"{reason} The Dropbox member is already suspended."
        return plan
    plan.action = Action.DISABLE
    if grace:
        plan.reason = f"{reason} The member is suspended; it is removed after {grace} days unless the user comes back."
    else:
        plan.reason = f"{reason} The member is suspended."
    return plan


def plan_group(
    *,
    config: EngineConfig,
    source_id: str,
    display_name: str,
    decision: Decision,
    mapped: Mapped | None,
    deleted: bool,
    link: LinkInfo | None,
    target: Group | None,
    desired_members: set[str] | None,
    current_members: set[str] | None,
    full: bool,
) -> Plan:
    """The action for one group: create, rename, change membership, or delete."""
    rules = config.groups
    plan = Plan(ObjectType.GROUP, Action.OTHER, source_id, display_name=display_name,
                target_id=target.group_id if target else (link.target_id if link else ""),
                target_email=target.name if target else "")
    plan.newly_linked = target is not None and link is None
    if decision.in_scope and not deleted:
        if mapped is None or not mapped.ok:
            errors = mapped.errors if mapped else [("", "The group's attributes could not be read.")]
            plan.action, plan.code, plan.field = Action.SKIP, "InvalidData", errors[0][0] or None
            plan.reason = " ".join(message for _, message in errors)
            return plan
        name = mapped.values.get("groupName") or display_name
        if target is None:
            if not rules.allow_create:
                plan.action, plan.code, plan.link = Action.SKIP, "CreateDisabled", False
                plan.reason = "Create is switched off in the target object actions."
                return plan
            plan.action, plan.values = Action.CREATE, mapped.values
            plan.add_members = sorted(desired_members or ())
            plan.reason = "The group is in scope and does not exist in Dropbox."
            plan.changes = [("groupName", None, name)] + ([("members", None, f"{len(plan.add_members)} members")]
                                                          if plan.add_members else [])
            return plan
        changes = []
        if target.name != name:
            changes.append(("groupName", target.name, name))
        if mapped.values.get("externalId") and target.external_id != mapped.values["externalId"]:
            changes.append(("externalId", target.external_id, mapped.values["externalId"]))
        if desired_members is not None and current_members is not None:
            plan.add_members = sorted(desired_members - current_members)
            plan.remove_members = sorted(current_members - desired_members)
        if (changes or plan.add_members or plan.remove_members) and rules.allow_update:
            plan.action, plan.changes, plan.values = Action.UPDATE, changes, mapped.values
            if plan.add_members:
                plan.changes.append(("members", None, f"+{len(plan.add_members)}"))
            if plan.remove_members:
                plan.changes.append(("members", f"-{len(plan.remove_members)}", None))
            plan.reason = "The group's name or members changed in Microsoft Entra ID."
            return plan
        plan.action, plan.code = Action.OTHER, "NoChange"
        plan.reason = "The Dropbox group is up to date." if not plan.newly_linked else \
            "The group matches an existing Dropbox group, which is now linked."
        # Groups are looked at whenever one of their members changes: "no change" is not news.
        plan.log = plan.newly_linked
        return plan
    if target is None or link is None:
        plan.action, plan.code, plan.reason, plan.link = Action.SKIP, decision.code, decision.reason, False
        plan.log = decision.assigned and target is None
        if link is not None and target is None:
            plan.action, plan.code = Action.OTHER, "TargetGone"
            plan.reason, plan.log = "The linked Dropbox group no longer exists; the link is removed.", True
        return plan
    if not rules.allow_delete:
        plan.action, plan.code = Action.SKIP, "DeleteDisabled"
        plan.reason = f"{decision.reason if not deleted else 'The group was deleted.'} Delete is switched off in the " \
                      "target object actions, so the Dropbox group is kept."
        return plan
    plan.action, plan.link = Action.DELETE, False
    plan.code = "SourceDeleted" if deleted else decision.code
    plan.reason = ("The group was deleted in Microsoft Entra ID." if deleted else decision.reason) + \
        " The Dropbox group is deleted (its members keep their accounts)."
    return plan

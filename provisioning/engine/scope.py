"""Scope: which users and groups the application provisions.

With "Sync only assigned users and groups", a user is in scope when assigned to
the application directly or through a group it is a direct member of (or a
nested member, when the job expands nested groups), with a role other than
Default Access, and when it matches the scoping filters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..constants import DEFAULT_ACCESS_ROLE_ID, Scope
from ..expressions import ExpressionError
from ..expressions.scoping import matches
from .config import EngineConfig, ObjectRules


@dataclass(frozen=True, slots=True)
class Decision:
    in_scope: bool
    code: str
    reason: str
    #: whether the object is assigned at all (out-of-scope but assigned objects are logged as skipped)
    assigned: bool = False

    @property
    def step_status(self) -> str:
        return "Success" if self.in_scope else "Skipped"


@dataclass
class Assignments:
    """The service principal's app role assignments, by principal."""

    users: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    groups: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    names: dict[str, str] = field(default_factory=dict)
    #: the service principal's app roles by id ({"value", "displayName"}), when the mappings use them
    app_roles: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping]) -> "Assignments":
        assignments = cls()
        for row in rows:
            target = assignments.groups if row["principalType"] == "Group" else assignments.users
            if row["principalType"] not in ("User", "Group"):
                continue
            target[row["principalId"]].add(row["appRoleId"])
            assignments.names[row["principalId"]] = row.get("principalDisplayName") or ""
        return assignments

    def fingerprint(self) -> dict[str, frozenset[str]]:
        return {**{k: frozenset(v) for k, v in self.users.items()},
                **{k: frozenset(v) for k, v in self.groups.items()}}

    def role_assignments(self, user_id: str, groups: Iterable[str]) -> list[dict]:
        """The user's app role assignments as the ``appRoleAssignments`` attribute: direct ones
        first, then those through its groups; Default Access aside; each role once."""
        found: list[dict] = []
        seen: set[str] = set()
        direct = sorted(self.users.get(user_id, ()))
        through = sorted({role for gid in groups for role in self.groups.get(gid, ())})
        for role_id in (*direct, *through):
            if role_id == DEFAULT_ACCESS_ROLE_ID or role_id in seen:
                continue
            seen.add(role_id)
            role = self.app_roles.get(role_id, {})
            found.append({"appRoleId": role_id, "value": role.get("value"), "displayName": role.get("displayName")})
        return found

    def assigned_groups(self, *, provisioning_roles_only: bool = True) -> set[str]:
        return {gid for gid, roles in self.groups.items()
                if not provisioning_roles_only or roles - {DEFAULT_ACCESS_ROLE_ID}}


def read_assignments(source, config: EngineConfig) -> Assignments:
    """The service principal's assignments as a cycle reads them, with its app roles when a user
    mapping or filter reads ``appRoleAssignments``."""
    assignments = Assignments.from_rows(source.iter_assignments(config.service_principal_id))
    if config.users.uses_app_roles:
        assignments.app_roles = source.app_roles(config.service_principal_id)
    return assignments


def _filters_hold(rules: ObjectRules, attributes: dict) -> tuple[bool, str]:
    try:
        return matches(rules.filters, attributes), ""
    except ExpressionError as exc:
        return False, str(exc)


def user_decision(config: EngineConfig, attributes: dict, assignments: Assignments, groups: set[str]) -> Decision:
    """In or out of scope, with the reason, for one user."""
    user_id = attributes.get("id") or attributes.get("objectId")
    if config.scope == Scope.ASSIGNED:
        roles = set(assignments.users.get(user_id, ()))
        via_groups = [gid for gid in groups if gid in assignments.groups]
        for gid in via_groups:
            roles |= assignments.groups[gid]
        if not roles:
            return Decision(False, "NotEffectivelyEntitled", "The user is not assigned to the application.")
        if not roles - {DEFAULT_ACCESS_ROLE_ID}:
            return Decision(False, "DefaultAccessRole",
                            "The user is assigned only with the Default Access role, which does not work for "
                            "provisioning.", assigned=True)
    holds, error = _filters_hold(config.users, attributes)
    if error:
        return Decision(False, "ScopingFilterError", f"A scoping filter could not be evaluated: {error}",
                        assigned=True)
    if not holds:
        return Decision(False, "ScopingFilter", "The user does not match the scoping filters.", assigned=True)
    if config.scope == Scope.ALL:
        return Decision(True, "InScope", "All users are in scope (Sync all users and groups).", assigned=True)
    directly = bool(assignments.users.get(user_id, set()) - {DEFAULT_ACCESS_ROLE_ID})
    return _ASSIGNED_DIRECTLY if directly else _ASSIGNED_THROUGH_A_GROUP


# one of each for a whole tenant rather than one per user
_ASSIGNED_DIRECTLY = Decision(True, "InScope", "The user is assigned to the application directly and matches the "
                                               "scoping filters.", assigned=True)
_ASSIGNED_THROUGH_A_GROUP = Decision(True, "InScope", "The user is assigned to the application through a group and "
                                                      "matches the scoping filters.", assigned=True)


def group_decision(config: EngineConfig, attributes: dict, assignments: Assignments) -> Decision:
    group_id = attributes.get("id") or attributes.get("objectId")
    if not config.groups.enabled:
        return Decision(False, "GroupsDisabled", "Group provisioning is switched off.")
    if config.scope == Scope.ASSIGNED:
        roles = assignments.groups.get(group_id, set())
        if not roles:
            return Decision(False, "NotEffectivelyEntitled", "The group is not assigned to the application.")
        if not roles - {DEFAULT_ACCESS_ROLE_ID}:
            return Decision(False, "DefaultAccessRole", "The group is assigned only with the Default Access role, "
                                                        "which does not work for provisioning.", assigned=True)
    holds, error = _filters_hold(config.groups, attributes)
    if error or not holds:
        return Decision(False, "ScopingFilter", error or "The group does not match the scoping filters.",
                        assigned=True)
    return Decision(True, "InScope", "The group is assigned to the application.", assigned=True)

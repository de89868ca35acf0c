"""Evaluate each source object once: whether it is in scope (and why), and its
mapped values. Matching, planning and the steps of its log row all reuse this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..constants import ObjectType
from ..targets.base import TargetSchema
from .config import EngineConfig
from .mapping import MappedValues, group_source_attributes, map_values, user_source_attributes
from .scope import Assignments, Decision, group_decision, user_decision
from .types import LinkInfo

#: why a source object is gone
SOFT_DELETED = "soft"
HARD_DELETED = "hard"


@dataclass(slots=True)
class SourceUser:
    """A user to evaluate: its attributes as read (None when it is gone) and its groups."""

    source_id: str
    user: dict | None
    gone: str = ""
    groups: frozenset[str] = frozenset()


@dataclass(slots=True)
class SourceGroup:
    """A group to evaluate: its attributes (None when unknown) and its members' source ids."""

    source_id: str
    group: dict | None
    deleted: bool = False
    users: frozenset[str] = frozenset()


@dataclass(slots=True)
class Evaluation:
    """One source object, evaluated once."""

    object_type: str
    source_id: str
    display_name: str
    upn: str
    decision: Decision
    #: None unless the object is in scope and exists
    mapped: MappedValues | None
    #: the source object as read (None when gone)
    source: dict | None
    gone: str = ""
    account_enabled: bool | None = None

    @property
    def counts_as_in_scope(self) -> bool:
        """In scope and present: the figure an empty read is judged by."""
        return self.decision.in_scope and not self.gone


def _gone_decision(gone: str) -> Decision:
    what = "permanently deleted" if gone == HARD_DELETED else "deleted (in the recycle bin)"
    return Decision(False, "SourceDeleted" if gone == HARD_DELETED else "SourceSoftDeleted", f"The user was {what}.")


def evaluate_user(item: SourceUser, *, config: EngineConfig, schema: TargetSchema, assignments: Assignments,
                  link: LinkInfo | None, now: datetime) -> Evaluation:
    """Scope and mapped values of one user (mapped only when it is in scope)."""
    user = item.user
    display = (user or {}).get("displayName") or (link.display_name if link else "") or item.source_id
    upn = (user or {}).get("userPrincipalName") or (link.user_principal_name if link else "")
    if user is None:
        return Evaluation(ObjectType.USER, item.source_id, display, upn, _gone_decision(item.gone or SOFT_DELETED),
                          None, None, gone=item.gone or SOFT_DELETED)
    attributes = user_source_attributes(user)
    if config.users.uses_app_roles:
        attributes["appRoleAssignments"] = assignments.role_assignments(item.source_id, item.groups)
    decision = user_decision(config, attributes, assignments, set(item.groups))
    mapped = map_values(config.users, attributes, schema=schema.users, now=now) if decision.in_scope else None
    return Evaluation(ObjectType.USER, item.source_id, display, upn, decision, mapped, user,
                      account_enabled=user.get("accountEnabled"))


def evaluate_group(item: SourceGroup, *, config: EngineConfig, schema: TargetSchema, assignments: Assignments,
                   link: LinkInfo | None, now: datetime) -> Evaluation:
    """Scope and mapped values of one group."""
    group = item.group
    deleted = item.deleted or group is None
    display = (group or {}).get("displayName") or (link.display_name if link else item.source_id)
    decision = group_decision(config, group_source_attributes(group or {"id": item.source_id}), assignments)
    mapped = None
    if decision.in_scope and not deleted:
        mapped = map_values(config.groups, group_source_attributes(group), schema=schema.groups, now=now)
    return Evaluation(ObjectType.GROUP, item.source_id, display, "", decision, mapped, group,
                      gone=HARD_DELETED if deleted else "")

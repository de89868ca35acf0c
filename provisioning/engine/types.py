"""The small types the phases of a cycle hand each other: what a link row says
of a provisioned object, and the plan made for one object."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from ..constants import Action


@dataclass(slots=True)
class LinkInfo:
    """What the engine knows of a provisioned object from its link row."""

    source_id: str
    target_id: str
    state: str = "active"
    exported: dict = field(default_factory=dict)
    disabled_at: datetime | None = None
    display_name: str = ""
    user_principal_name: str = ""
    #: the target object's label when it was linked (an email, a group's name)
    target_label: str = ""


WRITING_ACTIONS = (Action.CREATE, Action.UPDATE, Action.DISABLE, Action.ENABLE, Action.DELETE)
STAGED_ACTIONS = (Action.STAGED_DELETE, Action.STAGED_DISABLE)


@dataclass(slots=True)
class Plan:
    """One planned action on one object, with the reason and the steps of its log row."""

    object_type: str
    action: str
    source_id: str
    display_name: str = ""
    upn: str = ""
    reason: str = ""
    code: str = ""
    target_id: str = ""
    #: the target object's label (a member's email, a group's name)
    target_label: str = ""
    values: dict = field(default_factory=dict)
    #: (attribute, old, new)
    changes: list[tuple[str, object, object]] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    #: whether the source object is linked to (or matched with) ``target_id`` after this action
    link: bool = True
    #: a Disable of an invited account the target cannot suspend: it is removed instead
    remove_instead: bool = False
    #: group membership changes (target account ids)
    add_members: list[str] = field(default_factory=list)
    remove_members: list[str] = field(default_factory=list)
    #: whether the log row is worth writing (unchanged objects of full cycles are not logged)
    log: bool = True
    newly_linked: bool = False
    #: the attribute at fault for invalid data
    field: str | None = None
    recommendation: str = ""
    #: the log row's id, fixed when the write is announced (before it is sent)
    change_id: str = ""
    #: a group's members as last exported (from its link), to tell a bad read from people leaving
    previous_members: int | None = None
    #: how the target object was found: a matching attribute, "link", or "created" (kept on a new link)
    matched_by: str = ""

    @property
    def destructive(self) -> bool:
        return self.action in (Action.DISABLE, Action.DELETE)

    @property
    def writes(self) -> bool:
        return self.action in WRITING_ACTIONS

    @property
    def staged(self) -> bool:
        return self.action in STAGED_ACTIONS


_PLAN_FIELDS = {f.name for f in fields(Plan)}


_PLAN_NAMES = tuple(f.name for f in fields(Plan))


def plan_to_json(plan: Plan) -> dict:
    """A plan as JSON, to keep with its announced write. Its values are plain data already (strings,
    lists, dicts of them), so a shallow copy serializes as ``asdict``'s deep one would, at a fraction
    of the cost."""
    return {name: getattr(plan, name) for name in _PLAN_NAMES}


def plan_from_json(data: dict) -> Plan:
    plan = Plan(**{key: value for key, value in data.items() if key in _PLAN_FIELDS})
    plan.changes = [tuple(change) for change in plan.changes]
    return plan


def step(name: str, status: str, description: str, **details) -> dict:
    """One step of a log row, as the Provisioning logs show it (``details`` only when there are some:
    a tenant's plans carry several steps each)."""
    kept = {k: v for k, v in details.items() if v not in (None, "", [], {})}
    if kept:
        return {"name": name, "status": status, "description": description, "details": kept}
    return {"name": name, "status": status, "description": description}


def planned_changes(plan: Plan, action: str | None = None) -> list[tuple[str, object, object]]:
    """(attribute, old, new) of a plan's write. A user's create sends all its values: they are derived from
    them here rather than kept beside them with each of a tenant's plans."""
    if plan.changes or (action or plan.action) != Action.CREATE or plan.object_type != "user":
        return plan.changes
    return [(name, None, value) for name, value in plan.values.items() if value is not None]

"""The configuration a cycle runs from, as plain values: read once from the
database at the start of a cycle, so a cycle sees one consistent configuration
and the engine needs no ORM objects."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property

from ..constants import DEFAULT_LEAVE_ACTIONS, ApplyWhen, LeaveAction, LeaveCause, MappingType, ObjectType, Scope
from ..expressions import Expression, parse, referenced_attributes


@dataclass(frozen=True)
class AttributeRule:
    """One attribute mapping."""

    target: str
    mapping_type: str
    source: str = ""
    constant: str = ""
    expression: str = ""
    default: str = ""
    matching: bool = False
    precedence: int | None = None
    apply_when: str = ApplyWhen.ALWAYS

    def sources(self) -> set[str]:
        if self.mapping_type == MappingType.DIRECT and self.source:
            return {self.source}
        if self.mapping_type == MappingType.EXPRESSION and self.expression:
            return referenced_attributes(self.expression)
        return set()

    @property
    def parsed(self) -> Expression:
        return _parse_cached(self.expression)


_PARSED: dict[str, Expression] = {}


def _parse_cached(text: str) -> Expression:
    tree = _PARSED.get(text)
    if tree is None:
        tree = _PARSED[text] = parse(text)
    return tree


@dataclass(frozen=True)
class ObjectRules:
    """A mapping of one object type: its attribute rules, actions and scoping filters."""

    object_type: str
    enabled: bool = True
    allow_create: bool = True
    allow_update: bool = True
    allow_delete: bool = True
    rules: tuple[AttributeRule, ...] = ()
    #: OR of ANDs: ((attribute, operator, value), ...) per filter
    filters: tuple[tuple[tuple[str, str, str], ...], ...] = ()

    def rule(self, target: str) -> AttributeRule | None:
        return next((rule for rule in self.rules if rule.target == target), None)

    @property
    def matching_rules(self) -> list[AttributeRule]:
        return sorted((r for r in self.rules if r.matching), key=lambda r: (r.precedence or 99, r.target))

    @cached_property
    def uses_app_roles(self) -> bool:
        """Whether a mapping or filter reads the user's app role assignments (read only then)."""
        return APP_ROLE_ASSIGNMENTS in self.source_attributes()

    def source_attributes(self) -> set[str]:
        names: set[str] = set()
        for rule in self.rules:
            names |= rule.sources()
        for clauses in self.filters:
            names |= {attribute for attribute, _, _ in clauses}
        return names


#: the source attribute holding a user's app role assignments (made from the assignments, not read)
APP_ROLE_ASSIGNMENTS = "appRoleAssignments"


@dataclass(frozen=True)
class EngineConfig:
    """Everything a cycle needs to know about its job's configuration."""

    service_principal_id: str
    scope: str = Scope.ASSIGNED
    users: ObjectRules = field(default_factory=lambda: ObjectRules(ObjectType.USER))
    groups: ObjectRules = field(default_factory=lambda: ObjectRules(ObjectType.GROUP, enabled=False))
    prevent_accidental_deletion: bool = True
    deletion_threshold: int = 500
    wipe_devices_on_disable: bool = False
    delete_after_days: int | None = 30
    transfer_files_to: str = ""
    remove_invited_members: bool = False
    expand_nested_groups: bool = False
    #: the target account of the admin who authorized the portal: never written to
    protected_account_id: str = ""
    #: what leaving means, per LeaveCause: a LeaveAction (see DEFAULT_LEAVE_ACTIONS)
    leave_actions: tuple[tuple[str, str], ...] = tuple(DEFAULT_LEAVE_ACTIONS.items())
    keep_account_on_remove: bool = False
    wipe_devices_on_remove: bool = False
    send_welcome_email: bool = True

    def on_leaving(self, cause: str) -> str:
        """The LeaveAction chosen for users who leave for this LeaveCause."""
        return dict(self.leave_actions).get(cause, DEFAULT_LEAVE_ACTIONS.get(cause, LeaveAction.SUSPEND))

    def fingerprint(self) -> str:
        """Changes when anything that decides scope or values changes."""
        relevant = {"scope": self.scope, "users": asdict(self.users), "groups": asdict(self.groups),
                    "expand_nested_groups": self.expand_nested_groups,
                    # objects skipped because of these settings are looked at again when they change
                    "remove_invited_members": self.remove_invited_members,
                    "delete_after_days": self.delete_after_days,
                    "leave_actions": sorted(self.leave_actions)}
        return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


def from_job(job) -> EngineConfig:
    """Build the engine configuration from a :class:`~provisioning.models.ProvisioningJob`."""
    object_rules = {}
    for mapping in job.object_mappings.prefetch_related("attributes"):
        rules = tuple(
            AttributeRule(
                target=a.target_attribute, mapping_type=a.mapping_type, source=a.source_attribute,
                constant=a.constant_value, expression=a.expression, default=a.default_value,
                matching=a.is_matching, precedence=a.matching_precedence, apply_when=a.apply_when,
            )
            for a in mapping.attributes.all()
        )
        filters = tuple(
            tuple((c["attribute"], c["operator"], c.get("value") or "") for c in f.get("clauses", []))
            for f in (mapping.scoping_filters or [])
            if f.get("clauses")
        )
        object_rules[mapping.object_type] = ObjectRules(
            object_type=mapping.object_type, enabled=mapping.enabled, allow_create=mapping.allow_create,
            allow_update=mapping.allow_update, allow_delete=mapping.allow_delete, rules=rules, filters=filters,
        )
    return EngineConfig(
        service_principal_id=job.application.service_principal_id,
        scope=job.scope,
        users=object_rules.get(ObjectType.USER, ObjectRules(ObjectType.USER)),
        groups=object_rules.get(ObjectType.GROUP, ObjectRules(ObjectType.GROUP, enabled=False)),
        prevent_accidental_deletion=job.prevent_accidental_deletion,
        deletion_threshold=job.deletion_threshold,
        wipe_devices_on_disable=job.wipe_devices_on_disable,
        delete_after_days=job.delete_after_days,
        transfer_files_to=job.transfer_files_to,
        remove_invited_members=job.remove_invited_members,
        expand_nested_groups=job.expand_nested_groups,
        protected_account_id=job.target_admin_id,
        leave_actions=(
            (LeaveCause.UNASSIGNED, job.on_unassigned), (LeaveCause.OUT_OF_SCOPE, job.on_out_of_scope),
            (LeaveCause.DISABLED, job.on_disabled), (LeaveCause.SOFT_DELETED, job.on_soft_deleted),
            (LeaveCause.HARD_DELETED, job.on_hard_deleted),
        ),
        keep_account_on_remove=job.keep_account_on_remove,
        wipe_devices_on_remove=job.wipe_devices_on_remove,
        send_welcome_email=job.send_welcome_email,
    )


#: the job settings a draft may carry, as EngineConfig fields (the leaving choices gather into leave_actions)
DRAFT_SETTINGS = ("scope", "prevent_accidental_deletion", "deletion_threshold", "wipe_devices_on_disable",
                  "delete_after_days", "transfer_files_to", "remove_invited_members", "expand_nested_groups",
                  "keep_account_on_remove", "wipe_devices_on_remove", "send_welcome_email")
_LEAVE_FIELDS = {"on_unassigned": LeaveCause.UNASSIGNED, "on_out_of_scope": LeaveCause.OUT_OF_SCOPE,
                 "on_disabled": LeaveCause.DISABLED, "on_soft_deleted": LeaveCause.SOFT_DELETED,
                 "on_hard_deleted": LeaveCause.HARD_DELETED}


#: the object mapping settings a draft may carry (the Attribute Mappings page's head), as ObjectRules fields
DRAFT_OBJECT_MAPPING = ("enabled", "allow_create", "allow_update", "allow_delete")


def draft_attribute(fields: dict) -> AttributeRule:
    """An attribute mapping of a draft, given by the AttributeMapping fields the mapping editor posts."""
    return AttributeRule(
        target=fields["target_attribute"], mapping_type=fields["mapping_type"],
        source=fields.get("source_attribute") or "", constant=fields.get("constant_value") or "",
        expression=fields.get("expression") or "", default=fields.get("default_value") or "",
        matching=bool(fields.get("is_matching")), precedence=fields.get("matching_precedence"),
        apply_when=fields.get("apply_when") or ApplyWhen.ALWAYS,
    )


def with_draft(config: EngineConfig, draft: dict) -> EngineConfig:
    """The configuration as it would be with these unsaved changes, as the editors post them:

    - ``"settings"``: ``{field: value}`` of the Settings (DRAFT_SETTINGS and the leaving choices);
    - ``"filters"``: ``{object_type: [{"clauses": [...]}]}`` of the scoping filters editor;
    - ``"mappings"``: ``{object_type: {"attributes": [{AttributeMapping field: value}, ...], "enabled": ...,
      "allow_create": ...}}`` of the mapping editor and the Attribute Mappings page: ``attributes``, when
      given, is the whole list of the object type's attribute mappings; the others are DRAFT_OBJECT_MAPPING.

    The draft is validated before it gets here, as a save would be.
    """
    from dataclasses import replace

    settings = draft.get("settings") or {}
    changes = {name: settings[name] for name in DRAFT_SETTINGS if name in settings}
    leave = dict(config.leave_actions)
    leave.update({cause: settings[name] for name, cause in _LEAVE_FIELDS.items() if settings.get(name)})
    changes["leave_actions"] = tuple(leave.items())
    objects = {ObjectType.USER: config.users, ObjectType.GROUP: config.groups}
    for object_type, filters in (draft.get("filters") or {}).items():
        if object_type in objects:
            clauses = tuple(tuple((c["attribute"], c["operator"], c.get("value") or "") for c in f.get("clauses", []))
                            for f in filters if f.get("clauses"))
            objects[object_type] = replace(objects[object_type], filters=clauses)
    for object_type, mapping in (draft.get("mappings") or {}).items():
        if object_type in objects:
            edited = {name: bool(mapping[name]) for name in DRAFT_OBJECT_MAPPING if name in mapping}
            if "attributes" in mapping:
                edited["rules"] = tuple(draft_attribute(fields) for fields in mapping["attributes"])
            objects[object_type] = replace(objects[object_type], **edited)
    changes["users"], changes["groups"] = objects[ObjectType.USER], objects[ObjectType.GROUP]
    return replace(config, **changes)

"""Attribute mapping: from a source object's attributes to the values the target
receives, validated by the target's schema.

Each rule is evaluated once per object; the values for a create (with
create-only rules and default values) and for an update come from the same
evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..constants import ApplyWhen, MappingType
from ..expressions import ExpressionError, evaluate_detailed
from ..targets.base import ObjectSchema
from .config import AttributeRule, ObjectRules


@dataclass(slots=True)
class Mapped:
    """The target values of one object, and what kept any of them from flowing."""

    values: dict = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(slots=True)
class MappedValues:
    """An object's mapped values for a create and for an update, from one evaluation."""

    create: Mapped
    update: Mapped

    def for_account(self, exists: bool) -> Mapped:
        """What flows to an account that exists (an update) or not (a create). Values that
        could not be mapped for a create are not sent as an update either."""
        return self.update if exists and self.create.ok else self.create


def user_source_attributes(user: dict, *, soft_deleted: bool = False) -> dict:
    """A directory user as the mappings see it: ``objectId`` for ``id``, ``IsSoftDeleted`` derived."""
    attributes = dict(user)
    attributes["objectId"] = user.get("id")
    attributes["IsSoftDeleted"] = soft_deleted
    return attributes


def group_source_attributes(group: dict) -> dict:
    attributes = dict(group)
    attributes["objectId"] = group.get("id")
    return attributes


def _text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return [_text(v) for v in value]
    return str(value)


_SKIP = object()


def _evaluate(rule: AttributeRule, attributes: dict, now: datetime | None):
    """The rule's value for these attributes; _SKIP when the expression says not to flow
    (``IgnoreFlow``). Raises :class:`ExpressionError`."""
    if rule.mapping_type == MappingType.DIRECT:
        return _text(attributes.get(rule.source))
    if rule.mapping_type == MappingType.CONSTANT:
        return _text(rule.constant)
    result = evaluate_detailed(rule.parsed, attributes, now=now)
    return _SKIP if result.ignore_flow else _text(result.value)


def map_values(rules: ObjectRules, attributes: dict, *, schema: ObjectSchema | None,
               now: datetime | None = None) -> MappedValues:
    """Evaluate every attribute mapping of one object once, for a create and an update."""
    create, update = Mapped(), Mapped()
    members = schema.members_attribute if schema else ""
    for rule in rules.rules:
        if rule.mapping_type == MappingType.NONE or (members and rule.target == members):
            continue  # group membership is computed from the provisioned users, not flowed as a value
        on_update = rule.apply_when != ApplyWhen.CREATE_ONLY
        try:
            value = _evaluate(rule, attributes, now)
        except ExpressionError as exc:
            error = (rule.target, f"The expression for {rule.target} failed: {exc}")
            create.errors.append(error)
            if on_update:
                update.errors.append(error)
            continue
        if value is _SKIP:
            continue
        create.values[rule.target] = rule.default if value in (None, "") and rule.default else value
        if on_update:
            update.values[rule.target] = value
    if schema is not None:
        create.errors += schema.validate(create.values)
        update.errors += schema.validate(update.values)
    return MappedValues(create, update)


def map_object(rules: ObjectRules, attributes: dict, *, creating: bool, schema: ObjectSchema | None = None,
               now: datetime | None = None) -> Mapped:
    """The values of one object for a create (``creating``) or an update."""
    mapped = map_values(rules, attributes, schema=schema, now=now)
    return mapped.create if creating else mapped.update


def desired_active(values: dict, active_attribute: str) -> bool:
    """Whether the mapped active flag asks for an active account (absent means active)."""
    value = values.get(active_attribute) if active_attribute else None
    return not (isinstance(value, str) and value.strip().lower() == "false")

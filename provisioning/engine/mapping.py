"""Attribute mapping: from an Entra object's attributes to the values Dropbox
receives, validated the way Dropbox validates them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dropbox import common, team_common
from stone.backends.python_rsrc.stone_validators import ValidationError

from ..constants import ApplyWhen, MappingType, ObjectType
from ..expressions import ExpressionError, evaluate_detailed
from .config import ObjectRules

# Dropbox's own validators (from the SDK's Stone spec) are the oracle for what it accepts.
_VALIDATORS = {
    ObjectType.USER: {
        "email": common.EmailAddress_validator,
        "givenName": common.OptionalNamePart_validator,
        "surname": common.OptionalNamePart_validator,
        "externalId": team_common.MemberExternalId_validator,
    },
    ObjectType.GROUP: {
        "groupName": None,
        "externalId": team_common.GroupExternalId_validator,
    },
}
_NAME_RULE = 'at most 50 characters, none of / : ? * < > " |'
_HINTS = {
    "email": "a valid email address of at most 255 characters",
    "givenName": _NAME_RULE,
    "surname": _NAME_RULE,
    "externalId": "at most 64 characters",
}


@dataclass
class Mapped:
    """The target values of one object, and what kept any of them from flowing."""

    values: dict = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def user_source_attributes(user: dict, *, soft_deleted: bool = False) -> dict:
    """A Graph user as the mappings see it: ``objectId`` for ``id``, ``IsSoftDeleted`` derived."""
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


def map_object(rules: ObjectRules, attributes: dict, *, creating: bool, now: datetime | None = None) -> Mapped:
    """Evaluate every attribute mapping for one object."""
    mapped = Mapped()
    for rule in rules.rules:
        if rule.target == "members":
            continue  # group membership is computed from the provisioned users, not flowed as a value
        if rule.apply_when == ApplyWhen.CREATE_ONLY and not creating:
            continue
        if rule.mapping_type == MappingType.NONE:
            continue
        if rule.mapping_type == MappingType.DIRECT:
            value = attributes.get(rule.source)
        elif rule.mapping_type == MappingType.CONSTANT:
            value = rule.constant
        else:
            try:
                result = evaluate_detailed(rule.parsed, attributes, now=now)
            except ExpressionError as exc:
                mapped.errors.append((rule.target, f"The expression for {rule.target} failed: {exc}"))
                continue
            if result.ignore_flow:
                continue
            value = result.value
        value = _text(value)
        if (value is None or value == "") and creating and rule.default:
            value = rule.default
        mapped.values[rule.target] = value
    _validate(rules.object_type, mapped)
    return mapped


def _validate(object_type: str, mapped: Mapped) -> None:
    for target, validator in _VALIDATORS.get(object_type, {}).items():
        value = mapped.values.get(target)
        if value in (None, ""):
            continue
        if isinstance(value, list):
            mapped.errors.append((target, f"{target} must be a single value, not a list of {len(value)}."))
            continue
        if validator is None:
            continue
        try:
            validator.validate(value)
        except ValidationError:
            shown = value if len(value) <= 80 else value[:77] + "..."
            mapped.errors.append((target, f'{target} "{shown}" is not accepted by Dropbox: it must be '
                                          f"{_HINTS.get(target, 'valid')}."))


def desired_active(values: dict) -> bool:
    """Whether the mapped ``active`` value asks for an active member (absent means active)."""
    value = values.get("active")
    return not (isinstance(value, str) and value.strip().lower() == "false")

"""Matching: find the target object a source object corresponds to, by its link
or by the matching attributes in precedence order, in an index of the target."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..targets.base import Account, AccountStatus, ObjectSchema, TargetGroup
from .config import AttributeRule
from .types import LinkInfo

LINK = "link"


@dataclass(frozen=True, slots=True)
class Match:
    """The target object found for a source object (None when there is none), how it was
    found, and which source object the portal already linked it to (if any)."""

    target: Account | TargetGroup | None = None
    matched_by: str = ""
    owner: str | None = None


class TargetIndex:
    """Target objects by id and by the schema's matchable attributes. Removed accounts are
    not on the target any more: they are never matched."""

    def __init__(self, schema: ObjectSchema, objects: Iterable[Account | TargetGroup] = ()):
        self.schema = schema
        self.by_id: dict[str, Account | TargetGroup] = {}
        self._by_value: dict[tuple[str, str], Account | TargetGroup] = {}
        #: target id -> the source id the portal linked it to
        self.owners: dict[str, str] = {}
        for item in objects:
            self.add(item)

    def add(self, item: Account | TargetGroup) -> None:
        if getattr(item, "status", None) == AccountStatus.REMOVED:
            return
        self.by_id[item.id] = item
        for name in self.schema.matchable:
            value = item.values.get(name)
            if value:
                self._by_value[self.schema.key(name, value)] = item

    def get(self, name: str, value: str) -> Account | TargetGroup | None:
        return self._by_value.get(self.schema.key(name, value))

    def match(self, link: LinkInfo | None, values: dict, attributes: Iterable[str]) -> Match:
        """By the link first; else by each matching attribute in precedence order."""
        if link is not None and link.target_id in self.by_id:
            return self._found(self.by_id[link.target_id], LINK)
        for name in attributes:
            value = values.get(name)
            if value and name in self.schema.matchable:
                found = self.get(name, value)
                if found is not None:
                    return self._found(found, name)
        return Match()

    def _found(self, target: Account | TargetGroup, how: str) -> Match:
        return Match(target, how, self.owners.get(target.id))


def matching_attributes(rules: Iterable[AttributeRule]) -> list[str]:
    """The target attributes to match by, in precedence order."""
    return [rule.target for rule in rules]


def selectors(link: LinkInfo | None, values: dict, attributes: Iterable[str],
              schema: ObjectSchema) -> list[tuple[str, str]]:
    """What to look up in the target to match one object: its link's id, else its matching values."""
    if link is not None:
        return [("id", link.target_id)]
    return [(name, values[name]) for name in attributes if values.get(name) and name in schema.matchable]

"""Group memberships as a cycle sees them: the direct members of groups (users
and nested groups), as read now or as stored by the last cycle with this
cycle's changes laid over them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

USER = "user"
GROUP = "group"


@dataclass
class Memberships:
    """Direct members of groups: ``users[gid]`` and ``groups[gid]`` (nested groups)."""

    users: dict[str, set[str]] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)

    def add(self, group_id: str, member_id: str, kind: str) -> None:
        (self.groups if kind == GROUP else self.users).setdefault(group_id, set()).add(member_id)

    def ensure(self, group_id: str) -> None:
        self.users.setdefault(group_id, set())
        self.groups.setdefault(group_id, set())

    @property
    def group_ids(self) -> set[str]:
        return set(self.users) | set(self.groups)


@dataclass(frozen=True, slots=True)
class MemberChange:
    """A member added to or removed from a group (from ``members@delta``)."""

    group_id: str
    member_id: str
    kind: str = USER


class MembershipStore(Protocol):
    """The stored snapshot of direct memberships (the last cycle's)."""

    def members_of(self, group_ids: Iterable[str]) -> dict[str, dict[str, set[str]]]: ...

    def memberships_of(self, user_ids: Iterable[str]) -> dict[str, set[str]]: ...

    def all_memberships(self) -> tuple[dict[str, set[str]], dict[str, set[str]]]: ...


class MembershipView:
    """The stored snapshot with this cycle's changes laid over it in memory. The snapshot
    itself is written only when the cycle settles, so a cycle that stops or fails leaves it
    as the delta links expect."""

    def __init__(self, store: MembershipStore, *, replaced: Memberships | None = None,
                 added: Iterable[MemberChange] = (), removed: Iterable[MemberChange] = (),
                 dropped: Iterable[str] = ()):
        self.store = store
        #: groups read afresh in this cycle (their changes are already in what was read)
        self.replaced = replaced or Memberships()
        self.dropped = set(dropped)
        fresh = self.replaced.group_ids
        self.added = [c for c in added if c.group_id not in fresh]
        self.removed = [c for c in removed if c.group_id not in fresh]

    def members_of(self, group_ids: Iterable[str]) -> dict[str, set[str]]:
        """Direct user members of groups."""
        ids = set(group_ids)
        fresh = self.replaced.group_ids
        stored = self.store.members_of(ids - fresh - self.dropped)
        result = {gid: set(stored[gid][USER]) for gid in ids - fresh - self.dropped}
        for gid in ids & fresh:
            result[gid] = set(self.replaced.users.get(gid, ()))
        for gid in ids & self.dropped:
            result[gid] = set()
        for change in self.added:
            if change.kind == USER and change.group_id in result and change.group_id not in self.dropped:
                result[change.group_id].add(change.member_id)
        for change in self.removed:
            if change.group_id in result:
                result[change.group_id].discard(change.member_id)
        return result

    def groups_of(self, user_ids: Iterable[str]) -> dict[str, set[str]]:
        """The groups each user is a direct member of."""
        ids = set(user_ids)
        fresh = self.replaced.group_ids
        groups = {uid: set(gids) - fresh - self.dropped for uid, gids in self.store.memberships_of(ids).items()}
        for gid, users in self.replaced.users.items():
            for uid in users & ids:
                groups.setdefault(uid, set()).add(gid)
        for change in self.added:
            if change.kind == USER and change.member_id in ids and change.group_id not in self.dropped:
                groups.setdefault(change.member_id, set()).add(change.group_id)
        for change in self.removed:
            if change.member_id in groups:
                groups[change.member_id].discard(change.group_id)
        return groups

    def everything(self) -> Memberships:
        """Every stored membership with the changes applied (for nested-group closures)."""
        users, groups = self.store.all_memberships()
        for gid in self.replaced.group_ids | self.dropped:
            users.pop(gid, None)
            groups.pop(gid, None)
        for gid in self.replaced.group_ids:
            users[gid] = set(self.replaced.users.get(gid, ()))
            groups[gid] = set(self.replaced.groups.get(gid, ()))
        for change in self.added:
            if change.group_id not in self.dropped:
                (groups if change.kind == GROUP else users).setdefault(change.group_id, set()).add(change.member_id)
        for change in self.removed:
            users.get(change.group_id, set()).discard(change.member_id)
            groups.get(change.group_id, set()).discard(change.member_id)
        return Memberships(users, groups)


def expand_groups(memberships: Memberships, nested: bool) -> dict[str, set[str]]:
    """Users of each group: direct members, or with ``nested`` also the users of
    nested groups, however deep (membership cycles are safe). Without ``nested``, the
    sets are the memberships' own (a tenant's members are not copied): read them only."""
    if not nested:
        return dict(memberships.users)
    resolved: dict[str, set[str]] = {}
    for root in memberships.group_ids:
        seen, stack, found = {root}, [root], set()
        while stack:
            gid = stack.pop()
            found |= memberships.users.get(gid, set())
            for child in memberships.groups.get(gid, ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        resolved[root] = found
    return resolved


def groups_by_user(users_of: Mapping[str, set[str]], group_ids: Iterable[str]) -> dict[str, list[str]]:
    """Invert ``users_of`` for the given groups: the groups each user belongs to (each once, as a list:
    a tenant's users are most often in one or two groups, and a set of one costs four times a list)."""
    groups: dict[str, list[str]] = {}
    for gid in set(group_ids):
        for uid in users_of.get(gid, ()):
            groups.setdefault(uid, []).append(gid)
    return groups

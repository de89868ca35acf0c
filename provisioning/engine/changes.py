"""What a delta round touches: the users whose scope or values may have changed,
and the groups whose attributes or members did. An incremental cycle plans only
these."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from ..constants import ObjectType
from .config import EngineConfig
from .membership import USER, MembershipView, expand_groups, groups_by_user
from .reading import DeltaRead
from .store import Store


@dataclass
class Affected:
    """Users and groups an incremental cycle plans, and the memberships it sees."""

    users: set[str]
    groups: set[str]
    view: MembershipView
    #: with nested groups: the users of each assigned group at any depth (None: direct members, from ``view``)
    users_of_assigned: dict[str, set[str]] | None

    def groups_of(self, user_ids: set[str], assigned: set[str]) -> dict[str, Collection[str]]:
        """The assigned groups each of these users belongs to (each once)."""
        if self.users_of_assigned is not None:
            return groups_by_user({g: u & user_ids for g, u in self.users_of_assigned.items()}, assigned)
        return {uid: gids & assigned for uid, gids in self.view.groups_of(user_ids).items()}

    def users_of(self, group_ids: set[str]) -> dict[str, set[str]]:
        if self.users_of_assigned is not None:
            return {gid: self.users_of_assigned.get(gid, set()) for gid in group_ids}
        return self.view.members_of(group_ids)


def affected_by(read: DeltaRead, store: Store, config: EngineConfig, now: datetime) -> Affected:
    """The users and groups a delta round touches, with due escrows and members whose grace period is over."""
    view = MembershipView(store, replaced=read.fresh, added=read.members_added, removed=read.members_removed,
                          dropped=read.removed_groups)
    assigned = set(read.assignments.groups)
    changed = read.changed_principals
    previous_groups = read.previous_groups
    group_assignments = {pid for pid in changed if pid in assigned or pid in previous_groups}

    users = set(read.changed_users) | set(read.removed_users)
    users |= {c.member_id for c in read.members_added + read.members_removed if c.kind == USER}
    users |= changed - group_assignments
    users_of_assigned = None
    if config.expand_nested_groups and (read.membership_groups or group_assignments or read.fresh.group_ids):
        before = expand_groups(MembershipView(store).everything(), True)
        after = expand_groups(view.everything(), True)
        for gid in assigned | group_assignments:
            users |= before.get(gid, set()) ^ after.get(gid, set())
            if gid in group_assignments:
                users |= after.get(gid, set()) | before.get(gid, set())
        users_of_assigned = {gid: after.get(gid, set()) for gid in assigned}
    else:
        # Members before the change (a deleted group's members were its members) and after it.
        for members in MembershipView(store).members_of(group_assignments | read.removed_groups).values():
            users |= members
        for members in view.members_of(group_assignments).values():
            users |= members
    due = store.due_escrows(now)
    users |= set(due.get(ObjectType.USER, ()))
    if config.users.allow_delete and config.delete_after_days is not None:
        users |= set(store.links_past_grace(config.delete_after_days, now))
    groups = (set(read.changed_groups) | read.membership_groups | group_assignments
              | set(due.get(ObjectType.GROUP, ())))
    return Affected(users, groups, view, users_of_assigned)


def with_users_read(affected: Affected, read: DeltaRead) -> Affected:
    """``affected`` (taken before the users' round was read: what the rest of the round touches) with the
    users the round named, as :func:`affected_by` would give it now, without reading the store again."""
    return replace(affected, users=affected.users | set(read.changed_users) | set(read.removed_users))

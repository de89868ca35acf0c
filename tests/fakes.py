"""Whole in-memory services for the engine's fast tests: a target that
implements :class:`~provisioning.targets.base.TargetConnector` (an imaginary
"Example" service, so the engine is shown to need nothing of Dropbox) and a
directory that implements the source protocol, with delta rounds.

They keep the rules the engine relies on (unique keys, suspended and removed
accounts, groups' members, one delta link per moment) and nothing else."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from provisioning.connectors.calls import CallStats
from provisioning.connectors.errors import ConflictError, DryRunWrite, NotFoundError
from provisioning.constants import MappingType, ObjectType
from provisioning.engine.config import AttributeRule, EngineConfig, ObjectRules
from provisioning.targets.base import (
    Account,
    AccountStatus,
    AttributeSpec,
    CreateOutcome,
    NewAccount,
    ObjectSchema,
    RemoveOptions,
    TargetGroup,
    TargetNames,
    TargetSchema,
)

NAMES = TargetNames(service="Example", account="Example account", group="Example group", container="Example team")


def _short(limit: int):
    return lambda value: None if len(value) <= limit else f"takes at most {limit} characters"


SCHEMA = TargetSchema(
    users=ObjectSchema(
        ObjectType.USER, key_attribute="email", active_attribute="active",
        attributes=(
            AttributeSpec("email", required=True, matchable=True, match_ignoring_case=True,
                          compare_ignoring_case=True, check=lambda v: None if "@" in v else "is not an email address"),
            AttributeSpec("givenName", check=_short(20)),
            AttributeSpec("surname", check=_short(20)),
            AttributeSpec("externalId", matchable=True),
            AttributeSpec("active", compared=False),
        )),
    groups=ObjectSchema(
        ObjectType.GROUP, name_attribute="groupName", members_attribute="members",
        attributes=(
            AttributeSpec("groupName", required=True, matchable=True, match_ignoring_case=True),
            AttributeSpec("externalId", matchable=True, empty_clears=False),
            AttributeSpec("members", compared=False, single_valued=False),
        )),
    create_batch_size=3,
    suspending_invited_deletes=True,
)

#: (target attribute, source attribute or expression, matching precedence) of the Example target's mappings
MAPPINGS = {
    ObjectType.USER: [("email", "userPrincipalName", 1), ("givenName", "givenName", None),
                      ("surname", "surname", None), ("externalId", "objectId", None),
                      ("active", 'Switch([IsSoftDeleted], , "False", "True", "True", "False")', None)],
    ObjectType.GROUP: [("groupName", "displayName", 1), ("externalId", "objectId", None)],
}


def _rule(target: str, source: str, precedence: int | None) -> AttributeRule:
    if "(" in source:
        return AttributeRule(target, MappingType.EXPRESSION, expression=source)
    return AttributeRule(target, MappingType.DIRECT, source=source, matching=precedence is not None,
                         precedence=precedence)


def rules(object_type: str, **actions) -> ObjectRules:
    """The mappings of the Example target, with these object actions."""
    return ObjectRules(object_type, rules=tuple(_rule(*spec) for spec in MAPPINGS[object_type]), **actions)


def engine_config(**overrides) -> EngineConfig:
    users = overrides.pop("users", rules(ObjectType.USER))
    groups = overrides.pop("groups", rules(ObjectType.GROUP, enabled=False))
    return EngineConfig(service_principal_id="sp-1", users=users, groups=groups, **overrides)


class FakeTarget:
    """An in-memory target: accounts with unique emails and external ids, groups with members."""

    names = NAMES
    schema = SCHEMA

    def __init__(self, *, admin_email: str = "admin@example.org", dry_run: bool = False):
        self.dry_run = dry_run
        self.on_rate_limit = None
        self.stats = CallStats()
        self._ids = (f"acc-{n}" for n in itertools.count(1))
        self._group_ids = (f"grp-{n}" for n in itertools.count(1))
        self.accounts: dict[str, Account] = {}
        self.groups: dict[str, TargetGroup] = {}
        self.members: dict[str, set[str]] = {}
        #: every write, in order: (method, id)
        self.writes: list[tuple[str, str]] = []
        #: how many accounts each create call carried
        self.create_calls: list[int] = []
        self.admin = self.add_account(admin_email, is_admin=True, status=AccountStatus.ACTIVE)

    # ------------------------------------------------------------------ test set-up
    def add_account(self, email: str, *, status: str = AccountStatus.ACTIVE, is_admin: bool = False,
                    **values) -> Account:
        account = Account(next(self._ids), status, {"email": email, "givenName": "", "surname": "",
                                                     "externalId": None, **values}, label=email, is_admin=is_admin)
        self.accounts[account.id] = account
        return account

    def accept_invitations(self) -> None:
        """Every invited account signs in (an invited account cannot be suspended)."""
        for account in self.accounts.values():
            if account.status == AccountStatus.INVITED:
                account.status = AccountStatus.ACTIVE

    def by_email(self, email: str) -> Account | None:
        return next((a for a in self.accounts.values()
                     if (a.values["email"] or "").lower() == email.lower() and a.status != AccountStatus.REMOVED), None)

    def _write(self, method: str, object_id: str) -> None:
        if self.dry_run:
            raise DryRunWrite(f"Dry run: '{method}' was not sent.", service="Example")
        self.stats.called(write=True)
        self.writes.append((method, object_id))

    def _account(self, account_id: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None or account.status == AccountStatus.REMOVED:
            raise NotFoundError(f"No account {account_id}.", service="Example", code="ExampleAccountNotFound")
        return account

    # ------------------------------------------------------------------ the protocol
    def authenticated_admin(self) -> Account:
        self.stats.called()
        return self.admin

    def describe(self) -> tuple[str, str]:
        return "Example team", "team-1"

    def iter_accounts(self) -> Iterator[Account]:
        self.stats.called()
        return iter([a for a in self.accounts.values() if a.status != AccountStatus.REMOVED])

    def find(self, selectors: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Account | None]:
        self.stats.called()
        found = {}
        for kind, value in selectors:
            if kind == "id":
                account = self.accounts.get(value)
            elif kind == "email":
                account = self.by_email(value)
            else:
                account = next((a for a in self.accounts.values() if a.values.get(kind) == value
                                and a.status != AccountStatus.REMOVED), None)
            found[(kind, value)] = account
        return found

    def create_batch(self, accounts: list[NewAccount]) -> list[CreateOutcome]:
        assert len(accounts) <= SCHEMA.create_batch_size
        self.create_calls.append(len(accounts))
        outcomes = []
        for new in accounts:
            self._write("create", new.values["email"])
            if self.by_email(new.values["email"]):
                outcomes.append(CreateOutcome(CreateOutcome.EXISTS, code="ExampleExists"))
                continue
            values = {k: v for k, v in new.values.items() if k != "active"}
            outcomes.append(CreateOutcome(CreateOutcome.CREATED, account=self.add_account(
                values.pop("email"), status=AccountStatus.INVITED, **values)))
        return outcomes

    def update(self, account_id: str, changes: Mapping[str, str | None]) -> None:
        self._write("update", account_id)
        self._account(account_id).values.update(changes)
        if "email" in changes:
            self.accounts[account_id].label = changes["email"]

    def disable(self, account_id: str, *, wipe_devices: bool = False) -> None:
        self._write("disable", account_id)
        account = self._account(account_id)
        account.status = AccountStatus.REMOVED if account.status == AccountStatus.INVITED else AccountStatus.SUSPENDED

    def enable(self, account_id: str) -> None:
        self._write("enable", account_id)
        self._account(account_id).status = AccountStatus.ACTIVE

    def remove(self, account_id: str, options: RemoveOptions = RemoveOptions()) -> None:
        self._write("remove", account_id)
        self._account(account_id).status = AccountStatus.REMOVED
        for members in self.members.values():
            members.discard(account_id)

    def iter_groups(self) -> Iterator[TargetGroup]:
        self.stats.called()
        return iter(list(self.groups.values()))

    def create_group(self, values: Mapping[str, str | None]) -> TargetGroup:
        self._write("create_group", values["groupName"])
        if any((g.values["groupName"] or "").lower() == values["groupName"].lower() for g in self.groups.values()):
            raise ConflictError("The name is taken.", service="Example", field="groupName")
        return self.add_group(values["groupName"], values.get("externalId"))

    def add_group(self, name: str, external_id: str | None = None, members: Iterable[str] = ()) -> TargetGroup:
        group = TargetGroup(next(self._group_ids), {"groupName": name, "externalId": external_id}, label=name)
        self.groups[group.id] = group
        self.members[group.id] = set(members)
        return group

    def update_group(self, group_id: str, changes: Mapping[str, str | None]) -> None:
        self._write("update_group", group_id)
        self.groups[group_id].values.update(changes)
        self.groups[group_id].label = self.groups[group_id].values["groupName"]

    def delete_group(self, group_id: str) -> None:
        self._write("delete_group", group_id)
        del self.groups[group_id]
        del self.members[group_id]

    def iter_group_members(self, group_id: str) -> Iterator[str]:
        self.stats.called()
        return iter(sorted(self.members[group_id]))

    def add_group_members(self, group_id: str, account_ids: list[str]) -> None:
        if account_ids:
            self._write("add_group_members", group_id)
            self.members[group_id] |= set(account_ids)

    def remove_group_members(self, group_id: str, account_ids: list[str]) -> None:
        if account_ids:
            self._write("remove_group_members", group_id)
            self.members[group_id] -= set(account_ids)


@dataclass
class _Round:
    items: list[dict]
    delta_link: str | None = None
    final: str = ""

    def __iter__(self):
        yield from self.items
        self.delta_link = self.final


@dataclass
class FakeDirectory:
    """An in-memory directory (the source): users, groups, direct memberships, the app's
    assignments, a recycle bin, and a change log that delta rounds read from."""

    sp_id: str = "sp-1"
    users: dict[str, dict] = field(default_factory=dict)
    groups: dict[str, dict] = field(default_factory=dict)
    memberships: dict[str, set[str]] = field(default_factory=dict)
    assignments: list[dict] = field(default_factory=list)
    recycle_bin: dict[str, dict] = field(default_factory=dict)
    changes: list[tuple[str, dict]] = field(default_factory=list)
    stats: CallStats = field(default_factory=CallStats)

    # ------------------------------------------------------------------ test set-up
    def add_user(self, uid: str, upn: str, *, enabled: bool = True, **attributes) -> dict:
        user = {"id": uid, "userPrincipalName": upn, "displayName": upn.split("@")[0], "accountEnabled": enabled,
                "givenName": attributes.pop("givenName", upn.split("@")[0].capitalize()), "surname": "Person",
                **attributes}
        self.users[uid] = user
        self.changes.append(("users", dict(user)))
        return user

    @classmethod
    def of_assigned_users(cls, count: int) -> "FakeDirectory":
        """A directory of ``count`` users ``u000``, ``u001``... (``user<n>@contoso.com``), each assigned directly."""
        directory = cls()
        for n in range(count):
            directory.add_user(f"u{n:03}", f"user{n}@contoso.com")
            directory.assign(f"u{n:03}")
        return directory

    def add_assigned_users(self, numbers: Iterable[int]) -> None:
        """Users ``u<n>`` (``user<n>@example.org``), each assigned to the application directly."""
        for n in numbers:
            self.add_user(f"u{n}", f"user{n}@example.org")
            self.assign(f"u{n}")

    def change_user(self, uid: str, **attributes) -> None:
        self.users[uid].update(attributes)
        self.changes.append(("users", {"id": uid, **attributes}))

    def delete_user(self, uid: str, *, permanently: bool = False) -> None:
        user = self.users.pop(uid)
        if not permanently:
            self.recycle_bin[uid] = user
        self.changes.append(("users", {"id": uid, "@removed": {"reason": "deleted" if permanently else "changed"}}))

    def add_group(self, gid: str, name: str, members: Iterable[str] = ()) -> dict:
        self.groups[gid] = {"id": gid, "displayName": name}
        self.memberships[gid] = set(members)
        self.changes.append(("groups", {"id": gid, "displayName": name,
                                        "members@delta": [{"id": m} for m in members]}))
        return self.groups[gid]

    def add_member(self, gid: str, uid: str) -> None:
        self.memberships[gid].add(uid)
        self.changes.append(("groups", {"id": gid, "members@delta": [{"id": uid}]}))

    def remove_member(self, gid: str, uid: str) -> None:
        self.memberships[gid].discard(uid)
        self.changes.append(("groups", {"id": gid, "members@delta": [{"id": uid, "@removed": {}}]}))

    def assign(self, principal_id: str, *, role: str = "role-user", kind: str = "User") -> None:
        self.assignments.append({"id": f"asg-{len(self.assignments)}", "principalId": principal_id,
                                 "principalType": kind, "principalDisplayName": principal_id, "appRoleId": role})

    def unassign(self, principal_id: str) -> None:
        self.assignments = [a for a in self.assignments if a["principalId"] != principal_id]

    # ------------------------------------------------------------------ the protocol
    def select_for(self, attribute_names: Iterable[str]) -> list[str]:
        return sorted(set(attribute_names) - {"objectId", "IsSoftDeleted", "members"})

    def iter_assignments(self, sp_id: str) -> Iterator[dict]:
        self.stats.called()
        return iter([dict(a) for a in self.assignments])

    def iter_users(self, select: Iterable[str] = ()) -> Iterator[dict]:
        self.stats.called()
        return iter([dict(u) for u in self.users.values()])

    def iter_groups(self, select: Iterable[str] = ()) -> Iterator[dict]:
        self.stats.called()
        return iter([dict(g) for g in self.groups.values()])

    def latest_delta_link(self, kind: str, *, select: Iterable[str] = ()) -> str:
        return f"delta:{kind}:{len(self.changes)}"

    def _round(self, kind: str, delta_link: str | None) -> _Round:
        start = int(delta_link.rsplit(":", 1)[1]) if delta_link else 0
        self.stats.called()
        items = [dict(item) for k, item in self.changes[start:] if k == kind]
        return _Round(items, final=f"delta:{kind}:{len(self.changes)}")

    def users_delta(self, *, select: Iterable[str] = (), delta_link: str | None = None) -> _Round:
        return self._round("users", delta_link)

    def groups_delta(self, *, select: Iterable[str] = (), delta_link: str | None = None) -> _Round:
        return self._round("groups", delta_link)

    def member_ids_of_groups(self, group_ids: Iterable[str]) -> Iterator[tuple[str, str, str]]:
        self.stats.called()
        for gid in group_ids:
            for member in sorted(self.memberships.get(gid, ())):
                yield gid, member, "group" if member in self.groups else "user"

    def get_users(self, ids: Iterable[str], select: Iterable[str] = ()) -> tuple[dict[str, dict], set[str]]:
        self.stats.called()
        ids = list(ids)
        return {i: dict(self.users[i]) for i in ids if i in self.users}, {i for i in ids if i not in self.users}

    def get_groups(self, ids: Iterable[str], select: Iterable[str] = ()) -> tuple[dict[str, dict], set[str]]:
        self.stats.called()
        ids = list(ids)
        return {i: dict(self.groups[i]) for i in ids if i in self.groups}, {i for i in ids if i not in self.groups}

    def get_user(self, user_id: str, select: Iterable[str] = ()) -> dict:
        if user_id not in self.users:
            raise NotFoundError("No such user.", service="Microsoft Graph")
        return dict(self.users[user_id])

    def get_group(self, group_id: str, select: Iterable[str] = ()) -> dict:
        return dict(self.groups[group_id])

    def soft_deleted_user_ids(self) -> set[str]:
        return set(self.recycle_bin)

    def is_soft_deleted(self, user_id: str) -> bool:
        return user_id in self.recycle_bin

    def group_ids_of_user(self, user_id: str, *, transitive: bool = False) -> set[str]:
        return {gid for gid, members in self.memberships.items() if user_id in members}

    def iter_group_members(self, group_id: str, *, transitive: bool = False) -> Iterator[dict]:
        return iter([{"id": m, "@odata.type": "#microsoft.graph.user"} for m in sorted(self.memberships[group_id])])

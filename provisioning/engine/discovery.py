"""Account discovery: every member of the target sorted by what the portal would
make of it, before it does anything. It reads the whole target and the whole
source (every user, in scope or not) and writes nothing.

The situations (after midPoint's and Entra's): *linked* (in step, or drifted:
which attributes differ), *will be matched* (to which source user, by which
matching attribute), *out of scope* (a source user matches, but is not in
scope), *orphan* (no source user matches), *protected* (the admin who
authorized the portal, the last team admin), and *conflict* (two source users
match at the same precedence, or the one that matches is already linked to
another member: an address reused after someone left).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..connectors.source import SourceConnector
from ..targets.base import Account, AccountStatus, TargetConnector
from .config import EngineConfig
from .evaluate import SourceUser, evaluate_user
from .mapping import map_values, user_source_attributes
from .matching import matching_attributes
from .membership import expand_groups, groups_by_user
from .reading import SourceReader
from .types import LinkInfo

LINKED = "linked"
DRIFTED = "drifted"
WILL_MATCH = "will_match"
OUT_OF_SCOPE = "out_of_scope"
ORPHAN = "orphan"
PROTECTED = "protected"
CONFLICT = "conflict"
#: in the order the page shows them
CATEGORIES = (LINKED, DRIFTED, WILL_MATCH, OUT_OF_SCOPE, ORPHAN, PROTECTED, CONFLICT)


@dataclass(slots=True)
class Finding:
    """What discovery found for one member of the target."""

    category: str
    account: Account
    source_id: str = ""
    source_upn: str = ""
    source_name: str = ""
    #: the matching attribute that finds the source user ("link" for a linked member)
    matched_by: str = ""
    #: (attribute, value in the target, value mapped from the source) for a drifted member
    differences: list[tuple[str, object, object]] = field(default_factory=list)
    note: str = ""


@dataclass(slots=True)
class _Person:
    source_id: str
    upn: str
    name: str
    in_scope: bool
    scope_reason: str
    values: dict


class Discovery:
    """Sorts every member of the target. ``progress(phase, members_done)`` is told how far it got."""

    def __init__(self, config: EngineConfig, source: SourceConnector, target: TargetConnector,
                 links: Mapping[str, LinkInfo], *, now: datetime,
                 progress: Callable[[str, int], None] = lambda phase, done: None):
        self.config = config
        self.source = source
        self.target = target
        self.links = links
        self.now = now
        self.progress = progress
        self.schema = target.schema.users
        self.names = target.names
        self.attributes = [a for a in matching_attributes(config.users.matching_rules) if a in self.schema.matchable]

    def run(self) -> Iterator[Finding]:
        self.progress(f"Checking the {self.names.service} credentials", 0)
        admin = self.target.authenticated_admin()
        people = self._people()
        self.progress(f"Reading the {self.names.container}", 0)
        accounts = [a for a in self.target.iter_accounts() if a.status != AccountStatus.REMOVED]
        admins = [a for a in accounts if a.is_admin and a.status == AccountStatus.ACTIVE]
        owner_of = {link.target_id: uid for uid, link in self.links.items()}
        label_of = {a.id: a.label for a in accounts}
        # the member each source user is linked to, by its address where it is still on the team
        linked_to = {uid: label_of.get(link.target_id, link.target_label or link.target_id)
                     for uid, link in self.links.items()}
        by_value = self._index(people)
        for done, account in enumerate(accounts, start=1):
            yield self._sort(account, admin, admins, people, owner_of, linked_to, by_value)
            if done % 1000 == 0:
                self.progress(f"Sorting the members of the {self.names.container}", done)

    # ------------------------------------------------------------------ the source, all of it
    def _people(self) -> dict[str, _Person]:
        reader = SourceReader(self.source, self.config, progress=lambda phase: self.progress(phase, 0),
                              checkpoint=lambda: None)
        read = reader.full()
        users_of = expand_groups(read.memberships, self.config.expand_nested_groups)
        groups_of = groups_by_user(users_of, read.assignments.groups)
        people = {}
        try:
            for uid, user in read.users.items():
                ev = evaluate_user(SourceUser(uid, user, "", frozenset(groups_of.get(uid, ()))), config=self.config,
                                   schema=self.target.schema, assignments=read.assignments,
                                   link=self.links.get(uid), now=self.now)
                mapped = ev.mapped or map_values(self.config.users, user_source_attributes(user), schema=self.schema,
                                                 now=self.now)
                values = (mapped.update if uid in self.links else mapped.create).values
                active = ev.counts_as_in_scope and ev.account_enabled is not False
                people[uid] = _Person(uid, ev.upn, ev.display_name, active,
                                      ev.decision.reason if not ev.decision.in_scope else
                                      "The user is disabled in Microsoft Entra ID.", values)
        finally:
            read.users.clear()  # (the scratch file goes, whatever stops the loop)
        return people

    def _index(self, people: Mapping[str, _Person]) -> dict[tuple[str, str], list[str]]:
        """(attribute, matching key) -> the source users with that mapped value."""
        index: dict[tuple[str, str], list[str]] = defaultdict(list)
        for person in people.values():
            for name in self.attributes:
                value = person.values.get(name)
                if value:
                    index[self.schema.key(name, str(value))].append(person.source_id)
        return index

    # ------------------------------------------------------------------ one member
    def _sort(self, account: Account, admin: Account, admins: list[Account], people: Mapping[str, _Person],
              owner_of: Mapping[str, str], linked_to: Mapping[str, str],
              by_value: Mapping[tuple[str, str], list[str]]) -> Finding:
        n = self.names
        if account.id == admin.id:
            return Finding(PROTECTED, account, note=f"The {n.container} admin who authorized the portal: never "
                                                    "suspended, removed or changed.")
        if len(admins) == 1 and admins[0].id == account.id:
            return Finding(PROTECTED, account, note=f"The last {n.container} admin: never suspended or removed.")
        owner = owner_of.get(account.id)
        if owner is not None:
            return self._linked(account, people.get(owner), owner)
        for name in self.attributes:
            value = account.values.get(name)
            candidates = list(dict.fromkeys(by_value.get(self.schema.key(name, str(value)), []))) if value else []
            if not candidates:
                continue
            if len(candidates) > 1:
                return Finding(CONFLICT, account, matched_by=name, note=(
                    f"{len(candidates)} users of Microsoft Entra ID have this {name}: "
                    + ", ".join(people[c].upn or c for c in candidates[:5]) + ". None is matched until one remains."))
            person = people[candidates[0]]
            found = Finding(WILL_MATCH, account, person.source_id, person.upn, person.name, matched_by=name)
            elsewhere = linked_to.get(person.source_id)
            if elsewhere is not None and owner_of.get(account.id) != person.source_id:
                found.category = CONFLICT
                found.note = (f"{person.upn or person.name} is already linked to another {n.account} "
                              f"({elsewhere}): an address reused after someone left?")
            elif not person.in_scope:
                found.category = OUT_OF_SCOPE
                found.note = person.scope_reason
            else:
                found.note = f"The next cycle links it to {person.upn or person.name} by {name} and brings it in step."
            return found
        return Finding(ORPHAN, account, note=f"No user of Microsoft Entra ID matches it by "
                                             f"{' or '.join(self.attributes) or 'any matching attribute'}.")

    def _linked(self, account: Account, person: _Person | None, owner: str) -> Finding:
        n = self.names
        if person is None:
            return Finding(LINKED, account, owner, matched_by="link", note=(
                "Linked to a user who is no longer in Microsoft Entra ID: the next cycle deprovisions it as the "
                "Settings say."))
        found = Finding(LINKED, account, owner, person.upn, person.name, matched_by="link")
        if not person.in_scope:
            found.note = f"{person.scope_reason} The next cycle deprovisions it as the Settings say."
            return found
        found.differences = self.schema.changes(person.values, account.values)
        if found.differences:
            found.category = DRIFTED
            found.note = (f"Changed in {n.service} by hand or not yet in step: "
                          + ", ".join(name for name, _, _ in found.differences)
                          + ". The next cycle writes the mapped values back.")
        return found

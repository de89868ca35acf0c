"""One provisioning cycle: read the source, decide scope, map, match, plan and
execute, writing links, logs and counters as it goes.

A **full** cycle (the initial one, or after a restart or a configuration change)
reads every user and group through a Graph delta round, which also starts the
delta links; an **incremental** cycle reads only what changed since those links
and acts only on the users and groups the changes touch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.utils import timezone

from ..connectors.dropbox import DropboxConnector, Group, Member
from ..connectors.entra import EntraConnector
from ..connectors.errors import NotFoundError
from ..constants import Action, CycleKind, ObjectType
from .config import EngineConfig, graph_select
from .execution import Executor, Result
from .mapping import group_source_attributes, map_object, user_source_attributes
from .planning import LinkInfo, Plan, plan_group, plan_user, step
from .scope import Assignments, Decision, expand_groups, group_decision, user_decision
from .store import Store

log = logging.getLogger(__name__)

RECORD_EVERY = 500
WRITE_FAILURE_QUARANTINE_RATIO = 0.4
WRITE_FAILURE_QUARANTINE_MINIMUM = 5


@dataclass
class Outcome:
    """What a cycle did, for the job's state, notifications and previews."""

    kind: str
    counters: dict = field(default_factory=dict)
    plans: list[Plan] = field(default_factory=list)
    writes: int = 0
    write_failures: int = 0
    staged: int = 0
    staged_reason: str = ""
    user_delta_link: str | None = None
    group_delta_link: str | None = None
    top_error: str = ""

    @property
    def failure_ratio(self) -> float:
        return self.write_failures / self.writes if self.writes else 0.0

    @property
    def should_quarantine_for_failures(self) -> bool:
        return self.writes >= WRITE_FAILURE_QUARANTINE_MINIMUM and self.failure_ratio > WRITE_FAILURE_QUARANTINE_RATIO


class MemberIndex:
    """Dropbox members by team member id, email (case-insensitive) and external id."""

    def __init__(self, members: Iterable[Member] = ()):
        self.by_id: dict[str, Member] = {}
        self.by_email: dict[str, Member] = {}
        self.by_external: dict[str, Member] = {}
        for member in members:
            self.add(member)

    def add(self, member: Member) -> None:
        self.by_id[member.team_member_id] = member
        self.by_email[member.email.lower()] = member
        if member.external_id:
            self.by_external[member.external_id] = member


class GroupIndex:
    def __init__(self, groups: Iterable[Group] = ()):
        self.by_id: dict[str, Group] = {}
        self.by_name: dict[str, Group] = {}
        self.by_external: dict[str, Group] = {}
        for group in groups:
            self.by_id[group.group_id] = group
            self.by_name[group.name.lower()] = group
            if group.external_id:
                self.by_external[group.external_id] = group


class MembershipView:
    """Direct members of groups as this cycle sees them: the stored snapshot, with the
    cycle's changes laid over it in memory. The snapshot itself is written only when the
    cycle commits, so a cycle that stops or fails leaves it as the delta links expect."""

    def __init__(self, store: Store, *, replaced: dict[str, dict[str, set[str]]] | None = None,
                 added: list[tuple[str, str, str]] = (), removed: list[tuple[str, str]] = (),
                 dropped: set[str] = frozenset()):
        self.store = store
        #: groups read afresh in this cycle: {gid: {"user": {...}, "group": {...}}}
        self.replaced = replaced or {}
        self.dropped = set(dropped)
        # Changes to a group read afresh are already in what was read.
        self.added = [(g, m, k) for g, m, k in added if g not in self.replaced]
        self.removed = [(g, m) for g, m in removed if g not in self.replaced]

    def members_of(self, group_ids: Iterable[str]) -> dict[str, dict[str, set[str]]]:
        ids = set(group_ids)
        members = self.store.members_of(ids - set(self.replaced) - self.dropped)
        result = {gid: {"user": set(members[gid]["user"]), "group": set(members[gid]["group"])}
                  for gid in ids - set(self.replaced) - self.dropped}
        for gid in ids & set(self.replaced):
            result[gid] = {"user": set(self.replaced[gid]["user"]), "group": set(self.replaced[gid]["group"])}
        for gid in ids & self.dropped:
            result[gid] = {"user": set(), "group": set()}
        for gid, mid, kind in self.added:
            if gid in result and gid not in self.dropped:
                result[gid][kind].add(mid)
        for gid, mid in self.removed:
            if gid in result:
                result[gid]["user"].discard(mid)
                result[gid]["group"].discard(mid)
        return result

    def groups_of(self, user_ids: Iterable[str]) -> dict[str, set[str]]:
        ids = set(user_ids)
        groups = {uid: set(gids) - set(self.replaced) - self.dropped
                  for uid, gids in self.store.memberships_of(ids).items()}
        for gid, table in self.replaced.items():
            for uid in table["user"] & ids:
                groups.setdefault(uid, set()).add(gid)
        for gid, mid, kind in self.added:
            if kind == "user" and mid in ids and gid not in self.dropped:
                groups.setdefault(mid, set()).add(gid)
        for gid, mid in self.removed:
            if mid in groups:
                groups[mid].discard(gid)
        return groups

    def everything(self) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        users, groups = self.store.all_memberships()
        for gid in set(self.replaced) | self.dropped:
            users.pop(gid, None)
            groups.pop(gid, None)
        for gid, table in self.replaced.items():
            users[gid], groups[gid] = set(table["user"]), set(table["group"])
        for gid, mid, kind in self.added:
            if gid not in self.dropped:
                (groups if kind == "group" else users).setdefault(gid, set()).add(mid)
        for gid, mid in self.removed:
            users.get(gid, set()).discard(mid)
            groups.get(gid, set()).discard(mid)
        return users, groups


class Cycle:
    """Runs one cycle. Build it with the connectors, the configuration and a store;
    call :meth:`run`, then :meth:`commit_snapshots` when the job's state is settled."""

    def __init__(self, config: EngineConfig, source: EntraConnector, target: DropboxConnector, store: Store, *,
                 kind: str, user_delta_link: str = "", group_delta_link: str = "", allow_deletes: bool = False,
                 allowed_deletes: int | None = None, dry_run: bool = False, now: datetime | None = None,
                 max_workers: int = 24):
        self.config = config
        self.source = source
        self.target = target
        self.store = store
        self.kind = kind
        self.full = kind != CycleKind.INCREMENTAL
        self.user_delta_link = user_delta_link
        self.group_delta_link = group_delta_link
        self.allow_deletes = allow_deletes
        #: how many disables and deletes the administrator allowed (None: as many as planned)
        self.allowed_deletes = allowed_deletes
        self.dry_run = dry_run
        self.now = now or timezone.now()
        self.outcome = Outcome(kind=kind)
        self.max_workers = max_workers
        self.executor = Executor(target, config, max_workers=max_workers, should_stop=store.stop_requested)
        self._soft_deleted: set[str] | None = None
        #: users whose link was made or dropped in this cycle: their groups' members change
        self.relinked_users: set[str] = set()
        #: users planned as in scope (not the plans: an "already suspended" member is not in scope)
        self.in_scope_users = 0
        #: Dropbox team member id -> the source user it is linked to
        self.owner_of: dict[str, str] = {}
        self._errors: dict[str, int] = defaultdict(int)
        #: the source snapshot this cycle read, written by commit_snapshots() with the delta links
        self.snapshot: dict = {}

    # ================================================================== entry point
    def run(self) -> Outcome:
        # One cheap call first: a revoked authorization, or an admin who lost the role, stops the
        # cycle before anything is read or written, and is never mistaken for "nothing changed".
        self.store.set_phase("Checking the Dropbox credentials")
        admin = self.target.authenticated_admin()
        self.config = replace(self.config, protected_member_id=admin.team_member_id)
        self.executor.config = self.config
        if self.full:
            user_plans, group_work = self._plan_full()
        else:
            user_plans, group_work = self._plan_incremental()
        self._stage_if_needed(user_plans)
        self.store.in_scope = len(user_plans)
        self._execute(user_plans, "Provisioning users")
        if group_work:
            group_plans = self._stage_groups(self._plan_groups(*group_work), user_plans)
            self.store.in_scope = len(user_plans) + len(group_plans)
            self._execute(group_plans, "Provisioning groups")
        self.outcome.counters = {a: dict(s) for a, s in self.store.counters.items()}
        if self._errors:
            self.outcome.top_error = max(self._errors.items(), key=lambda item: item[1])[0]
        return self.outcome

    def commit_snapshots(self) -> None:
        """Write the assignments and group members this cycle read. Called with the delta
        links, so the snapshot and the links always describe the same moment."""
        snapshot, store = self.snapshot, self.store
        if not snapshot or self.dry_run:
            return
        store.replace_assignments(snapshot["assignments"])
        if "all_members" in snapshot:
            store.replace_memberships(*snapshot["all_members"])
            return
        view: MembershipView = snapshot["view"]
        if view.replaced:
            store.replace_group_memberships(set(view.replaced), {g: t["user"] for g, t in view.replaced.items()},
                                            {g: t["group"] for g, t in view.replaced.items()})
        store.apply_membership_changes(view.added, view.removed, view.dropped)

    # ================================================================== full cycle
    def _plan_full(self):
        store, config = self.store, self.config
        store.set_phase("Reading assignments from Microsoft Entra ID")
        assignment_rows = list(self.source.iter_assignments(config.service_principal_id))
        assignments = Assignments.from_rows(assignment_rows)

        store.set_phase("Reading users from Microsoft Entra ID")
        # Take the delta links first, then read everything with the biggest pages Graph allows:
        # a change made during the read is seen again by the next round, never lost.
        user_select = graph_select(config.users.source_attributes())
        self.outcome.user_delta_link = self.source.latest_delta_link("users", select=user_select)
        users: dict[str, dict] = {}
        for user in self.source.iter_users(select=user_select):
            users[user["id"]] = user
            if len(users) % 5000 == 0:
                store.checkpoint()

        store.set_phase("Reading groups from Microsoft Entra ID")
        group_attrs, user_members, group_members = self._read_groups(assignments)
        users_of = expand_groups(user_members, group_members, config.expand_nested_groups)
        groups_of: dict[str, set[str]] = defaultdict(set)
        for gid in assignments.groups:
            for uid in users_of.get(gid, ()):
                groups_of[uid].add(gid)

        store.set_phase("Reading the Dropbox team")
        index = MemberIndex(self.target.iter_members())
        links = store.links(ObjectType.USER)
        self.owner_of = {link.target_id: uid for uid, link in links.items()}
        candidates = set(users) if config.scope == "all" else set(assignments.users) | set(groups_of)

        store.set_phase("Planning")
        plans: list[Plan] = []
        for uid in sorted(candidates | set(links)):
            user, link = users.get(uid), links.get(uid)
            if user is None:
                if link is None:
                    continue  # an assigned principal that is not a user of this tenant (or gone and never linked)
                soft = uid in self._soft_deleted_ids()
                plans.append(self._plan_one_user(uid, None, assignments, set(), link, index,
                                                 soft_deleted=soft, hard_deleted=not soft))
            else:
                plans.append(self._plan_one_user(uid, user, assignments, groups_of.get(uid, set()), link, index))
            if len(plans) % 5000 == 0:
                store.checkpoint()

        if self.in_scope_users == 0 and any(link.state == "active" for link in links.values()):
            self.outcome.staged_reason = (
                "Microsoft Entra ID returned no users in scope, while the portal has provisioned "
                f"{len(links)} users. Nothing was disabled or deleted: an empty answer is not taken to mean that "
                "everyone left. If everyone really left, select Allow deletes."
            )
        self.snapshot = {"assignments": assignment_rows, "all_members": (user_members, group_members)}
        group_work = (group_attrs, assignments, users_of, None) if config.groups.enabled else None
        return plans, group_work

    def _read_groups(self, assignments: Assignments):
        """Every group's attributes, and the members of the groups that matter: the assigned
        ones (with their nested groups, when those count)."""
        select = graph_select(self.config.groups.source_attributes())
        self.outcome.group_delta_link = self.source.latest_delta_link("groups", select=select)
        group_attrs = {group["id"]: group for group in self.source.iter_groups(select=select)}
        user_members, group_members = self._read_members(set(assignments.groups) & set(group_attrs))
        return group_attrs, user_members, group_members

    def _read_members(self, group_ids: set[str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """Direct members of groups, 20 groups per $batch; nested groups are followed when they count.
        A group deleted while it is read has no members."""
        user_members: dict[str, set[str]] = {}
        group_members: dict[str, set[str]] = {}
        pending, seen = set(group_ids), set()
        while pending:
            seen |= pending
            for gid in pending:
                user_members.setdefault(gid, set())
                group_members.setdefault(gid, set())
            for gid, member in self.source.iter_members_of_groups(sorted(pending)):
                is_group = member.get("@odata.type", "").endswith("group")
                (group_members if is_group else user_members)[gid].add(member["id"])
            nested = {child for gid in pending for child in group_members.get(gid, ())}
            pending = (nested - seen) if self.config.expand_nested_groups else set()
        return user_members, group_members

    def _soft_deleted_ids(self) -> set[str]:
        """Users in the tenant's recycle bin (read once, only when a linked user is missing)."""
        if self._soft_deleted is None:
            self._soft_deleted = {
                item["id"] for item in self.source.iter_collection(
                    "directory/deletedItems/microsoft.graph.user", params={"$select": "id", "$top": 999})
            }
        return self._soft_deleted

    # ================================================================== incremental cycle
    def _plan_incremental(self):
        store, config = self.store, self.config
        store.set_phase("Reading assignments from Microsoft Entra ID")
        assignment_rows = list(self.source.iter_assignments(config.service_principal_id))
        assignments = Assignments.from_rows(assignment_rows)
        previous_rows = store.assignments()
        previous = Assignments.from_rows(previous_rows).fingerprint()
        current = assignments.fingerprint()
        changed_principals = {pid for pid in set(previous) | set(current) if previous.get(pid) != current.get(pid)}
        previous_groups = _groups_of_rows(previous_rows)
        if config.scope == "assigned" and previous_rows and not assignment_rows:
            self.outcome.staged_reason = (
                f"Microsoft Entra ID returned no assignments for the application, while it had "
                f"{len(previous_rows)} in the last cycle. Nothing was disabled or deleted: an empty answer is not "
                "taken to mean that everyone left. If every assignment was really removed, select Allow deletes."
            )

        store.set_phase("Reading changed users from Microsoft Entra ID")
        changed_users: dict[str, dict] = {}
        removed_users: dict[str, str] = {}
        user_round = self.source.users_delta(delta_link=self.user_delta_link)
        for user in user_round:
            if "@removed" in user:
                removed_users[user["id"]] = user["@removed"].get("reason", "changed")
                changed_users.pop(user["id"], None)
            else:
                removed_users.pop(user["id"], None)
                changed_users.setdefault(user["id"], {}).update(user)
        self.outcome.user_delta_link = user_round.delta_link

        store.set_phase("Reading changed groups from Microsoft Entra ID")
        changed_groups: dict[str, dict] = {}
        removed_groups: set[str] = set()
        added: list[tuple[str, str, str]] = []
        removed: list[tuple[str, str]] = []
        group_round = self.source.groups_delta(delta_link=self.group_delta_link)
        for group in group_round:
            gid = group["id"]
            if "@removed" in group:
                removed_groups.add(gid)
                continue
            changed_groups.setdefault(gid, {}).update({k: v for k, v in group.items() if k != "members@delta"})
            for member in group.get("members@delta", []):
                kind = "group" if member.get("@odata.type", "").endswith("group") else "user"
                if "@removed" in member:
                    removed.append((gid, member["id"]))
                else:
                    added.append((gid, member["id"], kind))
        self.outcome.group_delta_link = group_round.delta_link

        # Members are kept for assigned groups (and, when nesting counts, the groups inside them):
        # the members of a group just assigned, or just nested, are read now.
        to_read = set(assignments.groups) - previous_groups - removed_groups
        if config.expand_nested_groups:
            to_read |= {mid for _, mid, kind in added if kind == "group"} - removed_groups
        fresh_users, fresh_groups = self._read_members(to_read) if to_read else ({}, {})
        view = MembershipView(store, replaced={gid: {"user": fresh_users.get(gid, set()),
                                                     "group": fresh_groups.get(gid, set())}
                                               for gid in set(fresh_users) | set(fresh_groups)},
                              added=added, removed=removed, dropped=removed_groups)
        before_view = MembershipView(store)
        self.snapshot = {"assignments": assignment_rows, "view": view}

        # Users the changes touch.
        affected: set[str] = set(changed_users) | set(removed_users)
        membership_groups = {gid for gid, _, _ in added} | {gid for gid, _ in removed} | removed_groups
        affected |= {mid for _, mid, kind in added if kind == "user"} | {mid for _, mid in removed}
        changed_group_assignments = {pid for pid in changed_principals if pid in assignments.groups or
                                     pid in previous_groups}
        affected |= {pid for pid in changed_principals if pid not in changed_group_assignments}
        users_of_assigned: dict[str, set[str]] | None = None
        if config.expand_nested_groups and (membership_groups or changed_group_assignments or to_read):
            before = expand_groups(*before_view.everything(), True)
            after = expand_groups(*view.everything(), True)
            for gid in set(assignments.groups) | changed_group_assignments:
                affected |= before.get(gid, set()) ^ after.get(gid, set())
                if gid in changed_group_assignments:
                    affected |= after.get(gid, set()) | before.get(gid, set())
            users_of_assigned = {gid: after.get(gid, set()) for gid in assignments.groups}
        else:
            # Members before the change (a deleted group's members were its members) and after it.
            before_members = before_view.members_of(changed_group_assignments | removed_groups)
            after_members = view.members_of(changed_group_assignments)
            for table in (before_members, after_members):
                for members in table.values():
                    affected |= members["user"]
        due = store.due_escrows(self.now)
        affected |= set(due.get(ObjectType.USER, ()))
        if config.users.allow_delete and config.delete_after_days is not None:
            affected |= set(store.links_past_grace(config.delete_after_days, self.now))

        store.set_phase("Planning")
        plans = self._plan_users_by_id(affected, changed_users, removed_users, assignments, users_of_assigned, view)
        group_work = None
        if config.groups.enabled:
            touched_groups = (set(changed_groups) | removed_groups | membership_groups | changed_group_assignments |
                              set(due.get(ObjectType.GROUP, ())))
            group_work = (changed_groups, assignments, users_of_assigned,
                          {"touched": touched_groups, "removed": removed_groups, "view": view})
        return plans, group_work

    def _plan_users_by_id(self, affected: set[str], changed_users: dict[str, dict], removed_users: dict[str, str],
                          assignments: Assignments, users_of_assigned: dict[str, set[str]] | None,
                          view: MembershipView) -> list[Plan]:
        if not affected:
            return []
        links = self.store.links_for(ObjectType.USER, affected)
        # Attributes of affected users the delta did not carry (a membership or assignment change).
        missing = [uid for uid in affected if uid not in changed_users and uid not in removed_users]
        fetched, not_found = self._fetch_users(missing)
        if users_of_assigned is None:
            groups_of = {uid: {g for g in gids if g in assignments.groups}
                         for uid, gids in view.groups_of(affected).items()}
        else:
            groups_of = defaultdict(set)
            for gid, uids in users_of_assigned.items():
                for uid in uids & affected:
                    groups_of[uid].add(gid)
        # Look up the Dropbox members behind links, and by their matching values those of the users
        # in scope (a changed user the application does not cover costs no call), in batches.
        in_scope = {uid for uid in affected if (changed_users.get(uid) or fetched.get(uid)) and user_decision(
            self.config, user_source_attributes(changed_users.get(uid) or fetched[uid]), assignments,
            groups_of.get(uid, set())).in_scope}
        index = self._lookup_members(in_scope, links, changed_users, fetched)
        plans = []
        for uid in sorted(affected):
            link = links.get(uid)
            if uid in removed_users or uid in not_found:
                if link is None:
                    continue
                reason = removed_users.get(uid, "changed")
                plans.append(self._plan_one_user(uid, None, assignments, set(), link, index,
                                                 soft_deleted=reason != "deleted", hard_deleted=reason == "deleted"))
            else:
                user = changed_users.get(uid) or fetched[uid]
                plans.append(self._plan_one_user(uid, user, assignments, groups_of.get(uid, set()), link, index))
        return plans

    def _fetch_users(self, ids: list[str]) -> tuple[dict[str, dict], set[str]]:
        select = ",".join(graph_select(self.config.users.source_attributes()) +
                          ["id", "userPrincipalName", "displayName", "accountEnabled", "mail"])
        select = ",".join(dict.fromkeys(select.split(",")))
        fetched, missing = {}, set()
        for start in range(0, len(ids), 20):
            chunk = ids[start:start + 20]
            try:
                answers = self.source.batch_get({uid: f"/users/{uid}?$select={select}" for uid in chunk})
                fetched.update(answers)
            except NotFoundError:
                for uid in chunk:  # one of them is gone: ask one by one
                    try:
                        fetched[uid] = self.source.get_user(uid, select.split(","))
                    except NotFoundError:
                        missing.add(uid)
        return fetched, missing

    def _lookup_members(self, wanted: set[str], links: dict[str, LinkInfo], changed: dict[str, dict],
                        fetched: dict[str, dict]) -> MemberIndex:
        """The Dropbox members behind ``links``, and those matching the users in ``wanted``."""
        selectors: list[tuple[str, str]] = [("team_member_id", link.target_id) for link in links.values()]
        for uid in wanted:
            if uid in links:
                continue
            user = changed.get(uid) or fetched.get(uid)
            if not user:
                continue
            mapped = map_object(self.config.users, user_source_attributes(user), creating=True, now=self.now)
            for rule in self.config.users.matching_rules:
                value = mapped.values.get(rule.target)
                if value and rule.target == "email":
                    selectors.append(("email", value))
                elif value and rule.target == "externalId":
                    selectors.append(("external_id", value))
        index = MemberIndex()
        if selectors:
            for member in self.target.get_members(selectors).values():
                # A removed (recoverable) member is not on the team: it is not matched.
                if member is not None and member.status != "removed":
                    index.add(member)
        # Which of them the portal already linked, to whom.
        self.owner_of.update(self.store.link_owners(ObjectType.USER, index.by_id))
        return index

    # ================================================================== one user
    def _plan_one_user(self, uid: str, user: dict | None, assignments: Assignments, groups: set[str],
                       link: LinkInfo | None, index: MemberIndex, *, soft_deleted: bool = False,
                       hard_deleted: bool = False) -> Plan:
        config = self.config
        display = (user or {}).get("displayName") or (link.display_name if link else "") or uid
        upn = (user or {}).get("userPrincipalName") or (link.user_principal_name if link else "")
        steps = [import_step(uid, user, upn, hard_deleted)]
        if user is None:
            what = "permanently deleted" if hard_deleted else "deleted (in the recycle bin)"
            decision = Decision(False, "SourceDeleted" if hard_deleted else "SourceSoftDeleted",
                                f"The user was {what}.")
            mapped = None
            attributes = {}
        else:
            attributes = user_source_attributes(user)
            decision = user_decision(config, attributes, assignments, groups)
            mapped = map_object(config.users, attributes, creating=True, now=self.now) if decision.in_scope else None
        steps.append(scope_step(decision))
        if decision.in_scope and not (soft_deleted or hard_deleted):
            self.in_scope_users += 1

        target, matched_by = self._match(link, mapped.values if mapped else {}, index)
        owner = self.owner_of.get(target.team_member_id) if target is not None else None
        if owner is not None and owner != uid:
            # The email (say) now belongs to someone else in Entra ID, but its Dropbox member is linked
            # to the user who had it: never hand one member to two users.
            steps.append(step("Match user between source and target system", "Skipped",
                              f"The Dropbox member {target.email} is linked to another Microsoft Entra ID user.",
                              teamMemberId=target.team_member_id, linkedTo=owner))
            plan = Plan(ObjectType.USER, Action.SKIP, uid, display_name=display, upn=upn,
                        code="TargetLinkedToAnotherUser", link=False,
                        reason=f"The Dropbox member {target.email} is linked to another Microsoft Entra ID user "
                               f"({owner}); it is not given to a second one.",
                        recommendation="If the other user left, let its deprovisioning finish (or remove the member "
                                       "in Dropbox); then this user is provisioned by the next cycle.")
            plan.steps = steps
            return plan
        if target is not None and mapped is not None and mapped.ok:
            mapped = map_object(config.users, attributes, creating=False, now=self.now)
        if target is None:
            match_text = "No Dropbox member matches the user." if link is None else \
                "The linked Dropbox member no longer exists."
        else:
            match_text = f"Matched Dropbox member {target.email} by {matched_by}."
        steps.append(step("Match user between source and target system", "Success", match_text,
                          matchedBy=matched_by, teamMemberId=target.team_member_id if target else None,
                          memberStatus=target.status if target else None))
        plan = plan_user(
            config=config, source_id=uid, display_name=display, upn=upn, decision=decision, mapped=mapped,
            account_enabled=(user or {}).get("accountEnabled"), soft_deleted=soft_deleted,
            hard_deleted=hard_deleted, link=link, target=target, matched_by=matched_by, now=self.now, full=self.full,
        )
        plan.steps = steps
        return plan

    def _match(self, link: LinkInfo | None, values: dict, index: MemberIndex) -> tuple[Member | None, str]:
        if link is not None:
            member = index.by_id.get(link.target_id)
            if member is not None:
                return member, "link"
        for rule in self.config.users.matching_rules:
            value = values.get(rule.target)
            if not value:
                continue
            if rule.target == "email":
                member = index.by_email.get(value.lower())
            elif rule.target == "externalId":
                member = index.by_external.get(value)
            else:
                member = None
            if member is not None:
                return member, rule.target
        return None, ""

    # ================================================================== groups
    def _plan_groups(self, group_attrs: dict[str, dict], assignments: Assignments,
                     users_of: dict[str, set[str]] | None, incremental: dict | None) -> list[Plan]:
        store, config = self.store, self.config
        store.set_phase("Planning groups")
        group_links = store.links(ObjectType.GROUP)
        if incremental is None:
            candidates = set(group_attrs) if config.scope == "all" else set(assignments.groups)
            candidates |= set(group_links)
            removed: set[str] = set()
        else:
            view: MembershipView = incremental["view"]
            touched = set(incremental["touched"])
            # Groups whose provisioned members changed because users were just created or removed.
            if users_of is None:
                for gids in view.groups_of(self.relinked_users).values():
                    touched |= gids
            else:
                touched |= {gid for gid, uids in users_of.items() if uids & self.relinked_users}
            candidates = {g for g in touched if g in assignments.groups or g in group_links}
            removed = set(incremental["removed"])
            if not candidates:
                return []
            # Attributes: a group the delta carried is known. Another linked group needs no read while
            # the group mappings and filters read nothing but its name; otherwise it is read, so a filter
            # on, say, its description never sees a group without one.
            attribute_names = config.groups.source_attributes() - {"objectId", "displayName", "members"}
            unread = sorted(gid for gid in candidates if gid not in group_attrs and gid not in removed
                            and (gid not in group_links or attribute_names))
            found, gone = self._read_group_attributes(unread)
            group_attrs.update(found)
            removed |= gone
            for gid in candidates - set(group_attrs) - removed:
                group_attrs[gid] = {"id": gid, "displayName": group_links[gid].display_name}
            if users_of is None:
                members = view.members_of(candidates)
                users_of = {gid: members[gid]["user"] for gid in candidates}
        dropbox_groups = GroupIndex(self.target.iter_groups())
        wanted_users = set().union(*(users_of.get(gid, set()) for gid in candidates)) if users_of else set()
        target_of = {uid: link.target_id for uid, link in store.links_for(ObjectType.USER, wanted_users).items()}
        protected = self.config.protected_member_id

        plans = []
        for gid in sorted(candidates):
            link = group_links.get(gid)
            attrs = group_attrs.get(gid)
            deleted = gid in removed or attrs is None
            attributes = group_source_attributes(attrs or {"id": gid})
            decision = group_decision(config, attributes, assignments)
            mapped = map_object(config.groups, attributes, creating=link is None, now=self.now) \
                if decision.in_scope and not deleted else None
            target = dropbox_groups.by_id.get(link.target_id) if link is not None else None
            if target is None and mapped is not None:
                name = (mapped.values.get("groupName") or "").lower()
                target = dropbox_groups.by_name.get(name) or dropbox_groups.by_external.get(
                    mapped.values.get("externalId") or "\0")
            # The portal manages only the members it linked, and never the admin who authorized it.
            desired = {target_of[u] for u in users_of.get(gid, set()) if u in target_of} - {protected}
            current = None
            if target is not None and decision.in_scope and not deleted:
                in_group = set(self.target.iter_group_members(target.group_id))
                current = (in_group & store.linked_target_ids(in_group)) - {protected}
            plan = plan_group(config=config, source_id=gid, display_name=(attrs or {}).get("displayName") or
                              (link.display_name if link else gid), decision=decision, mapped=mapped,
                              deleted=deleted, link=link, target=target, desired_members=desired,
                              current_members=current, full=self.full)
            plan.values = {**(plan.values or {}), "members": sorted(desired)} if decision.in_scope else plan.values
            plan.steps = [
                step("Import group", "Success", f"Retrieved group {plan.display_name} from Microsoft Entra ID."
                     if not deleted else f"The group {plan.display_name} was deleted in Microsoft Entra ID."),
                step("Determine if group is in scope", decision.step_status, decision.reason),
                step("Match group between source and target system", "Success",
                     f"Matched Dropbox group {target.name}." if target else "No Dropbox group matches the group."),
            ]
            plans.append(plan)
        return plans

    def _read_group_attributes(self, group_ids: list[str]) -> tuple[dict[str, dict], set[str]]:
        """Groups' attributes, 20 per $batch; the ids of groups that no longer exist."""
        select = ",".join(dict.fromkeys(["id", "displayName", *graph_select(self.config.groups.source_attributes())]))
        found: dict[str, dict] = {}
        gone: set[str] = set()
        for start in range(0, len(group_ids), 20):
            chunk = group_ids[start:start + 20]
            answers, missing = self.source.batch_get(
                {gid: f"/groups/{gid}?$select={select}" for gid in chunk}, missing_ok=True)
            found.update(answers)
            gone |= missing
        return found, gone

    # ================================================================== safety and execution
    def _stage_if_needed(self, plans: list[Plan]) -> None:
        destructive = [p for p in plans if p.destructive]
        over_threshold = (self.config.prevent_accidental_deletion and len(destructive) > self.config.deletion_threshold
                          and (not self.allow_deletes or
                               (self.allowed_deletes is not None and len(destructive) > self.allowed_deletes)))
        suspicious = bool(self.outcome.staged_reason) and not self.allow_deletes
        if not destructive or not (over_threshold or suspicious):
            self.outcome.staged_reason = ""
            return
        if not suspicious:
            more = (f" (more than the {self.allowed_deletes} an administrator allowed)"
                    if self.allow_deletes and self.allowed_deletes is not None else "")
            self.outcome.staged_reason = (
                f"This cycle would disable or delete {len(destructive)} users, more than the accidental-deletion "
                f"threshold of {self.config.deletion_threshold}{more}. Nothing was disabled or deleted. Review the "
                "staged actions in the provisioning logs, then select Allow deletes to run them, or fix the cause "
                "(assignments, scoping filters) and Restart provisioning."
            )
        for plan in destructive:
            plan.action = Action.STAGED_DELETE if plan.action == Action.DELETE else Action.STAGED_DISABLE
            plan.code = "StagedForDeletionThreshold"
            plan.reason = f"{plan.reason} Staged: waiting for an administrator to allow deletes."
            plan.link, plan.newly_linked, plan.log = True, False, True
        self.outcome.staged = len(destructive)

    def _stage_groups(self, plans: list[Plan], user_plans: list[Plan]) -> list[Plan]:
        """Keep staged users in their Dropbox groups, and stage group deletions with the users'
        (or on their own, when more groups than the threshold would go)."""
        staged_members = {p.target_id for p in user_plans if p.action in (Action.STAGED_DELETE, Action.STAGED_DISABLE)}
        deletes = [p for p in plans if p.action == Action.DELETE]
        stage_deletes = bool(staged_members) or (
            self.config.prevent_accidental_deletion and not self.allow_deletes
            and len(deletes) > self.config.deletion_threshold)
        for plan in plans:
            if staged_members and plan.remove_members:
                plan.remove_members = [m for m in plan.remove_members if m not in staged_members]
                plan.changes = [c for c in plan.changes if not (c[0] == "members" and c[1])]
                if plan.remove_members:
                    plan.changes.append(("members", f"-{len(plan.remove_members)}", None))
                if plan.action == Action.UPDATE and not (plan.changes or plan.add_members):
                    plan.action, plan.log = Action.OTHER, False
            if plan.action == Action.DELETE and stage_deletes:
                plan.action, plan.code, plan.link = Action.STAGED_DELETE, "StagedForDeletionThreshold", True
                plan.reason = f"{plan.reason} Staged: waiting for an administrator to allow deletes."
                self.outcome.staged += 1
        if stage_deletes and deletes and not self.outcome.staged_reason:
            self.outcome.staged_reason = (
                f"This cycle would delete {len(deletes)} Dropbox groups, more than the accidental-deletion threshold "
                f"of {self.config.deletion_threshold}. Nothing was deleted. Review the staged actions in the "
                "provisioning logs, then select Allow deletes to run them."
            )
        return plans

    def _execute(self, plans: list[Plan], phase: str) -> None:
        """Send the writes, and record every result that came back, whatever stops the loop: a
        write that reached Dropbox always gets its link and its log."""
        store = self.store
        store.set_phase(phase)
        self.relinked_users |= {p.source_id for p in plans if p.object_type == ObjectType.USER and (
            p.newly_linked or p.action in (Action.CREATE, Action.DELETE))}
        if self.dry_run:
            self.outcome.plans.extend(plans)
            for plan in plans:
                store.counters[plan.action]["Planned"] += 1
            store.processed += len(plans)
            return
        quiet = [p for p in plans if not p.writes]
        for start in range(0, len(quiet), RECORD_EVERY * 4):
            store.record([], quiet[start:start + RECORD_EVERY * 4])
        buffer: list[Result] = []
        try:
            # The executor stops taking new work when asked to stop, when the lease is lost or when
            # the credentials are rejected, and drains what is in flight before this loop ends.
            for result in self.executor.run(p for p in plans if p.writes):
                buffer.append(result)
                self.outcome.writes += 1
                if not result.ok:
                    self.outcome.write_failures += 1
                    if result.error is not None:
                        self._errors[result.error.message] += 1
                if len(buffer) >= RECORD_EVERY:
                    store.record(buffer)
                    buffer = []
                else:
                    store.flush()
        finally:
            if buffer:
                store.record(buffer)
        if self.executor.fatal is not None:
            raise self.executor.fatal
        store.checkpoint()


def import_step(uid: str, user: dict | None, upn: str, hard_deleted: bool) -> dict:
    if user is None:
        what = "permanently deleted" if hard_deleted else "deleted (in the recycle bin)"
        return step("Import user", "Success", f"The user {upn or uid} was {what} in Microsoft Entra ID.")
    return step("Import user", "Success", f"Retrieved {upn or uid} from Microsoft Entra ID.",
                accountEnabled=user.get("accountEnabled"), department=user.get("department"))


def scope_step(decision: Decision) -> dict:
    return step("Determine if user is in scope", decision.step_status, decision.reason)


def _groups_of_rows(rows: list[dict]) -> set[str]:
    return {row["principalId"] for row in rows if row["principalType"] == "Group"}


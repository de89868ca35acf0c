"""The pipeline every object goes through, whoever asks (a cycle, a preview,
provision on demand): evaluate (scope and mapped values, once) → match against
an index of the target → plan.

The target is read here (its accounts, or the accounts behind links and
matching values; its groups and their members) before planning, which is pure."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from ..constants import ObjectType
from ..targets.base import TargetConnector
from .evaluate import Evaluation, SourceGroup, SourceUser, evaluate_group, evaluate_user
from .matching import Match, TargetIndex, matching_attributes, selectors
from .planning import PlanContext, plan_group, plan_user
from .reading import CHECKPOINT_EVERY
from .scope import Assignments
from .store import Store
from .types import LinkInfo, Plan


class Pipeline:
    """Plans users and groups for one cycle (or one on-demand run)."""

    def __init__(self, ctx: PlanContext, target: TargetConnector, store: Store):
        self.ctx = ctx
        self.target = target
        self.store = store
        self.schema = target.schema
        #: users evaluated as in scope and present, across calls (an empty read is judged by it)
        self.in_scope_users = 0

    # ------------------------------------------------------------------ users
    def team_index(self, links: Mapping[str, LinkInfo]) -> TargetIndex:
        """Every account of the target, with the source users the portal linked them to."""
        index = TargetIndex(self.schema.users, self.target.iter_accounts())
        index.owners = {link.target_id: uid for uid, link in links.items()}
        return index

    def lookup_index(self, evaluations: Iterable[Evaluation], links: Mapping[str, LinkInfo]) -> TargetIndex:
        """The accounts behind these users' links, and those their matching values find, looked up
        in batches (a user the application does not cover costs no call)."""
        attributes = matching_attributes(self.ctx.config.users.matching_rules)
        wanted: list[tuple[str, str]] = []
        for ev in evaluations:
            link = links.get(ev.source_id)
            if link is not None or ev.decision.in_scope:
                values = ev.mapped.create.values if ev.mapped else {}
                wanted += selectors(link, values, attributes, self.schema.users)
        index = TargetIndex(self.schema.users)
        if wanted:
            for account in self.target.find(wanted).values():
                if account is not None:
                    index.add(account)
        index.owners = self.store.link_owners(ObjectType.USER, index.by_id)
        return index

    def evaluate_users(self, items: Iterable[SourceUser], assignments: Assignments,
                       links: Mapping[str, LinkInfo]) -> list[Evaluation]:
        return list(self.iter_evaluations(items, assignments, links))

    def iter_evaluations(self, items: Iterable[SourceUser], assignments: Assignments,
                         links: Mapping[str, LinkInfo]) -> Iterator[Evaluation]:
        """Each user evaluated as it is reached: with a team index, a user is planned before the next
        is evaluated, so the evaluations of a whole tenant are never held at once."""
        ctx = self.ctx
        for item in items:
            yield evaluate_user(item, config=ctx.config, schema=self.schema, assignments=assignments,
                                link=links.get(item.source_id), now=ctx.now)

    def plan_users(self, evaluations: Iterable[Evaluation], links: Mapping[str, LinkInfo],
                   index: TargetIndex | None = None) -> list[Plan]:
        """Plans for evaluated users; without ``index``, the accounts are looked up for them (and
        ``evaluations`` must be a list, read twice)."""
        if index is None:
            index = self.lookup_index(evaluations, links)
        return list(self.iter_plans(evaluations, links, index))

    def iter_plans(self, evaluations: Iterable[Evaluation], links: Mapping[str, LinkInfo],
                   index: TargetIndex) -> Iterator[Plan]:
        """A plan for each evaluated user as it is reached, matched against ``index``."""
        attributes = matching_attributes(self.ctx.config.users.matching_rules)
        for done, ev in enumerate(evaluations, start=1):
            link = links.get(ev.source_id)
            values = ev.mapped.create.values if ev.mapped else {}
            yield plan_user(self.ctx, ev, link, index.match(link, values, attributes))
            self.in_scope_users += ev.counts_as_in_scope
            if done % CHECKPOINT_EVERY == 0:
                self.store.checkpoint()

    def plan_user(self, item: SourceUser, assignments: Assignments) -> Plan:
        """The plan for one user (provision on demand), its account looked up by link or matching values."""
        links = self.store.links_for(ObjectType.USER, [item.source_id])
        return self.plan_users(self.evaluate_users([item], assignments, links), links)[0]

    # ------------------------------------------------------------------ groups
    def plan_group(self, item: SourceGroup, assignments: Assignments) -> Plan:
        """The plan for one group (provision on demand)."""
        return self.plan_groups([item], assignments, self.store.links_for(ObjectType.GROUP, [item.source_id]))[0]

    def plan_groups(self, items: Iterable[SourceGroup], assignments: Assignments,
                    links: Mapping[str, LinkInfo]) -> list[Plan]:
        """Plans for groups: their members are the linked accounts of their users."""
        ctx, schema = self.ctx, self.schema.groups
        items = list(items)
        if not items:
            return []  # an incremental cycle that touched no group reads none of the target's
        evaluations = [evaluate_group(item, config=ctx.config, schema=self.schema, assignments=assignments,
                                      link=links.get(item.source_id), now=ctx.now) for item in items]
        index = TargetIndex(schema, self.target.iter_groups())
        matches = [index.match(links.get(ev.source_id), self._group_values(ev, links), schema.matchable)
                   for ev in evaluations]
        desired = self._desired_members(items)
        current = self._current_members(evaluations, matches)
        return [plan_group(ctx, ev, links.get(ev.source_id), match, desired.get(ev.source_id),
                           current.get(ev.source_id)) for ev, match in zip(evaluations, matches)]

    @staticmethod
    def _group_values(ev: Evaluation, links: Mapping[str, LinkInfo]) -> dict:
        if ev.mapped is None:
            return {}
        return (ev.mapped.create if ev.source_id not in links else ev.mapped.update).values

    def _desired_members(self, items: list[SourceGroup]) -> dict[str, set[str]]:
        """The target accounts each group should hold: its users' linked accounts, never the
        admin who authorized the portal."""
        users = set().union(*(item.users for item in items)) if items else set()
        target_of = self.store.target_ids(ObjectType.USER, users)
        protected = self.ctx.config.protected_account_id
        return {item.source_id: {target_of[u] for u in item.users if u in target_of} - {protected}
                for item in items}

    def _current_members(self, evaluations: list[Evaluation], matches: list[Match]) -> dict[str, set[str]]:
        """The members the matched groups have now, of those the portal manages: the accounts it
        linked, never the admin who authorized it."""
        protected = self.ctx.config.protected_account_id
        current = {}
        for ev, match in zip(evaluations, matches):
            if match.target is None or not ev.decision.in_scope or ev.gone:
                continue
            in_group = set(self.target.iter_group_members(match.target.id))
            current[ev.source_id] = (in_group & self.store.linked_target_ids(in_group)) - {protected}
        return current

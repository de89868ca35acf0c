"""Planning, table by table: for each situation of a user or a group (its scope,
its link, the target account it matches), the one action the engine plans and
why. Pure functions against the in-memory Example target: no database, no HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from provisioning.constants import DEFAULT_ACCESS_ROLE_ID, Action, ObjectType, Scope
from provisioning.engine.config import EngineConfig
from provisioning.engine.evaluate import HARD_DELETED, SOFT_DELETED, SourceGroup, SourceUser, evaluate_group, \
    evaluate_user
from provisioning.engine.matching import TargetIndex, matching_attributes
from provisioning.engine.planning import PlanContext, plan_group, plan_user
from provisioning.engine.scope import Assignments
from provisioning.engine.types import LinkInfo
from provisioning.targets.base import AccountStatus
from tests.fakes import NAMES, SCHEMA, FakeTarget, engine_config, rules

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
ROLE = "role-user"


def user(uid: str = "u1", upn: str = "adele@example.org", **attributes) -> dict:
    return {"id": uid, "userPrincipalName": upn, "displayName": "Adele Vance", "givenName": "Adele",
            "surname": "Vance", "accountEnabled": True, **attributes}


def plan_for(*, source: dict | None = None, gone: str = "", assigned: str | None = ROLE, link: LinkInfo | None = None,
             target: FakeTarget | None = None, config: EngineConfig | None = None, full: bool = False,
             groups: frozenset = frozenset()):
    target = target or FakeTarget()
    config = replace(config or engine_config(), protected_account_id=target.admin.id)
    uid = (source or {}).get("id", "u1") if source else (link.source_id if link else "u1")
    rows = [{"principalId": uid, "principalType": "User", "appRoleId": assigned}] if assigned else []
    assignments = Assignments.from_rows(rows)
    ev = evaluate_user(SourceUser(uid, source, gone, groups), config=config, schema=SCHEMA,
                       assignments=assignments, link=link, now=NOW)
    index = TargetIndex(SCHEMA.users, target.accounts.values())
    if link is not None:
        index.owners[link.target_id] = link.source_id
    values = ev.mapped.create.values if ev.mapped else {}
    match = index.match(link, values, matching_attributes(config.users.matching_rules))
    return plan_user(PlanContext(config, SCHEMA, NAMES, NOW, full), ev, link, match)


def linked(target: FakeTarget, email: str = "adele@example.org", *, status: str = AccountStatus.ACTIVE,
           disabled_days: int | None = None, **values) -> LinkInfo:
    account = target.add_account(email, status=status, **{"givenName": "Adele", "surname": "Vance", "externalId": "u1",
                                                          **values})
    disabled_at = NOW - timedelta(days=disabled_days) if disabled_days is not None else None
    return LinkInfo("u1", account.id, state="disabled" if disabled_at else "active", disabled_at=disabled_at,
                    target_label=email)


# ---------------------------------------------------------------------------- users in scope
def test_it_creates_a_user_in_scope_with_no_account():
    plan = plan_for(source=user())
    assert (plan.action, plan.code) == (Action.CREATE, "")
    assert plan.values["email"] == "adele@example.org" and plan.values["externalId"] == "u1"
    assert plan.reason == "The user is in scope and has no Example account."
    assert [s["name"] for s in plan.steps] == ["Import user", "Determine if user is in scope",
                                               "Match user between source and target system"]


@pytest.mark.parametrize("source, config, code", [
    (user(givenName="x" * 21), None, "InvalidData"),
    (user(upn="not-an-email"), None, "InvalidData"),
    (user(upn=None), None, "MissingMatchingAttribute"),
    (user(accountEnabled=False), None, "SourceDisabled"),
    (user(), engine_config(users=rules(ObjectType.USER, allow_create=False)), "CreateDisabled"),
])
def test_it_skips_a_user_it_cannot_or_must_not_create(source, config, code):
    plan = plan_for(source=source, config=config)
    assert (plan.action, plan.code, plan.link) == (Action.SKIP, code, False)


def test_a_value_the_target_refuses_names_the_attribute():
    plan = plan_for(source=user(givenName="x" * 21))
    assert plan.field == "givenName" and "takes at most 20 characters" in plan.reason


def test_a_disabled_user_with_no_account_is_news_only_in_incremental_cycles():
    assert plan_for(source=user(accountEnabled=False), full=True).log is False
    assert plan_for(source=user(accountEnabled=False), full=False).log is True


@pytest.mark.parametrize("values, action, changes", [
    ({"givenName": "Adele"}, Action.OTHER, []),
    ({"givenName": "Adèle"}, Action.UPDATE, [("givenName", "Adèle", "Adele")]),
    ({"email": "ADELE@example.org"}, Action.OTHER, []),  # emails compare case-insensitively
])
def test_it_updates_only_attributes_that_differ(values, action, changes):
    target = FakeTarget()
    link = linked(target)
    target.accounts[link.target_id].values.update(values)
    plan = plan_for(source=user(), link=link, target=target)
    assert (plan.action, plan.changes) == (action, changes)


def test_an_update_switched_off_changes_nothing():
    target = FakeTarget()
    link = linked(target, givenName="Old")
    plan = plan_for(source=user(), link=link, target=target,
                    config=engine_config(users=rules(ObjectType.USER, allow_update=False)))
    assert (plan.action, plan.code) == (Action.OTHER, "NoChange")


def test_an_unchanged_user_is_logged_only_when_news():
    target = FakeTarget()
    link = linked(target)
    assert plan_for(source=user(), link=link, target=target, full=True).log is False
    assert plan_for(source=user(), link=link, target=target, full=False).log is True
    newly = plan_for(source=user(), target=target, full=True)
    assert newly.newly_linked and newly.log and "which is now linked" in newly.reason


def test_a_suspended_account_of_a_user_in_scope_is_enabled_or_skipped():
    target = FakeTarget()
    link = linked(target, status=AccountStatus.SUSPENDED)
    assert plan_for(source=user(), link=link, target=target).action == Action.ENABLE
    off = plan_for(source=user(), link=link, target=target,
                   config=engine_config(users=rules(ObjectType.USER, allow_update=False)))
    assert (off.action, off.code) == (Action.SKIP, "UpdateDisabled")


def test_a_disabled_user_is_suspended_only_when_the_portal_linked_it():
    target = FakeTarget()
    link = linked(target)
    assert plan_for(source=user(accountEnabled=False), link=link, target=target).action == Action.DISABLE
    unlinked = plan_for(source=user(accountEnabled=False), target=target)
    assert (unlinked.action, unlinked.code, unlinked.link) == (Action.SKIP, "NotLinked", False)


def test_the_admin_who_authorized_is_linked_but_never_changed():
    target = FakeTarget(admin_email="adele@example.org")
    plan = plan_for(source=user(givenName="Someone"), target=target)
    assert (plan.action, plan.code) == (Action.SKIP, "ProtectedAdmin")
    assert plan.link and plan.target_id == target.admin.id
    target.admin.values["externalId"] = "u1"
    quiet = plan_for(source=user(givenName="", surname=""), target=target)
    assert (quiet.action, quiet.code) == (Action.OTHER, "ProtectedAdmin")


def test_an_account_linked_to_another_user_is_never_given_to_a_second_one():
    target = FakeTarget()
    link = linked(target)
    newcomer = user(uid="u2")
    index_owner = LinkInfo("u1", link.target_id)
    config = replace(engine_config(), protected_account_id=target.admin.id)
    ev = evaluate_user(SourceUser("u2", newcomer), config=config, schema=SCHEMA,
                       assignments=Assignments.from_rows([{"principalId": "u2", "principalType": "User",
                                                           "appRoleId": ROLE}]), link=None, now=NOW)
    index = TargetIndex(SCHEMA.users, target.accounts.values())
    index.owners[index_owner.target_id] = "u1"
    match = index.match(None, ev.mapped.create.values, ["email"])
    plan = plan_user(PlanContext(config, SCHEMA, NAMES, NOW, False), ev, None, match)
    assert (plan.action, plan.code, plan.link, plan.target_id) == (Action.SKIP, "TargetLinkedToAnotherUser", False, "")


def test_matching_follows_the_precedence_of_the_matching_attributes():
    target = FakeTarget()
    by_email = target.add_account("adele@example.org")
    by_id = target.add_account("a.vance@example.org", externalId="u1")
    email_first = plan_for(source=user(), target=target)
    assert email_first.target_id == by_email.id
    id_first = rules(ObjectType.USER)
    id_first = replace(id_first, rules=tuple(
        replace(r, matching=True, precedence=1) if r.target == "externalId" else
        replace(r, precedence=2) if r.target == "email" else r for r in id_first.rules))
    assert plan_for(source=user(), target=target, config=engine_config(users=id_first)).target_id == by_id.id


# ---------------------------------------------------------------------------- users out of scope or gone
@pytest.mark.parametrize("assigned, code", [(None, "NotEffectivelyEntitled"), (DEFAULT_ACCESS_ROLE_ID,
                                                                                "DefaultAccessRole")])
def test_an_unassigned_user_is_suspended_when_linked_and_skipped_when_not(assigned, code):
    target = FakeTarget()
    link = linked(target)
    assert (plan_for(source=user(), assigned=assigned, link=link, target=target).action, code) == \
        (Action.DISABLE, code)
    skipped = plan_for(source=user(), assigned=assigned)
    assert (skipped.action, skipped.code) == (Action.SKIP, code)
    assert skipped.log == (assigned is not None), "only assigned users are worth a log row"


def test_a_scoping_filter_takes_a_user_out_of_scope():
    users = replace(rules(ObjectType.USER), filters=((("department", "EQUALS", "Sales"),),))
    plan = plan_for(source=user(department="Retail"), config=engine_config(users=users))
    assert (plan.action, plan.code) == (Action.SKIP, "ScopingFilter")
    assert plan_for(source=user(department="Sales"), config=engine_config(users=users)).action == Action.CREATE


def test_all_users_are_in_scope_when_the_scope_says_so():
    plan = plan_for(source=user(), assigned=None, config=engine_config(scope=Scope.ALL))
    assert plan.action == Action.CREATE


@pytest.mark.parametrize("gone, action, code", [
    (SOFT_DELETED, Action.DISABLE, "SourceSoftDeleted"),
    (HARD_DELETED, Action.DELETE, "SourceDeleted"),
])
def test_a_deleted_user_is_suspended_or_removed(gone, action, code):
    target = FakeTarget()
    plan = plan_for(source=None, gone=gone, link=linked(target), target=target)
    assert (plan.action, plan.code) == (action, code)


def test_a_hard_deleted_user_is_only_suspended_when_delete_is_off():
    target = FakeTarget()
    plan = plan_for(source=None, gone=HARD_DELETED, link=linked(target), target=target,
                    config=engine_config(users=rules(ObjectType.USER, allow_delete=False)))
    assert plan.action == Action.DISABLE


def test_a_deleted_user_whose_account_vanished_drops_its_link():
    target = FakeTarget()
    link = LinkInfo("u1", "acc-gone", target_label="adele@example.org")
    plan = plan_for(source=None, gone=SOFT_DELETED, link=link, target=target)
    assert (plan.action, plan.code, plan.link) == (Action.OTHER, "TargetGone", False)


@pytest.mark.parametrize("days, grace, action", [(31, 30, Action.DELETE), (29, 30, Action.OTHER),
                                                 (0, 0, Action.DELETE), (400, None, Action.OTHER)])
def test_a_suspended_member_is_removed_once_the_grace_period_is_over(days, grace, action):
    target = FakeTarget()
    link = linked(target, status=AccountStatus.SUSPENDED, disabled_days=days)
    plan = plan_for(source=user(), assigned=None, link=link, target=target,
                    config=engine_config(delete_after_days=grace))
    assert plan.action == action
    if action == Action.OTHER:
        assert plan.code == "AlreadyDisabled" and plan.log is False


@pytest.mark.parametrize("allow_removal, action, code", [(False, Action.SKIP, "InvitedMemberNotSuspended"),
                                                         (True, Action.DELETE, "NotEffectivelyEntitled")])
def test_an_invited_account_cannot_be_suspended(allow_removal, action, code):
    target = FakeTarget()
    link = linked(target, status=AccountStatus.INVITED)
    plan = plan_for(source=user(), assigned=None, link=link, target=target,
                    config=engine_config(remove_invited_members=allow_removal))
    assert (plan.action, plan.code) == (action, code)
    assert plan.remove_instead == allow_removal


def test_the_admin_who_authorized_is_never_suspended():
    target = FakeTarget(admin_email="adele@example.org")
    link = LinkInfo("u1", target.admin.id, target_label="adele@example.org")
    plan = plan_for(source=user(), assigned=None, link=link, target=target)
    assert (plan.action, plan.code) == (Action.SKIP, "ProtectedAdmin")


# ---------------------------------------------------------------------------- groups
def group_plan(*, group: dict | None = None, deleted: bool = False, assigned: bool = True,
               link: LinkInfo | None = None, target: FakeTarget | None = None, desired=None, current=None,
               config: EngineConfig | None = None):
    target = target or FakeTarget()
    config = config or engine_config(groups=rules(ObjectType.GROUP))
    rows = [{"principalId": "g1", "principalType": "Group", "appRoleId": ROLE}] if assigned else []
    ev = evaluate_group(SourceGroup("g1", group, deleted), config=config, schema=SCHEMA,
                        assignments=Assignments.from_rows(rows), link=link, now=NOW)
    index = TargetIndex(SCHEMA.groups, target.groups.values())
    values = (ev.mapped.create if link is None else ev.mapped.update).values if ev.mapped else {}
    match = index.match(link, values, SCHEMA.groups.matchable)
    return plan_group(PlanContext(config, SCHEMA, NAMES, NOW, False), ev, link, match, desired, current)


SALES = {"id": "g1", "displayName": "Sales"}


def test_it_creates_an_assigned_group_with_its_members():
    plan = group_plan(group=SALES, desired={"acc-2", "acc-3"})
    assert (plan.action, plan.add_members) == (Action.CREATE, ["acc-2", "acc-3"])
    assert plan.values["members"] == ["acc-2", "acc-3"]


def test_it_matches_a_group_by_name_and_changes_only_its_members():
    target = FakeTarget()
    existing = target.add_group("sales")
    plan = group_plan(group={"id": "g1", "displayName": "sales"}, target=target, desired={"a", "b"}, current={"b", "c"})
    assert (plan.action, plan.target_id) == (Action.UPDATE, existing.id)
    assert (plan.add_members, plan.remove_members) == (["a"], ["c"])
    assert ("members", None, "+1") in plan.changes and ("members", "-1", None) in plan.changes


def test_a_renamed_group_is_renamed():
    target = FakeTarget()
    existing = target.add_group("Sales", "g1")
    link = LinkInfo("g1", existing.id)
    plan = group_plan(group={"id": "g1", "displayName": "Sales EMEA"}, target=target, link=link, desired=set(),
                      current=set())
    assert (plan.action, plan.changes) == (Action.UPDATE, [("groupName", "Sales", "Sales EMEA")])


@pytest.mark.parametrize("setup, action, code", [
    ({"deleted": True}, Action.DELETE, "SourceDeleted"),
    ({"assigned": False}, Action.DELETE, "NotEffectivelyEntitled"),
    ({"deleted": True, "config": engine_config(groups=rules(ObjectType.GROUP, allow_delete=False))},
     Action.SKIP, "DeleteDisabled"),
])
def test_a_linked_group_that_leaves_is_deleted_unless_delete_is_off(setup, action, code):
    target = FakeTarget()
    existing = target.add_group("Sales")
    plan = group_plan(group=None if setup.get("deleted") else SALES, target=target, link=LinkInfo("g1", existing.id),
                      **setup)
    assert (plan.action, plan.code) == (action, code)


def test_a_group_whose_target_vanished_drops_its_link():
    plan = group_plan(group=SALES, assigned=False, link=LinkInfo("g1", "grp-gone"))
    assert (plan.action, plan.code, plan.link, plan.log) == (Action.OTHER, "TargetGone", False, True)


def test_a_group_not_assigned_is_not_news():
    plan = group_plan(group=SALES, assigned=False)
    assert (plan.action, plan.code, plan.log) == (Action.SKIP, "NotEffectivelyEntitled", False)


def test_create_switched_off_skips_a_new_group():
    plan = group_plan(group=SALES, config=engine_config(groups=rules(ObjectType.GROUP, allow_create=False)))
    assert (plan.action, plan.code) == (Action.SKIP, "CreateDisabled")

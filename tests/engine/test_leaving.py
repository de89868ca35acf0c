"""What leaving means, chosen per cause in the Settings: for each way a user
leaves (unassigned, out of the scoping filters, disabled, soft-deleted,
permanently deleted) and each choice (suspend, remove at once, do nothing), the
action planned, and how the removal is sent. Pure planning against the
in-memory Example target."""

from __future__ import annotations

from dataclasses import replace

import pytest

from provisioning.constants import Action, LeaveAction, LeaveCause, ObjectType
from provisioning.engine.evaluate import HARD_DELETED, SOFT_DELETED
from provisioning.engine.execution import removal_options
from provisioning.targets.base import AccountStatus
from tests.engine.test_planning import linked, plan_for, user
from tests.fakes import FakeTarget, engine_config, rules

SCOPING = ((("department", "EQUALS", "Sales"),),)


def leaving(cause: str, choice: str | None, *, status: str = AccountStatus.ACTIVE, disabled_days: int | None = None,
            **config_changes):
    """The plan for a linked user who leaves for ``cause`` with ``choice`` in the Settings (None: the default)."""
    target = FakeTarget()
    link = linked(target, status=status, disabled_days=disabled_days)
    actions = config_changes.pop("actions", {})
    filters = SCOPING if cause == LeaveCause.OUT_OF_SCOPE else ()
    if choice is not None:
        config_changes["leave_actions"] = ((cause, choice),)
    config = engine_config(users=rules(ObjectType.USER, filters=filters, **actions), **config_changes)
    source, gone, assigned = user(department="Sales"), "", "role-user"
    if cause == LeaveCause.UNASSIGNED:
        assigned = None
    elif cause == LeaveCause.OUT_OF_SCOPE:
        source = user(department="Marketing")
    elif cause == LeaveCause.DISABLED:
        source = user(department="Sales", accountEnabled=False)
    elif cause == LeaveCause.SOFT_DELETED:
        source, gone = None, SOFT_DELETED
    else:
        source, gone = None, HARD_DELETED
    return plan_for(source=source, gone=gone, assigned=assigned, link=link, target=target, config=config)


CAUSES = [LeaveCause.UNASSIGNED, LeaveCause.OUT_OF_SCOPE, LeaveCause.DISABLED, LeaveCause.SOFT_DELETED,
          LeaveCause.HARD_DELETED]
CODES = {LeaveCause.UNASSIGNED: "NotEffectivelyEntitled", LeaveCause.OUT_OF_SCOPE: "ScopingFilter",
         LeaveCause.DISABLED: "SourceDisabled", LeaveCause.SOFT_DELETED: "SourceSoftDeleted",
         LeaveCause.HARD_DELETED: "SourceDeleted"}


@pytest.mark.parametrize("cause", CAUSES)
def test_suspend_suspends_and_keeps_the_link(cause):
    plan = leaving(cause, LeaveAction.SUSPEND)
    assert (plan.action, plan.code, plan.link) == (Action.DISABLE, CODES[cause], True)
    assert plan.reason.endswith("The member is suspended; it is removed after 30 days unless the user comes back.")


@pytest.mark.parametrize("cause", CAUSES)
def test_suspend_removes_once_the_grace_period_is_over(cause):
    plan = leaving(cause, LeaveAction.SUSPEND, status=AccountStatus.SUSPENDED, disabled_days=31)
    assert (plan.action, plan.link) == (Action.DELETE, False)
    assert plan.reason.endswith("The grace period is over: the member is removed.")
    kept = leaving(cause, LeaveAction.SUSPEND, status=AccountStatus.SUSPENDED, disabled_days=31,
                   delete_after_days=None)
    assert (kept.action, kept.code, kept.log) == (Action.OTHER, "AlreadyDisabled", False)


@pytest.mark.parametrize("cause", CAUSES)
def test_remove_removes_at_once(cause):
    plan = leaving(cause, LeaveAction.REMOVE)
    assert (plan.action, plan.code, plan.link, plan.remove_instead) == (Action.DELETE, CODES[cause], False, False)
    assert plan.reason.endswith("The Settings say to remove the member at once.")


@pytest.mark.parametrize("cause", CAUSES)
def test_do_nothing_leaves_the_member_as_it_is_and_linked(cause):
    plan = leaving(cause, LeaveAction.NOTHING)
    assert (plan.action, plan.code, plan.link, plan.log) == (Action.SKIP, CODES[cause], True, True)
    assert plan.reason.endswith(f"The Settings say to do nothing when a user {LeaveCause(cause).label}: "
                                "the Example account is left as it is.")
    # even a suspended member past the grace period is not removed
    past = leaving(cause, LeaveAction.NOTHING, status=AccountStatus.SUSPENDED, disabled_days=400)
    assert past.action == Action.SKIP


def test_the_defaults_suspend_what_leaves_and_remove_what_is_gone_for_good():
    assert [leaving(cause, None).action for cause in CAUSES] == [Action.DISABLE] * 4 + [Action.DELETE]


def test_remove_with_delete_switched_off_suspends_and_says_why():
    plan = leaving(LeaveCause.UNASSIGNED, LeaveAction.REMOVE, actions={"allow_delete": False})
    assert plan.action == Action.DISABLE
    assert "Delete is switched off in the target object actions, so the member is suspended instead." in plan.reason


def test_an_invited_member_is_withdrawn_on_remove_and_left_alone_on_nothing():
    removed = leaving(LeaveCause.UNASSIGNED, LeaveAction.REMOVE, status=AccountStatus.INVITED)
    assert (removed.action, removed.remove_instead) == (Action.DELETE, True)
    left = leaving(LeaveCause.UNASSIGNED, LeaveAction.NOTHING, status=AccountStatus.INVITED)
    assert left.action == Action.SKIP


def test_the_authorizing_admin_is_never_touched_whatever_the_choice():
    target = FakeTarget()
    link = replace(linked(target, email="other@example.org"), target_id=target.admin.id)
    config = engine_config(leave_actions=((LeaveCause.UNASSIGNED, LeaveAction.REMOVE),))
    plan = plan_for(source=user(), assigned=None, link=link, target=target, config=config)
    assert (plan.action, plan.code) == (Action.SKIP, "ProtectedAdmin")


def test_a_change_of_choice_is_a_configuration_change():
    assert engine_config().fingerprint() != engine_config(
        leave_actions=((LeaveCause.DISABLED, LeaveAction.NOTHING),)).fingerprint()


# ---------------------------------------------------------------------------- how a removal is sent
@pytest.mark.parametrize("settings, wipe, transfer, keep", [
    ({}, False, None, False),
    ({"wipe_devices_on_remove": True}, True, None, False),
    ({"transfer_files_to": "admin-1"}, False, "admin-1", False),
    # a kept account keeps its files and devices: Dropbox refuses either with keep_account
    ({"keep_account_on_remove": True, "transfer_files_to": "admin-1", "wipe_devices_on_remove": True},
     False, None, True),
])
def test_removal_options_follow_the_settings(settings, wipe, transfer, keep):
    options = removal_options(engine_config(**settings), "member-9")
    assert (options.wipe_data, options.transfer_to, options.keep_account) == (wipe, transfer, keep)


def test_a_withdrawn_invitation_and_the_transfer_admin_itself_move_no_files():
    config = engine_config(transfer_files_to="admin-1", keep_account_on_remove=True)
    withdrawn = removal_options(config, "member-9", withdrawn_invitation=True)
    assert (withdrawn.transfer_to, withdrawn.keep_account, withdrawn.wipe_data) == (None, False, False)
    assert removal_options(engine_config(transfer_files_to="admin-1"), "admin-1").transfer_to is None

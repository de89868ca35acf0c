"""The emulator keeps a journal of every change made through the API (a private
control route, for tests that count the writes that reached the team)."""

from __future__ import annotations

from dropbox import team as T


def test_the_seed_is_not_in_the_journal(emulator):
    assert emulator.journal() == []


def test_each_change_is_journaled_once_with_the_member_or_group_it_changed(emulator, dbx):
    [added] = dbx.team_members_add_v2([T.MemberAddV2Arg("jane.doe@contoso.com")]).get_complete()
    jane = added.get_success().profile.team_member_id
    dbx.team_members_add_v2([T.MemberAddV2Arg("adele.vance@contoso.com")])  # already on the team: no change
    user = T.UserSelectorArg.team_member_id(jane)
    dbx.team_members_set_profile_v2(user, new_given_name="Jane")
    group = dbx.team_groups_create("Sales")
    dbx.team_groups_members_add(T.GroupSelector.group_id(group.group_id),
                                [T.MemberAccess(user, T.GroupAccessType.member)])
    alex = dbx.team_members_get_info_v2([T.UserSelectorArg.email("alex.wilber@contoso.com")]).members_info[0]
    alex_id = alex.get_member_info().profile.team_member_id
    dbx.team_members_suspend(T.UserSelectorArg.team_member_id(alex_id))
    dbx.team_members_unsuspend(T.UserSelectorArg.team_member_id(alex_id))
    assert emulator.journal() == [
        ("members/add", jane), ("members/set_profile", jane), ("groups/create", group.group_id),
        ("groups/members/add", f"{group.group_id} {jane}"), ("members/suspend", alex_id),
        ("members/unsuspend", alex_id),
    ]
    emulator.reset("demo")
    assert emulator.journal() == []

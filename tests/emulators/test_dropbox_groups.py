"""Groups: create, list, get, update and delete; their members; company-managed
and system-managed groups; and the jobs that group changes start."""

from __future__ import annotations

import pytest
from dropbox import team as T
from dropbox import team_common
from dropbox.exceptions import ApiError

Sel = T.UserSelectorArg
G = T.GroupSelector


def group_named(dbx, name):
    return next(g for g in dbx.team_groups_list().groups if g.group_name == name)


def refusal(call, *args, **kwargs):
    with pytest.raises(ApiError) as refused:
        call(*args, **kwargs)
    return refused.value.error


def member(email, access="member"):
    return T.MemberAccess(Sel.email(email), T.GroupAccessType(access))


def test_it_lists_the_seeded_groups(emulator, dbx):
    strict = emulator.strict(T.groups_list, {"limit": 2})
    rest = emulator.strict(T.groups_list_continue, {"cursor": strict.cursor})

    summaries = strict.groups + rest.groups
    assert [(g.group_name, g.group_management_type._tag, g.member_count) for g in summaries] == [
        ("Everyone at Contoso", "system_managed", 8),
        ("Marketing", "company_managed", 2),
        ("Project Falcon", "user_managed", 3),
    ]
    assert strict.has_more and not rest.has_more
    assert all(g.group_id.startswith("g:") for g in summaries)
    by_sdk = dbx.team_groups_list(limit=1)
    # The cursor keeps the page size it was made with.
    second = dbx.team_groups_list_continue(by_sdk.cursor)
    assert ([g.group_name for g in second.groups], second.has_more) == (["Marketing"], True)
    with pytest.raises(ApiError) as refused:
        dbx.team_groups_list_continue("garbage")
    assert refused.value.error.is_invalid_cursor()


def test_it_creates_a_group(emulator, dbx):
    created = emulator.strict(T.groups_create, T.GroupCreateArg(
        "Sales", group_external_id="aad-sales", group_management_type=team_common.GroupManagementType.user_managed,
    ))

    assert (created.group_name, created.group_external_id, created.member_count) == ("Sales", "aad-sales", 0)
    assert created.group_management_type.is_user_managed()
    assert created.created > 0
    by_default = dbx.team_groups_create("Finance", add_creator_as_owner=True)
    assert by_default.group_management_type.is_company_managed()
    assert [(m.profile.email, m.access_type._tag) for m in by_default.members] == [("admin@contoso.com", "owner")]


def test_it_refuses_group_names_and_external_ids_in_use_and_invalid_names(dbx):
    dbx.team_groups_create("Sales", group_external_id="aad-sales")

    assert refusal(dbx.team_groups_create, "SALES").is_group_name_already_used()
    assert refusal(dbx.team_groups_create, "Other", group_external_id="aad-sales").is_external_id_already_in_use()
    assert refusal(dbx.team_groups_create, "   ").is_group_name_invalid()
    system = team_common.GroupManagementType.system_managed
    assert refusal(dbx.team_groups_create, "System", group_management_type=system).is_system_managed_group_disallowed()


def test_it_gets_groups_by_id_and_external_id(emulator, dbx):
    sales = dbx.team_groups_create("Sales", group_external_id="aad-sales")
    marketing = group_named(dbx, "Marketing")

    by_id = emulator.strict(T.groups_get_info, {".tag": "group_ids", "group_ids": [marketing.group_id, "g:nope"]})
    by_external = dbx.team_groups_get_info(T.GroupsSelector.group_external_ids(["aad-sales"]))

    full = by_id[0].get_group_info()
    assert full.group_name == "Marketing"
    assert sorted(m.profile.email for m in full.members) == ["alex.wilber@contoso.com", "megan.bowen@contoso.com"]
    assert by_id[1].get_id_not_found() == "g:nope"
    assert by_external[0].get_group_info().group_id == sales.group_id


def test_it_updates_a_group(emulator, dbx):
    falcon = group_named(dbx, "Project Falcon")

    updated = emulator.strict(T.groups_update, T.GroupUpdateArgs(
        G.group_id(falcon.group_id), new_group_name="Project Hawk", new_group_external_id="aad-hawk",
        new_group_management_type=team_common.GroupManagementType.company_managed,
    ))

    assert (updated.group_name, updated.group_external_id) == ("Project Hawk", "aad-hawk")
    assert updated.group_management_type.is_company_managed()
    # Only admins manage a company-managed group: its owner became a plain member.
    assert {m.access_type._tag for m in updated.members} == {"member"}
    assert refusal(dbx.team_groups_update, G.group_id(falcon.group_id), new_group_name="marketing"
                   ).is_group_name_already_used()
    assert refusal(dbx.team_groups_update, G.group_external_id("nope"), new_group_name="X").is_group_not_found()
    everyone = group_named(dbx, "Everyone at Contoso")
    assert refusal(dbx.team_groups_update, G.group_id(everyone.group_id), new_group_name="All"
                   ).is_system_managed_group_disallowed()


def test_it_deletes_a_group_once(emulator, dbx):
    marketing = group_named(dbx, "Marketing")

    assert emulator.strict(T.groups_delete, {".tag": "group_id", "group_id": marketing.group_id}).is_complete()

    assert refusal(dbx.team_groups_delete, G.group_id(marketing.group_id)).is_group_already_deleted()
    assert refusal(dbx.team_groups_delete, G.group_id("g:0000")).is_group_not_found()
    everyone = group_named(dbx, "Everyone at Contoso")
    assert refusal(dbx.team_groups_delete, G.group_id(everyone.group_id)).is_system_managed_group_disallowed()
    alex = next(m for m in emulator.state()["members"] if m["email"] == "alex.wilber@contoso.com")
    assert alex["groups"] == ["Everyone at Contoso"]


def test_it_adds_and_removes_members_at_once_with_the_legacy_job_id(emulator, dbx):
    emulator.configure(async_job_seconds=60)  # however long jobs take: these changes are not jobs
    falcon = group_named(dbx, "Project Falcon")

    added = emulator.strict(T.groups_members_add, T.GroupMembersAddArg(
        G.group_id(falcon.group_id), [member("megan.bowen@contoso.com", "owner")],
    ))

    assert added.group_info.member_count == 4
    members = [(m.profile.email, m.access_type._tag) for m in added.group_info.members]
    assert ("megan.bowen@contoso.com", "owner") in members
    # "For legacy purposes async_job_id will always return one space": it names no job
    assert added.async_job_id == " "
    assert refusal(dbx.team_groups_job_status_get, added.async_job_id).is_invalid_async_job_id()
    listed = dbx.team_groups_members_list(G.group_id(falcon.group_id))
    assert "megan.bowen@contoso.com" in [m.profile.email for m in listed.members], "in the group at once"

    removed = emulator.strict(T.groups_members_remove, T.GroupMembersRemoveArg(
        G.group_id(falcon.group_id), [Sel.email("megan.bowen@contoso.com")],
    ))
    assert removed.group_info.member_count == 3 and removed.async_job_id == " "
    again = dbx.team_groups_members_add(G.group_id(falcon.group_id), [member("megan.bowen@contoso.com")])
    assert again.group_info.member_count == 4
    dbx.team_groups_members_remove(G.group_id(falcon.group_id), [Sel.email("megan.bowen@contoso.com")])
    assert refusal(dbx.team_groups_job_status_get, "dbjid:nope").is_invalid_async_job_id()
    megan = next(m for m in emulator.state()["members"] if m["email"] == "megan.bowen@contoso.com")
    assert megan["groups"] == ["Everyone at Contoso", "Marketing"]


def test_it_refuses_member_changes_the_group_cannot_take(emulator, dbx):
    marketing = group_named(dbx, "Marketing")
    everyone = group_named(dbx, "Everyone at Contoso")
    dbx.team_members_remove(Sel.email("former.employee@contoso.com"))

    def add(*members, group=marketing):
        return refusal(dbx.team_groups_members_add, G.group_id(group.group_id), list(members))

    assert add(member("alex.wilber@contoso.com")).is_duplicate_user()
    assert add(member("nobody@contoso.com")).get_users_not_found() == ["nobody@contoso.com"]
    assert add(member("former.employee@contoso.com")).get_members_not_in_team() == ["former.employee@contoso.com"]
    assert add(member("adele.vance@contoso.com", "owner")).get_user_cannot_be_manager_of_company_managed_group() == [
        "adele.vance@contoso.com"]
    assert add(member("adele.vance@contoso.com"), group=everyone).is_system_managed_group_disallowed()
    assert refusal(dbx.team_groups_members_add, G.group_id("g:nope"), [member("adele.vance@contoso.com")]
                   ).is_group_not_found()
    assert refusal(dbx.team_groups_members_remove, G.group_id(marketing.group_id),
                   [Sel.email("adele.vance@contoso.com")]).is_member_not_in_group()


def test_it_lets_only_active_members_manage_a_user_managed_group(dbx):
    falcon = group_named(dbx, "Project Falcon")

    error = refusal(dbx.team_groups_members_add, G.group_id(falcon.group_id),
                    [member("lynne.robbins@contoso.com", "owner")])

    assert error.is_user_must_be_active_to_be_owner()


def test_it_lists_a_groups_members_in_pages(emulator, dbx):
    falcon = group_named(dbx, "Project Falcon")

    first = emulator.strict(T.groups_members_list, {"group": {".tag": "group_id", "group_id": falcon.group_id},
                                                    "limit": 2})
    rest = emulator.strict(T.groups_members_list_continue, {"cursor": first.cursor})
    by_sdk = dbx.team_groups_members_list(G.group_id(falcon.group_id), limit=2)
    assert [m.profile.email for m in dbx.team_groups_members_list_continue(by_sdk.cursor).members] == [
        "contractor.lee@contoso.com"]

    emails = [m.profile.email for m in first.members + rest.members]
    assert emails == ["admin@contoso.com", "adele.vance@contoso.com", "contractor.lee@contoso.com"]
    assert first.has_more and not rest.has_more
    assert refusal(dbx.team_groups_members_list, G.group_id("g:nope")).is_group_not_found()
    assert refusal(dbx.team_groups_members_list_continue, "garbage").is_invalid_cursor()
    everyone = dbx.team_groups_members_list(G.group_id(group_named(dbx, "Everyone at Contoso").group_id))
    assert len(everyone.members) == 8

"""``members/list_v2`` and ``members/list/continue_v2``: pages, cursors,
removed members, and the limits of ``limit``."""

from __future__ import annotations

import pytest
from dropbox import team as T
from dropbox.exceptions import ApiError, BadInputError

from emulators import demo


def all_pages(dbx, **kwargs) -> list[str]:
    page = dbx.team_members_list_v2(**kwargs)
    emails = [m.profile.email for m in page.members]
    while page.has_more:
        page = dbx.team_members_list_continue_v2(page.cursor)
        emails += [m.profile.email for m in page.members]
    return emails


def test_it_lists_the_whole_team_in_pages(emulator, dbx):
    expected = [m["email"] for m in emulator.state()["members"]]

    emails = all_pages(dbx, limit=3)

    assert emails == expected
    assert emails[:2] == [demo.DEMO_ADMIN["email"], demo.DEMO_NON_ADMIN["email"]]
    assert len(emails) == 2 + len(demo.DEMO_SHARED) + len(demo.DEMO_DROPBOX_ONLY)


def test_it_answers_pages_that_decode_strictly(emulator):
    first = emulator.strict(T.members_list_v2, {"limit": 4})
    rest = emulator.strict(T.members_list_continue_v2, {"cursor": first.cursor})

    assert len(first.members) == 4 and first.has_more
    assert len(rest.members) == 4 and not rest.has_more
    admin = first.members[0]
    assert admin.profile.status.is_active()
    assert [r.name for r in admin.roles] == ["Team admin"]
    assert admin.profile.member_folder_id.isdigit() and admin.profile.root_folder_id.isdigit()
    suspended = next(m for m in first.members + rest.members if m.profile.email == "lynne.robbins@contoso.com")
    assert suspended.profile.status.is_suspended() and suspended.profile.suspended_on is not None


def test_it_leaves_out_removed_members_unless_asked(emulator, dbx):
    dbx.team_members_remove(T.UserSelectorArg.email("former.employee@contoso.com"), wipe_data=True)

    default = all_pages(dbx)
    with_removed = dbx.team_members_list_v2(include_removed=True)

    assert "former.employee@contoso.com" not in default
    removed = [m.profile for m in with_removed.members if m.profile.email == "former.employee@contoso.com"]
    assert len(removed) == 1
    assert removed[0].status.is_removed()
    assert removed[0].status.get_removed().is_recoverable is True
    assert removed[0].status.get_removed().is_disconnected is False


def test_it_keeps_the_include_removed_choice_in_the_cursor(emulator, dbx):
    dbx.team_members_remove(T.UserSelectorArg.email("former.employee@contoso.com"))

    assert "former.employee@contoso.com" in all_pages(dbx, limit=2, include_removed=True)


def test_it_refuses_an_invalid_cursor(dbx):
    with pytest.raises(ApiError) as refused:
        dbx.team_members_list_continue_v2("not-a-cursor")

    assert refused.value.error.is_invalid_cursor()


def test_it_refuses_a_limit_outside_1_to_1000(emulator, dbx):
    too_small = emulator.call("team/members/list_v2", {"limit": 0})
    too_large = emulator.call("team/members/list_v2", {"limit": 1001})
    with pytest.raises(BadInputError):
        dbx.request_json_string_with_retry("api", "team/members/list_v2", "rpc", '{"limit": 0}', "team", None)

    assert too_small.status_code == 400
    assert too_small.text == ('Error in call to API function "team/members/list_v2": '
                              "request body: limit: 0 is not within range [1, 1000]")
    assert too_large.status_code == 400


def test_it_pages_a_large_team_quickly(emulator, dbx):
    emulator.reset("bulk:3000")

    page = dbx.team_members_list_v2(limit=1000)
    count = len(page.members)
    while page.has_more:
        page = dbx.team_members_list_continue_v2(page.cursor)
        count += len(page.members)

    assert count == emulator.state()["team"]["members"] == 3008

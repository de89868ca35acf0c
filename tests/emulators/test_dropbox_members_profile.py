"""``members/get_info_v2`` and ``members/set_profile_v2``: selecting members by
id, email or external id, and every refusal of a profile change."""

from __future__ import annotations

import pytest
from dropbox import team as T
from dropbox.exceptions import ApiError

Sel = T.UserSelectorArg


@pytest.fixture
def megan(dbx):
    """Megan Bowen, given an external id so she can be selected by it."""
    info = dbx.team_members_set_profile_v2(Sel.email("megan.bowen@contoso.com"), new_external_id="aad-megan")
    return info.member_info.profile


def refusal(call, *args, **kwargs):
    with pytest.raises(ApiError) as refused:
        call(*args, **kwargs)
    return refused.value.error


def test_it_finds_members_by_id_email_and_external_id(dbx, megan):
    result = dbx.team_members_get_info_v2([
        Sel.team_member_id(megan.team_member_id),
        Sel.email("MEGAN.BOWEN@CONTOSO.COM"),
        Sel.external_id("aad-megan"),
        Sel.email("nobody@contoso.com"),
        Sel.external_id("aad-nobody"),
    ])

    found = [item.get_member_info().profile.team_member_id for item in result.members_info[:3]]
    assert found == [megan.team_member_id] * 3
    assert [item.get_id_not_found() for item in result.members_info[3:]] == ["nobody@contoso.com", "aad-nobody"]


def test_its_get_info_answer_decodes_strictly(emulator, megan):
    result = emulator.strict(T.members_get_info_v2, {"members": [
        {".tag": "external_id", "external_id": "aad-megan"},
        {".tag": "team_member_id", "team_member_id": "dbmid:unknown"},
    ]})

    assert result.members_info[0].get_member_info().profile.email == "megan.bowen@contoso.com"
    assert result.members_info[1].get_id_not_found() == "dbmid:unknown"


def test_it_changes_names_email_and_external_id(emulator, dbx, megan):
    result = emulator.strict(T.members_set_profile_v2, T.MembersSetProfileArg(
        Sel.external_id("aad-megan"), new_given_name="Meg", new_surname="Bowen-Smith",
        new_email="meg.bowen@contoso.com",
    ))

    profile = result.member_info.profile
    assert (profile.name.given_name, profile.name.surname) == ("Meg", "Bowen-Smith")
    assert profile.name.display_name == "Meg Bowen-Smith"
    assert profile.email == "meg.bowen@contoso.com"
    assert dbx.team_members_get_info_v2([Sel.email("meg.bowen@contoso.com")]).members_info[0].is_member_info()
    assert dbx.team_members_get_info_v2([Sel.email("megan.bowen@contoso.com")]).members_info[0].is_id_not_found()
    dbx.team_members_set_profile_v2(Sel.team_member_id(megan.team_member_id), new_external_id="aad-meg")
    member = next(m for m in emulator.state()["members"] if m["team_member_id"] == megan.team_member_id)
    assert (member["email"], member["given_name"], member["external_id"]) == ("meg.bowen@contoso.com", "Meg", "aad-meg")


def test_it_refuses_a_change_with_no_new_data(dbx, megan):
    error = refusal(dbx.team_members_set_profile_v2, Sel.email("megan.bowen@contoso.com"))

    assert error.is_no_new_data_specified()


def test_it_refuses_an_email_another_member_holds(dbx, megan):
    error = refusal(dbx.team_members_set_profile_v2, Sel.email("megan.bowen@contoso.com"),
                    new_email="Adele.Vance@contoso.com")

    assert error.is_email_reserved_for_other_user()


def test_it_refuses_an_external_id_another_member_holds(dbx, megan):
    error = refusal(dbx.team_members_set_profile_v2, Sel.email("adele.vance@contoso.com"),
                    new_external_id="aad-megan")

    assert error.is_external_id_used_by_other_user()


def test_it_refuses_changing_the_external_id_it_selects_by(dbx, megan):
    error = refusal(dbx.team_members_set_profile_v2, Sel.external_id("aad-megan"), new_external_id="aad-other")

    assert error.is_external_id_and_new_external_id_unsafe()


def test_it_refuses_an_empty_name(dbx, megan):
    error = refusal(dbx.team_members_set_profile_v2, Sel.email("megan.bowen@contoso.com"), new_surname="  ")

    assert error.is_param_cannot_be_empty()


def test_it_refuses_unknown_and_removed_members(dbx, megan):
    unknown = refusal(dbx.team_members_set_profile_v2, Sel.email("nobody@contoso.com"), new_given_name="X")
    dbx.team_members_remove(Sel.email("former.employee@contoso.com"))
    removed = refusal(dbx.team_members_set_profile_v2, Sel.email("former.employee@contoso.com"), new_given_name="X")

    assert unknown.is_user_not_found()
    assert removed.is_set_profile_disallowed()


def test_it_refuses_persistent_ids_the_team_has_not_enabled(dbx, megan):
    error = refusal(dbx.team_members_set_profile_v2, Sel.email("megan.bowen@contoso.com"), new_persistent_id="p-1")

    assert error.is_persistent_id_disabled()


def test_it_answers_409_with_the_error_summary_and_a_request_id(emulator, megan):
    answer = emulator.call("team/members/set_profile_v2", {
        "user": {".tag": "email", "email": "nobody@contoso.com"}, "new_given_name": "X",
    })

    assert answer.status_code == 409
    assert answer.headers["Content-Type"] == "application/json"
    assert len(answer.headers["x-dropbox-request-id"]) == 32
    body = answer.json()
    assert body["error"] == {".tag": "user_not_found"}
    assert body["error_summary"].startswith("user_not_found/")

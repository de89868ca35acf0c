"""``members/add_v2`` and its job: invitations, the per-member failures that come
back inside a 200, the 20-member limit, and large adds that run as jobs."""

from __future__ import annotations

import json
import time

import pytest
from dropbox import team as T
from dropbox.exceptions import ApiError, BadInputError

from emulators.dropbox.state import ROLES


def new(email, given="New", surname="Person", **kwargs):
    return T.MemberAddV2Arg(email, member_given_name=given, member_surname=surname, **kwargs)


def outcomes(result) -> list[tuple[str, str]]:
    """(tag, email) for each MemberAddV2Result."""
    out = []
    for item in result:
        tag = item._tag
        out.append((tag, item.get_success().profile.email if tag == "success" else item._value))
    return out


def test_it_invites_a_new_member_with_the_profile_it_was_given(emulator, dbx):
    result = dbx.team_members_add_v2([new("jane.doe@contoso.com", "Jane", "Doe", member_external_id="E-1")])

    assert result.is_complete()
    [added] = result.get_complete()
    profile = added.get_success().profile
    assert profile.status.is_invited()
    assert (profile.email, profile.name.given_name, profile.name.surname) == ("jane.doe@contoso.com", "Jane", "Doe")
    assert profile.name.display_name == "Jane Doe" and profile.name.abbreviated_name == "JD"
    assert profile.external_id == "E-1"
    assert profile.team_member_id.startswith("dbmid:")
    assert profile.invited_on is not None and profile.joined_on is None
    assert profile.email_verified is False
    assert profile.membership_type.is_full()
    assert added.get_success().roles == []
    member = next(m for m in emulator.state()["members"] if m["email"] == "jane.doe@contoso.com")
    assert member == {
        "email": "jane.doe@contoso.com", "status": "invited", "given_name": "Jane", "surname": "Doe",
        "external_id": "E-1", "team_member_id": profile.team_member_id, "roles": [],
        "groups": ["Everyone at Contoso"], "files": [],
    }
    assert "jane.doe@contoso.com" in emulator.state()["welcome_emails"]  # send_welcome_email defaults to true


def test_its_answer_decodes_strictly(emulator):
    result = emulator.strict(T.members_add_v2, T.MembersAddV2Arg([
        new("strict.one@contoso.com", role_ids=[ROLES[0].role_id]),
        new("adele.vance@contoso.com"),
    ]))

    first, second = result.get_complete()
    assert first.get_success().roles[0].name == "Team admin"
    assert second.get_user_already_on_team() == "adele.vance@contoso.com"


def test_it_reports_failures_per_member_inside_a_200(emulator, dbx):
    emulator.control("POST", "accounts", {
        "elsewhere@fabrikam.com": "user_on_another_team",
        "paired@fabrikam.com": "user_already_paired",
        "migrating@fabrikam.com": "user_migration_failed",
        "broken@fabrikam.com": "user_creation_failed",
        "free@fabrikam.com": "free_team_member_limit_reached",
    })
    dbx.team_members_add_v2([new("has.external@contoso.com", member_external_id="X-9")])

    first = dbx.team_members_add_v2([
        new("ADELE.VANCE@contoso.com"),  # on the team already, whatever the case
        new("twice@contoso.com"),
        new("Twice@contoso.com"),  # earlier in the same call
        new("elsewhere@fabrikam.com"),
        new("paired@fabrikam.com"),
    ])
    second = emulator.strict(T.members_add_v2, T.MembersAddV2Arg([
        new("migrating@fabrikam.com"),
        new("broken@fabrikam.com"),
        new("free@fabrikam.com"),
        new("same.external@contoso.com", member_external_id="X-9"),
        new("persistent@contoso.com", member_persistent_id="P-1"),
    ]))

    assert outcomes(first.get_complete()) == [
        ("user_already_on_team", "ADELE.VANCE@contoso.com"),
        ("success", "twice@contoso.com"),
        ("user_already_on_team", "Twice@contoso.com"),
        ("user_on_another_team", "elsewhere@fabrikam.com"),
        ("user_already_paired", "paired@fabrikam.com"),
    ]
    assert outcomes(second.get_complete()) == [
        ("user_migration_failed", "migrating@fabrikam.com"),
        ("user_creation_failed", "broken@fabrikam.com"),
        ("free_team_member_limit_reached", "free@fabrikam.com"),
        ("duplicate_external_member_id", "same.external@contoso.com"),
        ("persistent_id_disabled", "persistent@contoso.com"),
    ]
    emails = {m["email"] for m in emulator.state()["members"]}
    assert "twice@contoso.com" in emails and "paired@fabrikam.com" not in emails


def test_it_stops_at_the_license_limit(emulator, dbx):
    used = dbx.team_get_info().num_used_licenses
    emulator.configure(licenses=used + 1)

    result = dbx.team_members_add_v2([new("fits@contoso.com"), new("does.not.fit@contoso.com")])

    assert outcomes(result.get_complete()) == [
        ("success", "fits@contoso.com"),
        ("team_license_limit", "does.not.fit@contoso.com"),
    ]
    info = dbx.team_get_info()
    assert (info.num_licensed_users, info.num_used_licenses) == (used + 1, used + 1)


def test_it_rejects_more_than_20_members_per_add(emulator, dbx):
    members = [new(f"batch{i}@contoso.com") for i in range(21)]

    with pytest.raises(BadInputError) as rejected:
        dbx.team_members_add_v2(members)

    assert rejected.value.message.startswith('Error in call to API function "team/members/add_v2": request body: ')
    assert "20" in rejected.value.message
    assert not any(m["email"].startswith("batch") for m in emulator.state()["members"])


def test_it_rejects_a_given_name_longer_than_50_characters(emulator, dbx):
    # The SDK's objects refuse such a name before sending it; its transport takes raw JSON.
    arg = json.dumps({"new_members": [{"member_email": "long.name@contoso.com", "member_given_name": "x" * 51}]})
    with pytest.raises(BadInputError) as rejected:
        dbx.request_json_string_with_retry("api", "team/members/add_v2", "rpc", arg, "team", None)

    assert "member_given_name" in rejected.value.message and "at most 50" in rejected.value.message


def test_it_rejects_names_with_characters_dropbox_forbids(emulator):
    answer = emulator.call("team/members/add_v2", {"new_members": [
        {"member_email": "slash@contoso.com", "member_surname": "Smith/Jones"},
    ]})

    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert "member_surname" in answer.text and "did not match pattern" in answer.text


def test_it_rejects_an_external_id_longer_than_64_characters_and_a_bad_email(emulator):
    long_id = emulator.call("team/members/add_v2", {"new_members": [
        {"member_email": "long.id@contoso.com", "member_external_id": "e" * 65},
    ]})
    bad_email = emulator.call("team/members/add_v2", {"new_members": [{"member_email": "not-an-email"}]})

    assert long_id.status_code == 400 and "at most 64" in long_id.text
    assert bad_email.status_code == 400 and "member_email" in bad_email.text


def test_it_runs_a_large_add_as_a_job(emulator, dbx):
    emulator.configure(async_job_seconds=60)
    members = [new(f"bulk{i}@contoso.com") for i in range(8)]

    launched = dbx.team_members_add_v2(members)

    assert launched.is_async_job_id()
    job_id = launched.get_async_job_id()
    assert dbx.team_members_add_job_status_get_v2(job_id).is_in_progress()
    assert emulator.strict(T.members_add_job_status_get_v2, {"async_job_id": job_id}).is_in_progress()
    assert not any(m["email"].startswith("bulk") for m in emulator.state()["members"])
    emulator.configure(async_job_seconds=0)
    done = dbx.team_members_add_job_status_get_v2(job_id)
    assert done.is_complete()
    assert outcomes(done.get_complete()) == [("success", f"bulk{i}@contoso.com") for i in range(8)]
    strict = emulator.strict(T.members_add_job_status_get_v2, {"async_job_id": job_id})
    assert len(strict.get_complete()) == 8
    assert sum(m["email"].startswith("bulk") for m in emulator.state()["members"]) == 8


def test_it_finishes_a_job_after_async_job_seconds(emulator, dbx):
    emulator.configure(async_job_seconds=0.2)

    launched = dbx.team_members_add_v2([new("later@contoso.com")], force_async=True)
    time.sleep(0.25)

    done = dbx.team_members_add_job_status_get_v2(launched.get_async_job_id())
    assert outcomes(done.get_complete()) == [("success", "later@contoso.com")]


def test_it_runs_a_small_add_as_a_job_when_forced(emulator, dbx):
    emulator.configure(async_job_seconds=0)

    launched = dbx.team_members_add_v2([new("forced@contoso.com")], force_async=True)

    assert launched.is_async_job_id()
    done = dbx.team_members_add_job_status_get_v2(launched.get_async_job_id())
    assert outcomes(done.get_complete()) == [("success", "forced@contoso.com")]


def test_it_refuses_an_unknown_job_id(dbx):
    with pytest.raises(ApiError) as refused:
        dbx.team_members_add_job_status_get_v2("dbjid:nothing-like-this")

    assert refused.value.error.is_invalid_async_job_id()

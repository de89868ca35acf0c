"""A member's life on the team: invited, active, suspended, removed and
recovered, with the protections of the last admin and the options of a removal."""

from __future__ import annotations

import time
import urllib.error

import pytest
from dropbox import team as T
from dropbox.exceptions import ApiError, AuthError

Sel = T.UserSelectorArg
ADMIN = "admin@contoso.com"


def status(emulator, email: str) -> str | None:
    return next((m["status"] for m in emulator.state()["members"] if m["email"] == email), None)


def profile(dbx, email: str):
    item = dbx.team_members_get_info_v2([Sel.email(email)]).members_info[0]
    return item.get_member_info().profile if item.is_member_info() else None


def invite(dbx, email: str):
    return dbx.team_members_add_v2([T.MemberAddV2Arg(email, "New", "Hire")]).get_complete()[0].get_success().profile


def refusal(call, *args, **kwargs):
    with pytest.raises(ApiError) as refused:
        call(*args, **kwargs)
    return refused.value.error


def test_it_keeps_a_new_member_invited_until_accepted(emulator, dbx):
    invite(dbx, "new.hire@contoso.com")
    time.sleep(0.2)

    assert profile(dbx, "new.hire@contoso.com").status.is_invited()
    emulator.control("POST", "members/new.hire@contoso.com/accept", {})
    accepted = profile(dbx, "new.hire@contoso.com")
    assert accepted.status.is_active()
    assert accepted.joined_on is not None and accepted.email_verified


def test_it_makes_invitations_accept_themselves_after_auto_accept_seconds(emulator, dbx):
    emulator.configure(auto_accept_seconds=60)
    invited = invite(dbx, "quick.hire@contoso.com")
    assert invited.status.is_invited()
    assert profile(dbx, "quick.hire@contoso.com").status.is_invited()

    # Shortening the delay applies to invitations already pending.
    emulator.configure(auto_accept_seconds=0)

    accepted = profile(dbx, "quick.hire@contoso.com")
    assert accepted.status.is_active()
    assert accepted.joined_on == invited.invited_on


def test_it_suspends_and_unsuspends_an_active_member(emulator, dbx):
    assert emulator.strict(T.members_suspend, {"user": {".tag": "email", "email": "adele.vance@contoso.com"}}) is None
    suspended = profile(dbx, "adele.vance@contoso.com")
    again = refusal(dbx.team_members_suspend, Sel.email("adele.vance@contoso.com"))

    assert suspended.status.is_suspended() and suspended.suspended_on is not None
    assert again.is_suspend_inactive_user()
    assert emulator.strict(T.members_unsuspend, {"user": {".tag": "email", "email": "adele.vance@contoso.com"}}) is None
    assert profile(dbx, "adele.vance@contoso.com").status.is_active()
    assert refusal(dbx.team_members_unsuspend, Sel.email("adele.vance@contoso.com")).is_unsuspend_non_suspended_member()
    dbx.team_members_suspend(Sel.email("adele.vance@contoso.com"))
    dbx.team_members_unsuspend(Sel.email("adele.vance@contoso.com"))
    assert profile(dbx, "adele.vance@contoso.com").status.is_active()


def test_it_deletes_an_invited_member_instead_of_suspending_it(emulator, dbx):
    invite(dbx, "never.joined@contoso.com")
    used = dbx.team_get_info().num_used_licenses

    dbx.team_members_suspend(Sel.email("never.joined@contoso.com"))

    assert profile(dbx, "never.joined@contoso.com") is None
    assert status(emulator, "never.joined@contoso.com") is None
    listed = dbx.team_members_list_v2(include_removed=True).members
    assert "never.joined@contoso.com" not in [m.profile.email for m in listed]
    assert dbx.team_get_info().num_used_licenses == used - 1
    assert refusal(dbx.team_members_suspend, Sel.email("never.joined@contoso.com")).is_user_not_found()


def test_it_protects_the_last_admin(emulator, dbx):
    suspend = refusal(dbx.team_members_suspend, Sel.email(ADMIN))
    remove = refusal(dbx.team_members_remove, Sel.email(ADMIN))

    assert suspend.is_suspend_last_admin()
    assert remove.is_remove_last_admin()
    assert status(emulator, ADMIN) == "active"


def test_it_lets_an_admin_go_when_another_remains(emulator, dbx):
    emulator.control("POST", "members/alex.wilber@contoso.com/promote", {})

    dbx.team_members_suspend(Sel.email(ADMIN))

    assert status(emulator, ADMIN) == "suspended"
    # The team token belonged to the admin who is suspended now.
    with pytest.raises(AuthError) as refused:
        dbx.team_members_suspend(Sel.email("alex.wilber@contoso.com"))
    assert refused.value.error.is_invalid_access_token()
    assert status(emulator, "alex.wilber@contoso.com") == "active"


def test_it_removes_and_recovers_a_member(emulator, dbx):
    launched = emulator.strict(T.members_remove, {"user": {".tag": "email", "email": "alex.wilber@contoso.com"}})
    assert launched.is_complete()
    removed = profile(dbx, "alex.wilber@contoso.com")
    assert removed.status.is_removed() and removed.status.get_removed().is_recoverable
    assert removed.groups == []

    assert emulator.strict(T.members_recover, {"user": {".tag": "email", "email": "alex.wilber@contoso.com"}}) is None

    recovered = profile(dbx, "alex.wilber@contoso.com")
    assert recovered.status.is_active()
    member = next(m for m in emulator.state()["members"] if m["email"] == "alex.wilber@contoso.com")
    assert member["groups"] == ["Everyone at Contoso", "Marketing"]
    assert refusal(dbx.team_members_recover, Sel.email("alex.wilber@contoso.com")).is_user_unrecoverable()
    assert refusal(dbx.team_members_remove, Sel.email("nobody@contoso.com")).is_user_not_found()


def test_it_refuses_a_recovery_beyond_the_licenses(emulator, dbx):
    dbx.team_members_remove(Sel.email("alex.wilber@contoso.com"))
    emulator.configure(licenses=dbx.team_get_info().num_used_licenses)

    assert refusal(dbx.team_members_recover, Sel.email("alex.wilber@contoso.com")).is_team_license_limit()


def test_it_refuses_to_touch_a_removed_member(emulator, dbx):
    dbx.team_members_remove(Sel.email("alex.wilber@contoso.com"))

    assert refusal(dbx.team_members_remove, Sel.email("alex.wilber@contoso.com")).is_user_not_in_team()
    assert refusal(dbx.team_members_suspend, Sel.email("alex.wilber@contoso.com")).is_user_not_in_team()
    assert refusal(dbx.team_members_unsuspend, Sel.email("alex.wilber@contoso.com")).is_user_not_in_team()


def test_it_converts_a_kept_account_and_cannot_recover_it(emulator, dbx):
    dbx.team_members_remove(Sel.email("megan.bowen@contoso.com"), wipe_data=False, keep_account=True)

    removed = profile(dbx, "megan.bowen@contoso.com").status.get_removed()
    assert (removed.is_disconnected, removed.is_recoverable) == (True, False)


@pytest.mark.parametrize("kwargs, tag", [
    ({"keep_account": True}, "cannot_keep_account_and_delete_data"),
    ({"keep_account": True, "wipe_data": False, "transfer_dest_id": Sel.email("adele.vance@contoso.com")},
     "cannot_keep_account_and_transfer"),
    ({"retain_team_shares": True}, "cannot_retain_shares_when_no_account_kept"),
    ({"transfer_dest_id": Sel.email("adele.vance@contoso.com")}, "unspecified_transfer_admin_id"),
    ({"transfer_dest_id": Sel.email("nobody@contoso.com"), "transfer_admin_id": Sel.email(ADMIN)},
     "transfer_dest_user_not_found"),
    ({"transfer_dest_id": Sel.email("megan.bowen@contoso.com"), "transfer_admin_id": Sel.email(ADMIN)},
     "removed_and_transfer_dest_should_differ"),
    ({"transfer_dest_id": Sel.email("adele.vance@contoso.com"),
      "transfer_admin_id": Sel.email("alex.wilber@contoso.com")}, "transfer_admin_is_not_admin"),
])
def test_it_refuses_removal_options_that_conflict(dbx, kwargs, tag):
    error = refusal(dbx.team_members_remove, Sel.email("megan.bowen@contoso.com"), **kwargs)

    assert error._tag == tag


def test_it_refuses_to_keep_the_account_of_an_invitation(dbx):
    invite(dbx, "pending@contoso.com")

    error = refusal(dbx.team_members_remove, Sel.email("pending@contoso.com"), wipe_data=False, keep_account=True)

    assert error.is_cannot_keep_invited_user_account()


def test_it_refuses_a_transfer_to_someone_who_left(emulator, dbx):
    dbx.team_members_remove(Sel.email("alex.wilber@contoso.com"))

    error = refusal(dbx.team_members_remove, Sel.email("megan.bowen@contoso.com"),
                    transfer_dest_id=Sel.email("alex.wilber@contoso.com"), transfer_admin_id=Sel.email(ADMIN))

    assert error.is_transfer_dest_user_not_in_team()


def test_it_transfers_files_in_a_job(emulator, dbx):
    emulator.configure(async_job_seconds=60)

    launched = dbx.team_members_remove(Sel.email("megan.bowen@contoso.com"), wipe_data=False,
                                       transfer_dest_id=Sel.email("alex.wilber@contoso.com"),
                                       transfer_admin_id=Sel.email(ADMIN))

    assert launched.is_async_job_id()
    job_id = launched.get_async_job_id()
    assert status(emulator, "megan.bowen@contoso.com") == "removed"
    assert dbx.team_members_remove_job_status_get(job_id).is_in_progress()
    emulator.configure(async_job_seconds=0)
    assert emulator.strict(T.members_remove_job_status_get, {"async_job_id": job_id}).is_complete()
    assert refusal(dbx.team_members_remove_job_status_get, "dbjid:unknown").is_invalid_async_job_id()


def files_of(emulator, email: str) -> list[str]:
    return next(m["files"] for m in emulator.state()["members"] if m["email"] == email)


def test_a_removal_with_a_transfer_moves_the_files_into_a_folder_named_after_the_member(emulator, dbx):
    emulator.control("POST", "members/megan.bowen@contoso.com/files", {"paths": ["/Plans/2027.xlsx", "notes.txt"]})
    before = files_of(emulator, ADMIN)

    launched = dbx.team_members_remove(Sel.email("megan.bowen@contoso.com"), wipe_data=False,
                                       transfer_dest_id=Sel.email(ADMIN), transfer_admin_id=Sel.email(ADMIN))

    assert launched.is_async_job_id()
    assert files_of(emulator, "megan.bowen@contoso.com") == []
    moved = [f for f in files_of(emulator, ADMIN) if f not in before]
    assert sorted(moved) == ["/Megan Bowen/Plans/2027.xlsx", "/Megan Bowen/notes.txt"]


def test_a_kept_account_keeps_its_files_and_a_plain_removal_takes_them_with_it(emulator, dbx):
    emulator.control("POST", "members/megan.bowen@contoso.com/files", {"paths": ["/a.docx"]})
    emulator.control("POST", "members/alex.wilber@contoso.com/files", {"paths": ["/b.docx"]})
    before = files_of(emulator, ADMIN)

    dbx.team_members_remove(Sel.email("megan.bowen@contoso.com"), wipe_data=False, keep_account=True)
    dbx.team_members_remove(Sel.email("alex.wilber@contoso.com"))

    assert files_of(emulator, "megan.bowen@contoso.com") == ["/a.docx"]
    assert files_of(emulator, "alex.wilber@contoso.com") == ["/b.docx"]  # back if the member is recovered
    assert files_of(emulator, ADMIN) == before


def test_a_refused_transfer_moves_nothing(emulator, dbx):
    emulator.control("POST", "members/megan.bowen@contoso.com/files", {"paths": ["/a.docx"]})
    dbx.team_members_remove(Sel.email("alex.wilber@contoso.com"))

    error = refusal(dbx.team_members_remove, Sel.email("megan.bowen@contoso.com"), wipe_data=False,
                    transfer_dest_id=Sel.email("alex.wilber@contoso.com"), transfer_admin_id=Sel.email(ADMIN))

    assert error.is_transfer_dest_user_not_in_team()
    assert files_of(emulator, "megan.bowen@contoso.com") == ["/a.docx"]
    assert status(emulator, "megan.bowen@contoso.com") != "removed"


def test_files_must_be_paths(emulator):
    with pytest.raises(urllib.error.HTTPError) as refused:
        emulator.control("POST", "members/megan.bowen@contoso.com/files", {"paths": "nope"})
    assert refused.value.code == 400


def test_the_welcome_email_is_sent_unless_asked_not_to(emulator, dbx):
    dbx.team_members_add_v2([T.MemberAddV2Arg("welcomed@contoso.com", "A", "B"),
                             T.MemberAddV2Arg("silent@contoso.com", "C", "D", send_welcome_email=False)])

    sent = emulator.state()["welcome_emails"]
    assert "welcomed@contoso.com" in sent and "silent@contoso.com" not in sent
    assert status(emulator, "silent@contoso.com") == "invited"  # invited all the same, without an email

"""Account discovery, situation by situation, on the in-memory Example target and
directory: every member of the target lands in exactly one category, with the
source user and the matching attribute that found it, and nothing is written."""

from __future__ import annotations

from datetime import datetime, timezone

from provisioning.engine import discovery as d
from provisioning.engine.types import LinkInfo
from provisioning.targets.base import AccountStatus
from tests.fakes import FakeDirectory, FakeTarget, engine_config

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def run(directory: FakeDirectory, target: FakeTarget, links: dict | None = None, **config):
    found = list(d.Discovery(engine_config(**config), directory, target, links or {}, now=NOW).run())
    assert not target.writes
    return {f.account.label: f for f in found}


def tenant():
    directory, target = FakeDirectory(), FakeTarget()
    directory.add_user("u-linked", "linked@example.org", givenName="Lin")
    directory.add_user("u-drift", "drift@example.org", givenName="Dora")
    directory.add_user("u-new", "new@example.org")
    directory.add_user("u-out", "out@example.org")
    directory.add_user("u-off", "off@example.org", enabled=False)
    directory.add_user("u-reuse", "reused@example.org")
    for uid in ("u-linked", "u-drift", "u-new", "u-off", "u-reuse"):
        directory.assign(uid)
    linked = target.add_account("linked@example.org", givenName="Lin", surname="Person", externalId="u-linked")
    drifted = target.add_account("drift@example.org", givenName="Dorothy", surname="Person", externalId="u-drift")
    target.add_account("new@example.org", givenName="New", surname="Person")
    target.add_account("out@example.org")
    target.add_account("off@example.org")
    target.add_account("stranger@example.org")
    old = target.add_account("old-reused@example.org", status=AccountStatus.SUSPENDED)
    target.add_account("reused@example.org")
    links = {"u-linked": LinkInfo("u-linked", linked.id), "u-drift": LinkInfo("u-drift", drifted.id),
             "u-reuse": LinkInfo("u-reuse", old.id)}
    return directory, target, links


def test_every_member_is_sorted_into_one_category():
    directory, target, links = tenant()
    found = run(directory, target, links)
    assert {email: f.category for email, f in found.items()} == {
        "admin@example.org": d.PROTECTED,
        "linked@example.org": d.LINKED,
        "drift@example.org": d.DRIFTED,
        "new@example.org": d.WILL_MATCH,
        "out@example.org": d.OUT_OF_SCOPE,
        "off@example.org": d.OUT_OF_SCOPE,
        "stranger@example.org": d.ORPHAN,
        # linked to the user whose address another member now has: the next cycle would rename it back
        "old-reused@example.org": d.DRIFTED,
        "reused@example.org": d.CONFLICT,
    }


def test_what_each_finding_says():
    directory, target, links = tenant()
    found = run(directory, target, links)
    assert found["drift@example.org"].differences == [("givenName", "Dorothy", "Dora")]
    assert "givenName" in found["drift@example.org"].note
    new = found["new@example.org"]
    assert (new.source_id, new.source_upn, new.matched_by) == ("u-new", "new@example.org", "email")
    assert new.note == "The next cycle links it to new@example.org by email and brings it in step."
    assert found["out@example.org"].note == "The user is not assigned to the application."
    assert found["off@example.org"].note == "The user is disabled in Microsoft Entra ID."
    assert found["stranger@example.org"].note == "No user of Microsoft Entra ID matches it by email."
    assert found["reused@example.org"].note == ("reused@example.org is already linked to another Example account "
                                                "(old-reused@example.org): an address reused after someone left?")
    assert "authorized the portal" in found["admin@example.org"].note
    assert found["linked@example.org"].differences == [] and found["linked@example.org"].matched_by == "link"


def test_the_last_team_admin_is_protected_and_one_of_two_is_not():
    directory, target = FakeDirectory(), FakeTarget()
    other = target.add_account("second@example.org", is_admin=True)
    directory.add_user("u2", "second@example.org")
    directory.assign("u2")
    assert run(directory, target)["second@example.org"].category == d.WILL_MATCH
    target.admin.status = AccountStatus.SUSPENDED  # the authorizing admin stays protected; other is the last
    found = run(directory, target)
    assert found["second@example.org"].category == d.PROTECTED
    assert found["second@example.org"].note == "The last Example team admin: never suspended or removed."
    assert other.id == found["second@example.org"].account.id


def test_two_source_users_with_the_same_matching_value_are_a_conflict():
    directory, target = FakeDirectory(), FakeTarget()
    directory.add_user("a", "same@example.org")
    directory.add_user("b", "SAME@example.org")
    target.add_account("same@example.org")
    found = run(directory, target)["same@example.org"]
    assert (found.category, found.matched_by) == (d.CONFLICT, "email")
    assert found.note.startswith("2 users of Microsoft Entra ID have this email")


def test_a_linked_member_whose_user_left_says_what_the_next_cycle_does():
    directory, target = FakeDirectory(), FakeTarget()
    gone = target.add_account("gone@example.org")
    out = target.add_account("unassigned@example.org")
    directory.add_user("u-out", "unassigned@example.org")
    links = {"u-gone": LinkInfo("u-gone", gone.id), "u-out": LinkInfo("u-out", out.id)}
    found = run(directory, target, links)
    assert found["gone@example.org"].category == d.LINKED
    assert "no longer in Microsoft Entra ID" in found["gone@example.org"].note
    assert found["unassigned@example.org"].note.startswith("The user is not assigned to the application.")


def test_removed_members_are_not_listed():
    directory, target = FakeDirectory(), FakeTarget()
    target.add_account("left@example.org", status=AccountStatus.REMOVED)
    assert "left@example.org" not in run(directory, target)

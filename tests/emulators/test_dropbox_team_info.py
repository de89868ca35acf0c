"""``team/get_info``: the team's name, id and license counts as members come and go."""

from __future__ import annotations

import pytest
from dropbox import team as T


def test_it_describes_the_team(emulator):
    info = emulator.strict(T.get_info)

    assert info.name == "Contoso"
    assert info.team_id == emulator.state()["team"]["team_id"]
    assert info.team_id.startswith("dbtid:")
    # Eight members: seven active or invited, one suspended who still holds a license.
    assert (info.num_licensed_users, info.num_provisioned_users, info.num_used_licenses) == (1000, 7, 8)
    assert info.policies.sharing.group_creation_policy.is_admins_only()


def test_it_counts_licenses_as_members_come_and_go(emulator):
    dbx = emulator.team_client()
    dbx.team_members_add_v2([T.MemberAddV2Arg("new.hire@contoso.com")])
    dbx.team_members_remove(T.UserSelectorArg.email("former.employee@contoso.com"))
    dbx.team_members_unsuspend(T.UserSelectorArg.email("lynne.robbins@contoso.com"))

    info = dbx.team_get_info()

    assert (info.num_provisioned_users, info.num_used_licenses) == (8, 8)
    assert emulator.state()["team"]["counts"] == {"active": 7, "invited": 1, "suspended": 0, "removed": 1}


def test_it_seeds_just_the_admin_and_a_member_when_empty(emulator):
    state = emulator.reset("empty")

    assert [(m["email"], m["status"], m["roles"]) for m in state["members"]] == [
        ("admin@contoso.com", "active", ["Team admin"]),
        ("member@contoso.com", "active", []),
    ]
    assert state["groups"] == []
    assert state["team"]["name"] == "Contoso"


def test_it_seeds_the_demo_team(emulator):
    state = emulator.state()

    statuses = {m["email"]: m["status"] for m in state["members"]}
    assert statuses == {
        "admin@contoso.com": "active",
        "member@contoso.com": "active",
        "adele.vance@contoso.com": "active",
        "alex.wilber@contoso.com": "active",
        "megan.bowen@contoso.com": "active",
        "lynne.robbins@contoso.com": "suspended",
        "contractor.lee@contoso.com": "active",
        "former.employee@contoso.com": "active",
    }
    assert [(g["group_name"], g["group_management_type"], g["members"]) for g in state["groups"]] == [
        ("Everyone at Contoso", "system_managed", None),
        ("Marketing", "company_managed", ["alex.wilber@contoso.com", "megan.bowen@contoso.com"]),
        ("Project Falcon", "user_managed",
         ["admin@contoso.com", "adele.vance@contoso.com", "contractor.lee@contoso.com"]),
    ]


def test_it_refuses_an_unknown_seed(emulator):
    with pytest.raises(Exception) as refused:
        emulator.reset("gigantic")

    assert "400" in str(refused.value)

"""Admin roles: ``members/get_available_team_member_roles``,
``members/set_admin_permissions_v2`` and ``token/get_authenticated_admin``."""

from __future__ import annotations

import pytest
from dropbox import team as T
from dropbox.exceptions import ApiError

Sel = T.UserSelectorArg


@pytest.fixture
def roles(dbx) -> dict[str, str]:
    return {role.name: role.role_id for role in dbx.team_members_get_available_team_member_roles().roles}


def test_it_lists_the_roles_dropbox_defines(emulator, roles):
    strict = emulator.strict(T.members_get_available_team_member_roles)

    assert {"Team admin", "User management admin", "Support admin"} <= set(roles)
    assert all(role_id.startswith("pid_dbtmr:") for role_id in roles.values())
    assert [r.role_id for r in strict.roles] == list(roles.values())


def test_it_names_the_admin_who_authorized_the_token(emulator, dbx):
    admin = emulator.strict(T.token_get_authenticated_admin).admin_profile

    assert admin.email == emulator.admin_email
    assert admin.status.is_active()
    assert dbx.team_token_get_authenticated_admin().admin_profile.team_member_id == admin.team_member_id


def test_it_grants_and_takes_back_an_admin_role(emulator, dbx, roles):
    granted = emulator.strict(T.members_set_admin_permissions_v2, T.MembersSetPermissions2Arg(
        Sel.email("adele.vance@contoso.com"), new_roles=[roles["User management admin"]],
    ))
    assert [r.name for r in granted.roles] == ["User management admin"]
    listed = dbx.team_members_get_info_v2([Sel.email("adele.vance@contoso.com")]).members_info[0]
    assert [r.name for r in listed.get_member_info().roles] == ["User management admin"]

    taken = dbx.team_members_set_admin_permissions_v2(Sel.email("adele.vance@contoso.com"), new_roles=[])

    assert taken.roles == []
    assert next(m for m in emulator.state()["members"] if m["email"] == "adele.vance@contoso.com")["roles"] == []


def test_it_refuses_to_demote_the_last_admin(dbx):
    with pytest.raises(ApiError) as refused:
        dbx.team_members_set_admin_permissions_v2(Sel.email("admin@contoso.com"), new_roles=[])

    assert refused.value.error.is_last_admin()


def test_it_refuses_roles_it_does_not_know_and_suspended_members(dbx, roles):
    with pytest.raises(ApiError) as unknown:
        dbx.team_members_set_admin_permissions_v2(Sel.email("adele.vance@contoso.com"), new_roles=["pid_dbtmr:nope"])
    with pytest.raises(ApiError) as suspended:
        dbx.team_members_set_admin_permissions_v2(Sel.email("lynne.robbins@contoso.com"),
                                                  new_roles=[roles["Support admin"]])

    assert unknown.value.error.is_role_not_found()
    assert suspended.value.error.is_cannot_set_permissions()


def test_it_keeps_a_long_lived_token_with_its_admin_when_the_address_changes(emulator, dbx):
    dbx.team_members_set_profile_v2(Sel.email("admin@contoso.com"), new_email="it.admin@contoso.com")

    admin = dbx.team_token_get_authenticated_admin().admin_profile

    assert admin.email == "it.admin@contoso.com"

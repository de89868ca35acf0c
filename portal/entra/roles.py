"""Portal roles of people who sign in with Microsoft Entra ID.

Roles come from Entra, never from the portal's own user page: the app roles of the portal's app
registration (``Provisioning.Administrator``, ``Provisioning.Reader``) assigned to the person or
to a group it is a direct member of (the id token's ``roles``), and the Entra groups an
administrator mapped to a role (``ENTRA_GROUP_ROLES``; the id token's ``groups``, or Graph's
``transitiveMemberOf`` when the token carries the groups overage claim). They are recomputed at
every sign-in and again from Graph every ``ENTRA_ROLE_REFRESH_SECONDS`` of a session, so a
person whose role was removed, or who was disabled or deleted, loses access within that time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group

from provisioning import audit, connections
from provisioning.connectors.errors import ConnectorError, NotFoundError
from provisioning.constants import ADMINISTRATORS_GROUP, READERS_GROUP, AuditActivity

logger = logging.getLogger(__name__)

ADMINISTRATOR = "administrator"
READER = "reader"
#: app role value -> portal role
APP_ROLE_VALUES = {"Provisioning.Administrator": ADMINISTRATOR, "Provisioning.Reader": READER}
GROUP_OF_ROLE = {ADMINISTRATOR: ADMINISTRATORS_GROUP, READER: READERS_GROUP}
#: the session keys of a sign-in with Microsoft
SESSION_OID = "entra_oid"
SESSION_CHECKED = "entra_checked_at"


def group_roles() -> dict[str, str]:
    """ENTRA_GROUP_ROLES as {group object id: role}."""
    return dict(settings.ENTRA_GROUP_ROLES)


def has_groups_overage(claims: dict) -> bool:
    return "groups" in (claims.get("_claim_names") or {})


def roles_from(app_role_values, group_ids) -> set[str]:
    roles = {APP_ROLE_VALUES[value] for value in app_role_values if value in APP_ROLE_VALUES}
    mapping = group_roles()
    return roles | {mapping[gid] for gid in group_ids if gid in mapping}


def roles_from_claims(claims: dict) -> set[str]:
    """The roles an id token gives; the groups come from Graph when the token says there are too many."""
    groups = claims.get("groups") or []
    if has_groups_overage(claims) and group_roles():
        groups = transitive_groups(claims["oid"])
    return roles_from(claims.get("roles") or [], groups)


def transitive_groups(oid: str) -> list[str]:
    source = connections.source()
    return [item["id"] for item in source.iter_collection(
        f"users/{oid}/transitiveMemberOf", params={"$select": "id", "$top": 999})
        if item.get("@odata.type", "#microsoft.graph.group") == "#microsoft.graph.group"]


@dataclass(frozen=True)
class DirectoryAnswer:
    """What Graph says of a signed-in person now."""

    may_sign_in: bool
    roles: frozenset[str] = frozenset()
    reason: str = ""


def _portal_service_principal(source) -> dict:
    client_id = settings.ENTRA_SIGN_IN_CLIENT_ID
    sp = source.find_service_principal(client_id)
    if sp is None:
        raise NotFoundError(f"The tenant has no service principal for the portal's app registration {client_id}.",
                            service="Microsoft Entra ID")
    return sp


def from_directory(oid: str) -> DirectoryAnswer:
    """The person's account state and roles, read with the portal's own credentials."""
    source = connections.source()
    try:
        user = source.get_json(f"users/{oid}", params={"$select": "id,accountEnabled"})
    except NotFoundError:
        return DirectoryAnswer(False, reason="The account was deleted in Microsoft Entra ID.")
    if user.get("accountEnabled") is False:
        return DirectoryAnswer(False, reason="The account is disabled in Microsoft Entra ID.")
    sp = _portal_service_principal(source)
    values = {role["id"]: role.get("value") for role in sp.get("appRoles") or () if role.get("isEnabled", True)}
    direct = {item["id"] for item in source.iter_collection(f"users/{oid}/memberOf", params={"$select": "id"})}
    principals = {oid} | direct
    assigned = [values.get(a["appRoleId"]) for a in source.iter_assignments(sp["id"]) if a["principalId"] in principals]
    groups = transitive_groups(oid) if group_roles() else []
    return DirectoryAnswer(True, frozenset(roles_from([v for v in assigned if v], groups)))


def current_roles(user) -> set[str]:
    names = set(user.groups.values_list("name", flat=True))
    return {role for role, group in GROUP_OF_ROLE.items() if group in names}


def apply(user, roles: set[str], *, request=None, why: str) -> bool:
    """Give the user exactly these roles; audited when they change. Whether they changed."""
    before = current_roles(user)
    if before == roles:
        return False
    for role, name in GROUP_OF_ROLE.items():
        group, _ = Group.objects.get_or_create(name=name)
        if role in roles:
            user.groups.add(group)
        else:
            user.groups.remove(group)
    from portal.permissions import forget_roles

    forget_roles(user)
    audit.record(AuditActivity.UPDATE_ROLES_FROM_ENTRA, request=request, actor=user, target=user,
                 target_type="User", target_display=user.email, before={"roles": sorted(before)},
                 after={"roles": sorted(roles)}, detail=why)
    return True


def refresh_failed(exc: ConnectorError) -> None:
    logger.warning("The roles of a signed-in person could not be read from Microsoft Entra ID: %s", exc.message)

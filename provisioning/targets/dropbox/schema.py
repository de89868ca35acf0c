"""Dropbox for Business as a target: its member and group attributes, validated
with the SDK's own Stone validators (the oracle for what Dropbox accepts), and
the default attribute mappings Entra ID ships for the gallery application."""

from __future__ import annotations

from collections.abc import Callable

from dropbox import common, team_common
from stone.backends.python_rsrc.stone_validators import ValidationError

from ...constants import MappingType, ObjectType
from ..base import AttributeSpec, ObjectSchema, TargetNames, TargetSchema

#: the member attribute that carries its admin role (set with members/set_admin_permissions_v2)
ADMIN_ROLE = "adminRole"

NAMES = TargetNames(service="Dropbox", account="Dropbox member", group="Dropbox group", container="Dropbox team")

#: members/add_v2 takes at most 20 members per call
ADD_BATCH_SIZE = 20

_NAME_RULE = 'at most 50 characters, none of / : ? * < > " |'


def _stone(validator, target: str, rule: str) -> Callable[[str], str | None]:
    """A check from a Stone validator, with the rule in plain words."""

    def check(value: str) -> str | None:
        try:
            validator.validate(value)
        except ValidationError:
            shown = value if len(value) <= 80 else value[:77] + "..."
            return f'{target} "{shown}" is not accepted by Dropbox: it must be {rule}.'
        return None

    return check


USERS = ObjectSchema(
    object_type=ObjectType.USER,
    key_attribute="email",
    active_attribute="active",
    attributes=(
        AttributeSpec("email", "The member's email (also the sign-in name).", required=True, max_length=255,
                      matchable=True, match_ignoring_case=True, compare_ignoring_case=True,
                      check=_stone(common.EmailAddress_validator, "email",
                                   "a valid email address of at most 255 characters")),
        AttributeSpec("givenName", "First name.", max_length=50,
                      check=_stone(common.OptionalNamePart_validator, "givenName", _NAME_RULE)),
        AttributeSpec("surname", "Last name.", max_length=50,
                      check=_stone(common.OptionalNamePart_validator, "surname", _NAME_RULE)),
        AttributeSpec("externalId", "An ID Dropbox keeps for the portal.", max_length=64, matchable=True,
                      check=_stone(team_common.MemberExternalId_validator, "externalId", "at most 64 characters")),
        AttributeSpec("active", "\"True\" keeps the member active, \"False\" suspends it.", required=True,
                      compared=False),
        AttributeSpec(ADMIN_ROLE, "The member's admin role: the name of one of the team's roles (Team admin, User "
                                  "management admin, Support admin, …); empty for a member without one. Not mapped "
                                  "by default; map it from the user's app role, e.g. "
                                  "SingleAppRoleAssignment([appRoleAssignments]).",
                      max_length=100, compare_ignoring_case=True),
    ),
)

GROUPS = ObjectSchema(
    object_type=ObjectType.GROUP,
    name_attribute="groupName",
    members_attribute="members",
    attributes=(
        AttributeSpec("groupName", "The Dropbox group's name.", required=True, max_length=255, matchable=True,
                      match_ignoring_case=True),
        AttributeSpec("externalId", "An ID Dropbox keeps for the portal.", max_length=64, matchable=True,
                      empty_clears=False,
                      check=_stone(team_common.GroupExternalId_validator, "externalId", "at most 64 characters")),
        AttributeSpec("members", "The group's members (provisioned users).", compared=False, single_valued=False),
    ),
)

SCHEMA = TargetSchema(users=USERS, groups=GROUPS, create_batch_size=ADD_BATCH_SIZE, suspending_invited_deletes=True)

DEFAULT_MAPPINGS = {
    ObjectType.USER: [
        {"target_attribute": "email", "mapping_type": MappingType.DIRECT, "source_attribute": "userPrincipalName",
         "is_matching": True, "matching_precedence": 1},
        {"target_attribute": "givenName", "mapping_type": MappingType.DIRECT, "source_attribute": "givenName"},
        {"target_attribute": "surname", "mapping_type": MappingType.DIRECT, "source_attribute": "surname"},
        {"target_attribute": "externalId", "mapping_type": MappingType.DIRECT, "source_attribute": "objectId"},
        {"target_attribute": "active", "mapping_type": MappingType.EXPRESSION,
         "expression": 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'},
    ],
    ObjectType.GROUP: [
        {"target_attribute": "groupName", "mapping_type": MappingType.DIRECT, "source_attribute": "displayName",
         "is_matching": True, "matching_precedence": 1},
        {"target_attribute": "externalId", "mapping_type": MappingType.DIRECT, "source_attribute": "objectId"},
        {"target_attribute": "members", "mapping_type": MappingType.DIRECT, "source_attribute": "members"},
    ],
}

"""The JSON the real service sends, built as plain dicts from the team state.

Shapes follow the Stone specification behind the SDK (``dropbox.team``):
struct members of a union sit beside its ``.tag``, other values nest under the
tag's name, optional fields that have no value are left out.
"""

from __future__ import annotations

import base64
import json
import random

from .state import ROLES_BY_ID, Group, Member, Role, Team, wire_time

_dots = random.Random()


def tag(name: str) -> dict:
    return {".tag": name}


def error_body(error_tag: str, value=None, *, user_message: str | None = None) -> dict:
    """A route error as the service sends it with HTTP 409 (and auth errors with 401).
    The summary ends in a varying run of dots, as the real one does, so that
    nobody mistakes it for something to parse."""
    error = {".tag": error_tag}
    if value is not None:
        error[error_tag] = value
    body = {"error_summary": f"{error_tag}/{'.' * _dots.randint(1, 3)}", "error": error}
    if user_message:
        body["user_message"] = {"text": user_message, "locale": "en"}
    return body


def role(r: Role) -> dict:
    return {"role_id": r.role_id, "name": r.name, "description": r.description}


def roles(member: Member) -> list[dict]:
    return [role(ROLES_BY_ID[role_id]) for role_id in member.role_ids if role_id in ROLES_BY_ID]


def name(member: Member) -> dict:
    given, surname = member.given_name, member.surname
    display = f"{given} {surname}".strip() or member.email
    initials = "".join(part[0] for part in (given, surname) if part).upper()
    return {
        "given_name": given,
        "surname": surname,
        "familiar_name": given or display,
        "display_name": display,
        "abbreviated_name": initials or member.email[:1].upper(),
    }


def status(team: Team, member: Member, now: float) -> dict:
    if member.status == "removed":
        return {
            ".tag": "removed",
            "is_recoverable": team.is_recoverable(member, now),
            "is_disconnected": member.disconnected,
        }
    return {".tag": member.status}


def profile(team: Team, member: Member, now: float, *, full: bool = True) -> dict:
    """A TeamMemberProfile, or with ``full=False`` the MemberProfile inside group listings."""
    body = {
        "team_member_id": member.team_member_id,
        "account_id": member.account_id,
        "email": member.email,
        "email_verified": member.email_verified,
        "status": status(team, member, now),
        "name": name(member),
        "membership_type": {".tag": member.membership_type},
    }
    if member.external_id:
        body["external_id"] = member.external_id
    if member.invited_at is not None:
        body["invited_on"] = wire_time(member.invited_at)
    if member.joined_at is not None:
        body["joined_on"] = wire_time(member.joined_at)
    if member.suspended_at is not None and member.status == "suspended":
        body["suspended_on"] = wire_time(member.suspended_at)
    if member.persistent_id:
        body["persistent_id"] = member.persistent_id
    if member.is_directory_restricted is not None:
        body["is_directory_restricted"] = member.is_directory_restricted
    if full:
        body["groups"] = list(team.member_group_ids(member))
        body["member_folder_id"] = member.member_folder_id
        body["root_folder_id"] = team.root_namespace_id
    return body


def member_info(team: Team, member: Member, now: float) -> dict:
    """A TeamMemberInfoV2."""
    return {"profile": profile(team, member, now), "roles": roles(member)}


def add_result(team: Team, outcome: tuple, now: float) -> dict:
    """One MemberAddV2Result from an outcome of :meth:`Team.add_members`."""
    if outcome[0] == "success":
        member = team.members.get(outcome[1])
        if member is not None:
            return {".tag": "success", **member_info(team, member, now)}
        # The member was added and has gone since (its invitation deleted).
        return {".tag": "user_creation_failed", "user_creation_failed": outcome[2]}
    failure, email = outcome[0], outcome[1]
    return {".tag": failure, failure: email}


def group_summary(team: Team, group: Group) -> dict:
    body = {
        "group_name": group.name,
        "group_id": group.group_id,
        "group_management_type": tag(group.management_type),
        "member_count": team.group_member_count(group),
    }
    if group.external_id:
        body["group_external_id"] = group.external_id
    return body


def group_member(team: Team, member: Member, access_type: str, now: float) -> dict:
    return {"profile": profile(team, member, now, full=False), "access_type": tag(access_type)}


def group_full(team: Team, group: Group, now: float, *, members: bool) -> dict:
    body = group_summary(team, group)
    body["created"] = group.created_ms
    if members:
        body["members"] = [group_member(team, m, access, now) for m, access in team.group_members(group)]
    return body


def team_info(team: Team) -> dict:
    """TeamGetInfoResult, with the policies of a team left at Dropbox's defaults."""
    return {
        "name": team.name,
        "team_id": team.team_id,
        "num_licensed_users": team.licenses,
        "num_provisioned_users": team.provisioned,
        "num_used_licenses": team.used_licenses,
        "policies": {
            "sharing": {
                "shared_folder_member_policy": tag("anyone"),
                "shared_folder_join_policy": tag("from_anyone"),
                "shared_link_create_policy": tag("default_public"),
                "group_creation_policy": tag("admins_only"),
                "shared_folder_link_restriction_policy": tag("anyone"),
                "enforce_link_password_policy": tag("optional"),
                "default_link_expiration_days_policy": tag("none"),
                "shared_link_default_permissions_policy": tag("default"),
            },
            "emm_state": tag("disabled"),
            "office_addin": tag("disabled"),
            "suggest_members_policy": tag("enabled"),
            "top_level_content_policy": tag("admin_only"),
        },
    }


# ---------------------------------------------------------------------- cursors
def encode_cursor(kind: str, **fields) -> str:
    """An opaque cursor: what was listed, after which item, and with what limit."""
    raw = json.dumps({"k": kind, **fields}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> dict | None:
    """The fields of a cursor of ``kind``, or None when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        fields = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(fields, dict) or fields.get("k") != kind:
        return None
    return fields

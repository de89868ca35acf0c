"""``POST /2/<function>``: the team routes, checked in the order the service
checks a call: known function, Content-Type, Authorization, the token, the
select headers, the argument (decoded strictly with the SDK's Stone
validators), the write rate limit, then the route's own rules."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import dropbox.auth
import dropbox.team
from aiohttp import web
from stone.backends.python_rsrc import stone_serializers, stone_validators

from emulators.base import json_response

from . import wire
from .state import (
    ASYNC_ADD_THRESHOLD,
    ASYNC_GROUP_DELETE_THRESHOLD,
    ROLES,
    AccessToken,
    Member,
    Refused,
    Team,
)

#: Content types the service accepts for an RPC argument.
ACCEPTED_CONTENT_TYPES = ("application/json", "application/json; charset=utf-8", "text/plain; charset=dropbox-cors-hack")
#: The most members one ``members/add_v2`` call may carry (documented by Dropbox).
MAX_MEMBERS_PER_ADD = 20

_TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~+/=-]+")
_MEMBER_ID = re.compile(r"dbmid:[A-Za-z0-9_-]+")


class BadInput(Exception):
    """A 400: the service answers with a plain-text explanation."""


class AuthFailure(Exception):
    """A 401 with an AuthError tag (and, for ``missing_scope``, the scope needed)."""

    def __init__(self, tag: str, required_scope: str | None = None):
        super().__init__(tag)
        self.tag = tag
        self.required_scope = required_scope


@dataclass
class Call:
    """One authenticated call: who makes it, against which team, and when."""

    emulator: object
    team: Team
    member: Member
    token: AccessToken | None
    now: float


@dataclass
class Route:
    name: str
    arg_type: object
    handler: Callable
    #: the scope a scoped token needs (None: any token will do)
    scope: str | None
    write: bool
    #: refuse the token (401) unless its admin is still an active team admin
    needs_admin: bool


ROUTES: dict[str, Route] = {}


def route(name: str, stone_route, scope: str | None, *, write: bool = False, needs_admin: bool = True):
    def register(handler):
        ROUTES[name] = Route(name, stone_route.arg_type, handler, scope, write, needs_admin)
        return handler
    return register


#: Paths whose successful answer may change the team (for state saving and the write limit).
def write_paths() -> set[str]:
    return {"/2/" + r.name for r in ROUTES.values() if r.write}


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message, content_type="text/plain", charset="utf-8")


def bad_input(function: str, message: str) -> web.Response:
    return _text(400, f'Error in call to API function "{function}": {message}')


def auth_error(tag: str, required_scope: str | None = None) -> web.Response:
    body = wire.error_body(tag)
    if required_scope:
        body["error"]["required_scope"] = required_scope
    return json_response(body, status=401)


class TeamApi:
    """Serves ``/2/...`` for one emulator."""

    def __init__(self, emulator):
        self.emulator = emulator

    async def handle(self, request: web.Request) -> web.StreamResponse:
        emulator = self.emulator
        function = request.match_info["function"]
        now = time.time()
        emulator.settle(now)
        spec = ROUTES.get(function)
        if spec is None:
            return bad_input(function, f"Unknown API function: {request.path}")
        body = await request.read()
        content_type = request.headers.get("Content-Type")
        if body and (content_type or "").strip().lower() not in ACCEPTED_CONTENT_TYPES:
            expected = ", ".join(f'"{t}"' for t in ACCEPTED_CONTENT_TYPES)
            return bad_input(function, f'Bad HTTP "Content-Type" header: "{content_type or ""}".  Expecting one of {expected}.')

        header = request.headers.get("Authorization")
        if not header:
            return bad_input(function, 'Must provide HTTP header "Authorization" or URL parameter "authorization".')
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return bad_input(
                function,
                f'Invalid authorization value in HTTP header "Authorization": "{header}".  '
                'Expecting "Bearer <oauth2-access-token>".',
            )
        if not _TOKEN_CHARACTERS.fullmatch(token):
            return bad_input(function, "The given OAuth 2 access token is malformed.")
        team = emulator.state
        try:
            member, scope, record = emulator.oauth.authenticate(token, now)
            if spec.needs_admin and not (member.status == "active" and member.is_team_admin):
                # A team token stops working once the admin who linked it is no admin any more.
                raise AuthFailure("invalid_access_token")
            if scope is not None and spec.scope is not None and spec.scope not in scope:
                raise AuthFailure("missing_scope", spec.scope)
            self._check_select_headers(request, team)
        except AuthFailure as failure:
            return auth_error(failure.tag, failure.required_scope)
        except BadInput as exc:
            return bad_input(function, str(exc))

        try:
            arg = self._decode(spec, body)
        except BadInput as exc:
            return bad_input(function, str(exc))

        if spec.write:
            wait = emulator.write_buckets.take(team.team_id)
            if wait:
                emulator.stats["rate_limited"] += 1
                return emulator.too_many(max(1, int(wait + 0.999)), "too_many_write_operations")

        call = Call(emulator, team, member, record, now)
        try:
            result = spec.handler(call, arg)
        except Refused as refusal:
            return json_response(wire.error_body(refusal.tag, refusal.value), status=409)
        except BadInput as exc:
            return bad_input(function, str(exc))
        return json_response(result)

    @staticmethod
    def _decode(spec: Route, body: bytes):
        void = isinstance(spec.arg_type, stone_validators.Void)
        if not body.strip():
            if void:
                return None
            raise BadInput("This function requires its argument in the HTTP request body, but your request body is empty.")
        try:
            raw = json.loads(body)
        except ValueError:
            raise BadInput("request body: could not decode input as JSON") from None
        try:
            return stone_serializers.json_compat_obj_decode(spec.arg_type, raw, strict=True)
        except stone_validators.ValidationError as exc:
            raise BadInput(f"request body: {exc}") from None

    @staticmethod
    def _check_select_headers(request: web.Request, team: Team) -> None:
        for header, failure in (
            ("Dropbox-API-Select-User", "invalid_select_user"),
            ("Dropbox-API-Select-Admin", "invalid_select_admin"),
        ):
            value = request.headers.get(header)
            if value is None:
                continue
            if not _MEMBER_ID.fullmatch(value):
                raise BadInput(f'Invalid value in HTTP header "{header}": "{value}".  Expecting a team member ID.')
            member = team.members.get(value)
            if member is None or member.status in ("removed", "invited"):
                raise AuthFailure(failure)
            if failure == "invalid_select_admin" and not member.is_team_admin:
                raise AuthFailure(failure)
            if member.status == "suspended":
                raise AuthFailure("user_suspended")


# ---------------------------------------------------------------------- helpers
def _selector(selector) -> tuple[str, str]:
    """A UserSelectorArg as ``(tag, value)``."""
    return selector._tag, selector._value


def _member(team: Team, selector) -> Member:
    member = team.find_member(*_selector(selector))
    if member is None:
        raise Refused("user_not_found")
    return member


def _poll(call: Call, job_id: str, kind: str):
    job = call.team.jobs.get(job_id)
    if job is None or job.kind != kind:
        raise Refused("invalid_async_job_id")
    return job


# ---------------------------------------------------------------------- team
@route("team/get_info", dropbox.team.get_info, "team_info.read")
def get_info(call: Call, arg):
    return wire.team_info(call.team)


@route("team/token/get_authenticated_admin", dropbox.team.token_get_authenticated_admin, "team_info.read",
       needs_admin=False)  # answers admin_not_active itself
def get_authenticated_admin(call: Call, arg):
    member = call.member
    if not (member.status == "active" and member.is_team_admin):
        raise Refused("admin_not_active")
    return {"admin_profile": wire.profile(call.team, member, call.now)}


@route("auth/token/revoke", dropbox.auth.token_revoke, None, write=True, needs_admin=False)
def token_revoke(call: Call, arg):
    call.emulator.oauth.revoke_token(call.token)


# ---------------------------------------------------------------------- members
@route("team/members/add_v2", dropbox.team.members_add_v2, "members.write", write=True)
def members_add(call: Call, arg):
    if len(arg.new_members) > MAX_MEMBERS_PER_ADD:
        raise BadInput(
            f"request body: new_members: list has {len(arg.new_members)} items, "
            f"more than the {MAX_MEMBERS_PER_ADD} allowed in one call"
        )
    entries = [
        {
            "email": m.member_email,
            "given_name": m.member_given_name,
            "surname": m.member_surname,
            "external_id": m.member_external_id,
            "persistent_id": m.member_persistent_id,
            "is_directory_restricted": m.is_directory_restricted,
            "role_ids": list(m.role_ids or ()),
            "send_welcome_email": m.send_welcome_email,
        }
        for m in arg.new_members
    ]
    if arg.force_async or len(entries) > ASYNC_ADD_THRESHOLD:
        job = call.team.start_job("members_add", call.now, payload=entries)
        return {".tag": "async_job_id", "async_job_id": job.job_id}
    outcomes = call.team.add_members(entries, now=call.now, auto_accept_seconds=call.emulator.auto_accept_seconds)
    return {".tag": "complete", "complete": [wire.add_result(call.team, o, call.now) for o in outcomes]}


@route("team/members/add/job_status/get_v2", dropbox.team.members_add_job_status_get_v2, "members.write")
def members_add_job_status(call: Call, arg):
    job = _poll(call, arg.async_job_id, "members_add")
    if not job.done:
        return {".tag": "in_progress"}
    return {".tag": "complete", "complete": [wire.add_result(call.team, o, call.now) for o in job.result]}


def _members_page(call: Call, after_seq: int, limit: int, include_removed: bool) -> dict:
    page, has_more = call.team.page_members(after_seq, limit, include_removed)
    last = page[-1].seq if page else after_seq
    return {
        "members": [wire.member_info(call.team, m, call.now) for m in page],
        "cursor": wire.encode_cursor("members", t=call.team.team_id, s=last, l=limit, r=include_removed),
        "has_more": has_more,
    }


def _team_cursor(call: Call, cursor: str, kind: str) -> dict:
    """A continue route's cursor, decoded; one of another kind or another team is invalid."""
    decoded = wire.decode_cursor(cursor, kind)
    if decoded is None or decoded.get("t") != call.team.team_id:
        raise Refused("invalid_cursor")
    return decoded


@route("team/members/list_v2", dropbox.team.members_list_v2, "members.read")
def members_list(call: Call, arg):
    return _members_page(call, 0, arg.limit, arg.include_removed)


@route("team/members/list/continue_v2", dropbox.team.members_list_continue_v2, "members.read")
def members_list_continue(call: Call, arg):
    cursor = _team_cursor(call, arg.cursor, "members")
    try:
        return _members_page(call, int(cursor["s"]), int(cursor["l"]), bool(cursor["r"]))
    except (KeyError, TypeError, ValueError):
        raise Refused("invalid_cursor") from None


@route("team/members/get_info_v2", dropbox.team.members_get_info_v2, "members.read")
def members_get_info(call: Call, arg):
    items = []
    for selector in arg.members:
        member = call.team.find_member(*_selector(selector))
        if member is None:
            items.append({".tag": "id_not_found", "id_not_found": selector._value})
        else:
            items.append({".tag": "member_info", **wire.member_info(call.team, member, call.now)})
    return {"members_info": items}


@route("team/members/set_profile_v2", dropbox.team.members_set_profile_v2, "members.write", write=True)
def members_set_profile(call: Call, arg):
    member = _member(call.team, arg.user)
    changes = {
        key: value
        for key, value in (
            ("email", arg.new_email),
            ("external_id", arg.new_external_id),
            ("given_name", arg.new_given_name),
            ("surname", arg.new_surname),
            ("persistent_id", arg.new_persistent_id),
            ("is_directory_restricted", arg.new_is_directory_restricted),
        )
        if value is not None
    }
    call.team.set_profile(member, arg.user._tag, changes)
    return {"member_info": wire.member_info(call.team, member, call.now)}


@route("team/members/suspend", dropbox.team.members_suspend, "members.write", write=True)
def members_suspend(call: Call, arg):
    call.team.suspend(_member(call.team, arg.user), now=call.now)


@route("team/members/unsuspend", dropbox.team.members_unsuspend, "members.write", write=True)
def members_unsuspend(call: Call, arg):
    call.team.unsuspend(_member(call.team, arg.user))


@route("team/members/remove", dropbox.team.members_remove, "members.delete", write=True)
def members_remove(call: Call, arg):
    member = _member(call.team, arg.user)
    options = {
        "wipe_data": arg.wipe_data,
        "keep_account": arg.keep_account,
        "retain_team_shares": arg.retain_team_shares,
        "permanently_delete_files": arg.permanently_delete_files,
        "transfer_dest_id": _selector(arg.transfer_dest_id) if arg.transfer_dest_id else None,
        "transfer_admin_id": _selector(arg.transfer_admin_id) if arg.transfer_admin_id else None,
    }
    dest, _ = call.team.check_remove(member, options)
    call.team.remove(member, keep_account=arg.keep_account, now=call.now, transfer_to=dest)
    if dest is not None:
        # Moving the member's files to someone else takes a while on the real service.
        job = call.team.start_job("members_remove", call.now)
        return {".tag": "async_job_id", "async_job_id": job.job_id}
    return {".tag": "complete"}


@route("team/members/remove/job_status/get", dropbox.team.members_remove_job_status_get, "members.delete")
def members_remove_job_status(call: Call, arg):
    job = _poll(call, arg.async_job_id, "members_remove")
    return {".tag": "complete" if job.done else "in_progress"}


@route("team/members/recover", dropbox.team.members_recover, "members.delete", write=True)
def members_recover(call: Call, arg):
    call.team.recover(_member(call.team, arg.user), now=call.now)


@route("team/members/set_admin_permissions_v2", dropbox.team.members_set_admin_permissions_v2,
       "members.write", write=True)
def members_set_admin_permissions(call: Call, arg):
    member = _member(call.team, arg.user)
    call.team.set_roles(member, list(arg.new_roles or ()))
    return {"team_member_id": member.team_member_id, "roles": wire.roles(member)}


@route("team/members/get_available_team_member_roles", dropbox.team.members_get_available_team_member_roles,
       "members.read")
def members_available_roles(call: Call, arg):
    return {"roles": [wire.role(r) for r in ROLES]}


# ---------------------------------------------------------------------- groups
def _group(call: Call, selector):
    return call.team.live_group(selector._tag, selector._value)


@route("team/groups/create", dropbox.team.groups_create, "groups.write", write=True)
def groups_create(call: Call, arg):
    group = call.team.create_group(
        arg.group_name,
        now=call.now,
        external_id=arg.group_external_id,
        management_type=arg.group_management_type._tag if arg.group_management_type else None,
        owner=call.member if arg.add_creator_as_owner else None,
    )
    return wire.group_full(call.team, group, call.now, members=True)


def _groups_page(call: Call, after_seq: int, limit: int) -> dict:
    groups = [g for g in call.team.groups_in_order() if g.seq > after_seq]
    page = groups[:limit]
    last = page[-1].seq if page else after_seq
    return {
        "groups": [wire.group_summary(call.team, g) for g in page],
        "cursor": wire.encode_cursor("groups", t=call.team.team_id, s=last, l=limit),
        "has_more": len(groups) > limit,
    }


@route("team/groups/list", dropbox.team.groups_list, "groups.read")
def groups_list(call: Call, arg):
    return _groups_page(call, 0, arg.limit)


@route("team/groups/list/continue", dropbox.team.groups_list_continue, "groups.read")
def groups_list_continue(call: Call, arg):
    cursor = _team_cursor(call, arg.cursor, "groups")
    try:
        return _groups_page(call, int(cursor["s"]), int(cursor["l"]))
    except (KeyError, TypeError, ValueError):
        raise Refused("invalid_cursor") from None


@route("team/groups/get_info", dropbox.team.groups_get_info, "groups.read")
def groups_get_info(call: Call, arg):
    tag = "group_id" if arg._tag == "group_ids" else "group_external_id"
    items = []
    for value in arg._value:
        try:
            group = call.team.live_group(tag, value)
        except Refused:
            items.append({".tag": "id_not_found", "id_not_found": value})
        else:
            items.append({".tag": "group_info", **wire.group_full(call.team, group, call.now, members=True)})
    return items


@route("team/groups/update", dropbox.team.groups_update, "groups.write", write=True)
def groups_update(call: Call, arg):
    group = _group(call, arg.group)
    changes = {}
    if arg.new_group_name is not None:
        changes["name"] = arg.new_group_name
    if arg.new_group_external_id is not None:
        changes["external_id"] = arg.new_group_external_id
    if arg.new_group_management_type is not None:
        changes["management_type"] = arg.new_group_management_type._tag
    call.team.update_group(group, changes)
    return wire.group_full(call.team, group, call.now, members=arg.return_members)


@route("team/groups/delete", dropbox.team.groups_delete, "groups.write", write=True)
def groups_delete(call: Call, arg):
    group = call.team.delete_group(arg._tag, arg._value)
    if len(group.members) > ASYNC_GROUP_DELETE_THRESHOLD:
        job = call.team.start_job("groups", call.now)
        return {".tag": "async_job_id", "async_job_id": job.job_id}
    return {".tag": "complete"}


#: what groups/members/add and /remove answer as their job id: "For legacy purposes async_job_id will always
#: return one space ' '. [...] It's no longer necessary because the async processing now happens automatically"
#: (GroupMembersChangeResult in Dropbox's API documentation). It names no job: groups/job_status/get refuses it.
LEGACY_GROUP_JOB_ID = " "


@route("team/groups/members/add", dropbox.team.groups_members_add, "groups.write", write=True)
def groups_members_add(call: Call, arg):
    group = _group(call, arg.group)
    call.team.add_group_members(group, [(_selector(m.user), m.access_type._tag) for m in arg.members])
    # The members are in the group at once (what the group owns reaches them on its own).
    return {
        "group_info": wire.group_full(call.team, group, call.now, members=arg.return_members),
        "async_job_id": LEGACY_GROUP_JOB_ID,
    }


@route("team/groups/members/remove", dropbox.team.groups_members_remove, "groups.write", write=True)
def groups_members_remove(call: Call, arg):
    group = _group(call, arg.group)
    call.team.remove_group_members(group, [_selector(u) for u in arg.users])
    return {
        "group_info": wire.group_full(call.team, group, call.now, members=arg.return_members),
        "async_job_id": LEGACY_GROUP_JOB_ID,
    }


def _group_members_page(call: Call, group, after_seq: int, limit: int) -> dict:
    members = [(m, access) for m, access in call.team.group_members(group) if m.seq > after_seq]
    page = members[:limit]
    last = page[-1][0].seq if page else after_seq
    return {
        "members": [wire.group_member(call.team, m, access, call.now) for m, access in page],
        "cursor": wire.encode_cursor("group_members", t=call.team.team_id, g=group.group_id, s=last, l=limit),
        "has_more": len(members) > limit,
    }


@route("team/groups/members/list", dropbox.team.groups_members_list, "groups.read")
def groups_members_list(call: Call, arg):
    return _group_members_page(call, _group(call, arg.group), 0, arg.limit)


@route("team/groups/members/list/continue", dropbox.team.groups_members_list_continue, "groups.read")
def groups_members_list_continue(call: Call, arg):
    cursor = _team_cursor(call, arg.cursor, "group_members")
    try:
        group = call.team.live_group("group_id", cursor["g"])
        return _group_members_page(call, group, int(cursor["s"]), int(cursor["l"]))
    except (KeyError, TypeError, ValueError, Refused):
        raise Refused("invalid_cursor") from None


@route("team/groups/job_status/get", dropbox.team.groups_job_status_get, "groups.read")
def groups_job_status(call: Call, arg):
    job = _poll(call, arg.async_job_id, "groups")
    return {".tag": "complete" if job.done else "in_progress"}

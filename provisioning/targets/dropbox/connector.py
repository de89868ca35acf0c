"""The Dropbox team as a :class:`~provisioning.targets.base.TargetConnector`,
through the official ``dropbox`` SDK.

Members are listed page by page, added 20 at a time (the documented maximum)
with async-job polling, and every per-member answer becomes a typed
:class:`~provisioning.targets.base.CreateOutcome`. Rate limits are honoured here
rather than inside the SDK, so the time spent waiting is known and reported to
the engine, which adapts its concurrency. A connector opened with
``dry_run=True`` refuses every write before anything is sent.
"""

from __future__ import annotations

import contextvars
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import dropbox
import orjson
import requests
from dropbox import team, team_common
from dropbox.dropbox_client import RouteErrorResult
from dropbox.exceptions import ApiError
from stone.backends.python_rsrc import stone_serializers
from stone.backends.python_rsrc.stone_validators import ValidationError

from ...batching import chunked
from ...connectors.calls import CallStats, JobPace
from ...connectors.errors import BadDataError, ConnectorError, CredentialsError, DryRunWrite, RateLimited, TransientError
from ...connectors.routing import REAL_DROPBOX_API_URL, REAL_DROPBOX_WEB_URL, build_routes, routed_session
from ..base import Account, CreateOutcome, NewAccount, RemoveOptions, TargetGroup
from .errors import dropbox_error
from .schema import ADD_BATCH_SIZE, ADMIN_ROLE, NAMES, SCHEMA

log = logging.getLogger(__name__)

GET_INFO_BATCH_SIZE = 100
#: look-ups (members/get_info_v2) sent at once
FIND_CALLS = 8

#: the engine's attribute names, as members/set_profile_v2 and members/add_v2 call them
_PROFILE_ARGS = {"email": "new_email", "givenName": "new_given_name", "surname": "new_surname",
                 "externalId": "new_external_id"}
_SELECTORS = {"id": team.UserSelectorArg.team_member_id, "email": team.UserSelectorArg.email,
              "externalId": team.UserSelectorArg.external_id}

# Per-member failure tags of members/add_v2: the outcome's kind, the attribute at fault, a plain message.
_ADD_FAILURES = {
    "team_license_limit": (CreateOutcome.RETRY_LATER, None, "The Dropbox team has no free license."),
    "free_team_member_limit_reached": (CreateOutcome.RETRY_LATER, None, "The free Dropbox team is full."),
    "user_already_on_team": (CreateOutcome.EXISTS, "email", "The user is already a member of this team."),
    "user_on_another_team": (CreateOutcome.INVALID, "email", "The email belongs to a member of another Dropbox team."),
    "user_already_paired": (CreateOutcome.INVALID, "email", "The email belongs to a paired personal and work account."),
    "user_migration_failed": (CreateOutcome.FAILED, "email", "Dropbox could not migrate the user's personal account."),
    "duplicate_external_member_id": (CreateOutcome.INVALID, "externalId",
                                     "Another member already has this external ID."),
    "duplicate_member_persistent_id": (CreateOutcome.INVALID, "persistentId",
                                       "Another member already has this persistent ID."),
    "persistent_id_disabled": (CreateOutcome.INVALID, "persistentId", "Persistent IDs are disabled for this team."),
    "user_creation_failed": (CreateOutcome.FAILED, None, "Dropbox could not create the user account."),
}
_LICENSE_ADVICE = "Buy more Dropbox licenses or unassign users from the application."


def account_from_sdk(info: Any) -> Account:
    """An :class:`Account` from ``TeamMemberInfoV2`` (or ``TeamMemberInfo``/``TeamMemberProfile``)."""
    profile = getattr(info, "profile", info)
    roles = list(getattr(info, "roles", None) or [])
    status = profile.status
    name = profile.name
    names = [role.name for role in roles]
    return Account(
        id=profile.team_member_id,
        status=status._tag if hasattr(status, "_tag") else str(status),
        values={"email": profile.email, "givenName": name.given_name if name else "",
                "surname": name.surname if name else "", "externalId": profile.external_id,
                ADMIN_ROLE: ", ".join(names)},
        label=profile.email,
        roles=names,
        role_ids=[role.role_id for role in roles],
        is_admin=any(role.lower() == "team admin" for role in names),
    )


def account_from_json(info: Mapping) -> Account:
    """An :class:`Account` from a ``TeamMemberInfoV2`` (or ``TeamMemberProfile``) as JSON: the same
    account :func:`account_from_sdk` makes, without decoding the whole structure first."""
    profile = info.get("profile", info)
    roles = info.get("roles") or []
    name = profile.get("name") or {}
    names = [role["name"] for role in roles]
    return Account(
        id=profile["team_member_id"],
        status=profile["status"][".tag"],
        values={"email": profile["email"], "givenName": name.get("given_name", ""),
                "surname": name.get("surname", ""), "externalId": profile.get("external_id"),
                ADMIN_ROLE: ", ".join(names)},
        label=profile["email"],
        roles=names,
        role_ids=[role["role_id"] for role in roles],
        is_admin=any(role.lower() == "team admin" for role in names),
    )


def _group(info: Any) -> TargetGroup:
    return TargetGroup(id=info.group_id, values={"groupName": info.group_name, "externalId": info.group_external_id},
                       label=info.group_name)


class DropboxConnector:
    """One Dropbox team, reached with the team admin's refresh token (or a team token)."""

    names = NAMES
    schema = SCHEMA
    #: how the connector waits (rate limits, reconnects, async jobs); tests replace it rather than wait
    sleep = staticmethod(time.sleep)

    def __init__(
        self,
        *,
        refresh_token: str | None = None,
        access_token: str | None = None,
        app_key: str = "",
        app_secret: str = "",
        api_url: str = REAL_DROPBOX_API_URL,
        web_url: str = REAL_DROPBOX_WEB_URL,
        dry_run: bool = False,
        session: requests.Session | None = None,
        max_rate_limit_waits: int = 20,
        max_wait: float = 300.0,
        timeout: float = 60.0,
        on_rate_limit: Callable[[float], None] | None = None,
        poll_interval: float = 0.2,
    ):
        if not (refresh_token or access_token):
            raise CredentialsError(
                "The portal is not authorized against Dropbox yet.", service="Dropbox", code="DropboxNotAuthorized",
                recommendation="Open Provisioning › Admin Credentials and select Authorize.",
            )
        self.dry_run = dry_run
        self.session = session or routed_session(build_routes(dropbox_api_url=api_url, dropbox_web_url=web_url))
        self.client = dropbox.DropboxTeam(
            oauth2_access_token=access_token,
            oauth2_refresh_token=refresh_token,
            app_key=app_key or None,
            app_secret=app_secret or None,
            session=self.session,
            timeout=timeout,
            # 5xx answers are retried by the SDK with its own backoff; rate limits are
            # handled below, so the wait is measured and the engine can slow down.
            max_retries_on_error=3,
            max_retries_on_rate_limit=0,
        )
        self.max_rate_limit_waits = max_rate_limit_waits
        self.max_wait = max_wait
        self.on_rate_limit = on_rate_limit
        #: set by the engine: each call holds a place in it while it is sent (see TargetConnector)
        self.call_limit = None
        self.poll_interval = poll_interval
        #: how long each kind of async job takes, learnt from the answers (see JobPace)
        self._paces: dict[str, JobPace] = {}
        self.stats = CallStats()
        #: the team's admin roles by lower-case name, read once when a mapping first needs them
        self._roles: dict[str, str] | None = None

    @classmethod
    def from_settings(cls, refresh_token: str | None, **overrides) -> "DropboxConnector":
        from django.conf import settings

        return cls(
            refresh_token=refresh_token, app_key=settings.DROPBOX_APP_KEY, app_secret=settings.DROPBOX_APP_SECRET,
            api_url=settings.DROPBOX_API_URL, web_url=settings.DROPBOX_WEB_URL, **overrides,
        )

    # ------------------------------------------------------------------ calling
    def _call(self, action: str, method: Callable, *args, write: bool = False, **kwargs):
        if write and self.dry_run:
            raise DryRunWrite(f"Dry run: '{action}' was not sent to Dropbox.", service="Dropbox")
        waits = 0
        connection_failures = 0
        while True:
            self.stats.called(write=write)
            limit = self.call_limit
            if limit is not None:
                limit.acquire()
            ok = False
            try:
                answer = method(*args, **kwargs)
                ok = True
                return answer
            except Exception as raw:  # every SDK and HTTP failure is translated in one place
                exc = dropbox_error(raw, action=action)
                if limit is not None:
                    # the place is given back before any wait below (an answer, even an error, counts as
                    # a success for the limit: only a rate limit shrinks it)
                    limit.release(ok=not isinstance(exc, RateLimited))
                    limit = None
                if isinstance(exc, RateLimited) and waits < self.max_rate_limit_waits:
                    waits += 1
                    pause = min(max(exc.retry_after, 0.1), self.max_wait)
                    self.stats.waited(pause, throttled=True)
                    if self.on_rate_limit:
                        self.on_rate_limit(pause)
                    log.info("Dropbox rate limit while trying to %s; waiting %.1f s", action, pause)
                    self.sleep(pause)
                    continue
                if (isinstance(exc, TransientError) and not isinstance(exc, RateLimited)
                        and isinstance(raw, (requests.ConnectionError, requests.Timeout)) and connection_failures < 3):
                    connection_failures += 1
                    self.sleep(0.5 * 2 ** connection_failures)
                    continue
                raise exc from raw
            finally:
                if limit is not None:
                    limit.release(ok=ok)

    def _json_call(self, action: str, route: Any, arg: Mapping, *, write: bool = False) -> dict:
        """Call a route through the SDK (its authorization, token renewal and 5xx retries, and the waits
        of :meth:`_call`) and return the answer as JSON, without Stone's decoding into objects, for the
        answers a cycle reads by the thousand. An error answer is decoded and raised as the SDK would."""
        return self._call(action, self._send_json, route, arg, write=write)

    def _send_json(self, route: Any, arg: Mapping) -> dict:
        client = self.client
        client.check_and_refresh_access_token()
        name = f"team/{route.name}" + (f"_v{route.version}" if route.version > 1 else "")
        answer = client.request_json_string_with_retry(
            route.attrs["host"] or "api", name, route.attrs["style"] or "rpc", orjson.dumps(arg).decode(),
            route.attrs["auth"], None)
        data = orjson.loads(answer.obj_result)
        if isinstance(answer, RouteErrorResult):
            error = stone_serializers.json_compat_obj_decode(route.error_type, data["error"], strict=False)
            message = data.get("user_message") or {}
            raise ApiError(answer.request_id, error, message.get("text"), message.get("locale"))
        return data

    def _poll(self, action: str, status_method: Callable, job_id: str, timeout: float = 600.0):
        """Wait for an async job; return its complete value. The first look comes after about as
        long as such jobs have taken so far (learnt per kind of job), later looks back off."""
        pace = self._paces.setdefault(status_method.__name__, JobPace(initial=self.poll_interval))
        started = time.monotonic()
        deadline = started + timeout
        wait = pace.first_wait()
        looks = 0
        while True:
            self.sleep(wait)
            looks += 1
            result = self._call(action, status_method, job_id)
            if isinstance(result, Mapping):
                result = _JsonJob(result)
            if result.is_complete():
                pace.finished(time.monotonic() - started, looks=looks)
                return result.get_complete() if hasattr(result, "get_complete") else None
            if getattr(result, "is_failed", lambda: False)():
                raise ConnectorError(f"Dropbox could not {action}: {result.get_failed()}", service="Dropbox",
                                     code="DropboxJobFailed")
            if time.monotonic() > deadline:
                raise TransientError(f"Dropbox is still working on '{action}' after {timeout:.0f} s.",
                                     service="Dropbox", code="DropboxJobTimeout")
            wait = pace.next_wait(wait, looks)

    # ------------------------------------------------------------------ team and admin
    def get_info(self) -> dict:
        info = self._call("read the team", self.client.team_get_info)
        return {"name": info.name, "team_id": info.team_id, "num_licensed_users": info.num_licensed_users,
                "num_provisioned_users": info.num_provisioned_users}

    def describe(self) -> tuple[str, str]:
        info = self.get_info()
        return info["name"], info["team_id"]

    def authenticated_admin(self) -> Account:
        """The team admin whose authorization the portal uses."""
        answer = self._call("identify the authorizing admin", self.client.team_token_get_authenticated_admin)
        return account_from_sdk(answer.admin_profile)

    def available_roles(self) -> list[dict]:
        answer = self._call("list admin roles", self.client.team_members_get_available_team_member_roles)
        return [{"role_id": role.role_id, "name": role.name, "description": role.description} for role in answer.roles]

    def role_ids_for(self, name: str | None) -> list[str]:
        """The role ids of an ``adminRole`` value: [] for none, else the team's role of that name
        (case aside); a name the team does not have is refused with the names it has."""
        name = (name or "").strip()
        if not name:
            return []
        if self._roles is None:
            self._roles = {role["name"].lower(): role["role_id"] for role in self.available_roles()}
        role_id = self._roles.get(name.lower())
        if role_id is None:
            known = ", ".join(sorted(self._roles)) or "none"
            raise BadDataError(f'Dropbox has no admin role named "{name}" (the team\'s roles: {known}).',
                               service="Dropbox", code="DropboxRoleNotFound", field=ADMIN_ROLE)
        return [role_id]

    def set_admin_roles(self, account_id: str, role_ids: list[str]) -> list[str]:
        answer = self._call("set a member's admin role", self.client.team_members_set_admin_permissions_v2,
                            team.UserSelectorArg.team_member_id(account_id), new_roles=role_ids, write=True)
        return [role.role_id for role in answer.roles]

    # ------------------------------------------------------------------ members
    def iter_accounts(self, *, include_removed: bool = False, page_size: int = 1000) -> Iterator[Account]:
        page = self._json_call("list members", team.members_list_v2,
                               {"limit": page_size, "include_removed": include_removed})
        while True:
            for info in page["members"]:
                yield account_from_json(info)
            if not page["has_more"]:
                return
            page = self._json_call("list members", team.members_list_continue_v2, {"cursor": page["cursor"]})

    def find(self, selectors: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Account | None]:
        """Look members up by ``("id" | "email" | "externalId", value)``, 100 per call and a few calls at once;
        None when not found."""
        chunks = list(chunked(dict.fromkeys(selectors), GET_INFO_BATCH_SIZE))

        def look_up(chunk: list[tuple[str, str]]) -> list[tuple[tuple[str, str], Account | None]]:
            answer = self._call("look up members", self.client.team_members_get_info_v2,
                                [_SELECTORS[kind](value) for kind, value in chunk])
            return [(key, account_from_sdk(item.get_member_info()) if item.is_member_info() else None)
                    for key, item in zip(chunk, answer.members_info)]

        if len(chunks) <= 1:
            answers = [look_up(chunk) for chunk in chunks]
        else:
            # (10,000 changed users are 100 look-ups: one after the other, their latency alone is seconds)
            contexts = [contextvars.copy_context() for _ in chunks]  # log lines name the cycle; one copy each
            with ThreadPoolExecutor(min(FIND_CALLS, len(chunks)), thread_name_prefix="find") as pool:
                answers = list(pool.map(lambda context, chunk: context.run(look_up, chunk), contexts, chunks))
        return {key: account for answer in answers for key, account in answer}

    def find_one(self, kind: str, value: str) -> Account | None:
        return self.find([(kind, value)])[(kind, value)]

    def create_batch(self, accounts: list[NewAccount]) -> list[CreateOutcome]:
        """Add members, 20 per call; one outcome per member, in order."""
        outcomes: list[CreateOutcome] = []
        for batch in chunked(accounts, ADD_BATCH_SIZE):
            outcomes += self._add_batch(batch)
        return outcomes

    def _add_batch(self, batch: list[NewAccount]) -> list[CreateOutcome]:
        # An admin role the team does not have fails that member alone, before anything is sent.
        outcomes: list[CreateOutcome | None] = []
        roles: list[list[str]] = []
        for new in batch:
            try:
                roles.append(self.role_ids_for(new.values.get(ADMIN_ROLE)))
                outcomes.append(None)
            except BadDataError as exc:
                roles.append([])
                outcomes.append(CreateOutcome(CreateOutcome.INVALID, code=exc.code, message=exc.message,
                                              field=ADMIN_ROLE))
        sending = [(new, role_ids) for new, role_ids, outcome in zip(batch, roles, outcomes) if outcome is None]
        if not sending:
            return outcomes  # type: ignore[return-value]
        members = []
        try:
            for new, role_ids in sending:
                member = {"member_email": new.values.get("email"),
                          "member_given_name": new.values.get("givenName") or None,
                          "member_surname": new.values.get("surname") or None,
                          "member_external_id": new.values.get("externalId") or None,
                          "send_welcome_email": new.send_welcome_email, "role_ids": role_ids or None}
                team.MemberAddV2Arg(**member)  # the SDK checks the spec's rules before anything is sent
                members.append({k: v for k, v in member.items() if v is not None})
        except ValidationError as exc:
            raise dropbox_error(exc, action="add members") from exc
        # Sent and answered as JSON (what Stone would write, see the tests), as 5,000 of these calls and
        # their answers of 20 members each are a large part of an initial cycle's work.
        launch = self._json_call("add members", team.members_add_v2, {"new_members": members}, write=True)
        if launch[".tag"] == "async_job_id":
            results = self._poll("add members", self._add_job_status, launch["async_job_id"])
        else:
            results = launch["complete"]
        answered = iter([_outcome(result) for result in results])
        return [outcome if outcome is not None else next(answered) for outcome in outcomes]

    def _add_job_status(self, job_id: str) -> dict:
        """members/add/job_status/get_v2 as JSON: the complete answer of 20 members is the largest a cycle
        reads by the thousand, and only a few of its fields are used."""
        return self._send_json(team.members_add_job_status_get_v2, {"async_job_id": job_id})

    def update(self, account_id: str, changes: Mapping[str, str | None]) -> None:
        # The role first: when Dropbox refuses it (the last team admin), nothing else has changed.
        if ADMIN_ROLE in changes:
            self.set_admin_roles(account_id, self.role_ids_for(changes[ADMIN_ROLE]))
        args = {_PROFILE_ARGS[name]: value for name, value in changes.items() if name in _PROFILE_ARGS}
        if args:
            try:  # the SDK's own argument checks, before anything is sent
                arg = team.MembersSetProfileArg(user=team.UserSelectorArg.team_member_id(account_id), **args)
            except ValidationError as exc:
                raise dropbox_error(exc, action="update a member's profile") from exc
            # The answer (the member's whole profile) is not needed: it is not decoded either.
            self._json_call("update a member's profile", team.members_set_profile_v2,
                            stone_serializers.json_compat_obj_encode(team.members_set_profile_v2.arg_type, arg),
                            write=True)

    def disable(self, account_id: str, *, wipe_devices: bool = False) -> None:
        self._call("suspend a member", self.client.team_members_suspend,
                   team.UserSelectorArg.team_member_id(account_id), wipe_data=wipe_devices, write=True)

    def enable(self, account_id: str) -> None:
        self._call("unsuspend a member", self.client.team_members_unsuspend,
                   team.UserSelectorArg.team_member_id(account_id), write=True)

    def remove(self, account_id: str, options: RemoveOptions = RemoveOptions()) -> None:
        """Remove a member from the team, optionally moving their files to another member."""
        transfer = team.UserSelectorArg.team_member_id(options.transfer_to) if options.transfer_to else None
        launch = self._call(
            "remove a member", self.client.team_members_remove, team.UserSelectorArg.team_member_id(account_id),
            wipe_data=options.wipe_data, keep_account=options.keep_account, transfer_dest_id=transfer,
            transfer_admin_id=transfer, write=True,
        )
        if launch.is_async_job_id():
            self._poll("remove a member", self.client.team_members_remove_job_status_get, launch.get_async_job_id())

    # ------------------------------------------------------------------ groups
    def iter_groups(self) -> Iterator[TargetGroup]:
        page = self._call("list groups", self.client.team_groups_list, limit=1000)
        while True:
            for info in page.groups:
                yield _group(info)
            if not page.has_more:
                return
            page = self._call("list groups", self.client.team_groups_list_continue, page.cursor)

    def create_group(self, values: Mapping[str, str | None]) -> TargetGroup:
        info = self._call(
            "create a group", self.client.team_groups_create, values.get("groupName"), add_creator_as_owner=False,
            group_external_id=values.get("externalId") or None,
            group_management_type=team_common.GroupManagementType.company_managed, write=True,
        )
        return _group(info)

    def update_group(self, group_id: str, changes: Mapping[str, str | None]) -> None:
        self._call(
            "update a group", self.client.team_groups_update, team.GroupSelector.group_id(group_id),
            return_members=False, new_group_name=changes.get("groupName"),
            new_group_external_id=changes.get("externalId"), write=True,
        )

    def delete_group(self, group_id: str) -> None:
        launch = self._call("delete a group", self.client.team_groups_delete, team.GroupSelector.group_id(group_id),
                            write=True)
        if launch.is_async_job_id():
            self._poll("delete a group", self.client.team_groups_job_status_get, launch.get_async_job_id())

    def iter_group_members(self, group_id: str) -> Iterator[str]:
        """Team member ids of a group's members."""
        page = self._call("list group members", self.client.team_groups_members_list,
                          team.GroupSelector.group_id(group_id), limit=1000)
        while True:
            for info in page.members:
                yield info.profile.team_member_id
            if not page.has_more:
                return
            page = self._call("list group members", self.client.team_groups_members_list_continue, page.cursor)

    def add_group_members(self, group_id: str, account_ids: list[str]) -> None:
        if not account_ids:
            return
        # As JSON (what Stone would write, see the tests): an initial cycle adds every member of every group.
        arg = {"group": {".tag": "group_id", "group_id": group_id}, "return_members": False,
               "members": [{"user": {".tag": "team_member_id", "team_member_id": mid}, "access_type": {".tag": "member"}}
                           for mid in account_ids]}
        # The members are in the group once this answers: its async_job_id is a legacy " " that names no job
        # ("the async processing now happens automatically"), so there is nothing to wait for.
        self._json_call("add group members", team.groups_members_add, arg, write=True)

    def remove_group_members(self, group_id: str, account_ids: list[str]) -> None:
        if not account_ids:
            return
        users = [team.UserSelectorArg.team_member_id(mid) for mid in account_ids]
        # (as for an add, done when it answers)
        self._call("remove group members", self.client.team_groups_members_remove,
                   team.GroupSelector.group_id(group_id), users, return_members=False, write=True)


class _JsonJob:
    """An async job's status answered as JSON, read like the SDK's PollResultBase."""

    def __init__(self, data: Mapping):
        self.data = data

    def is_complete(self) -> bool:
        return self.data[".tag"] == "complete"

    def get_complete(self):
        return self.data.get("complete")

    def is_failed(self) -> bool:
        return self.data[".tag"] == "failed"

    def get_failed(self):
        return self.data.get("failed")


def _outcome(result: Any) -> CreateOutcome:
    """The outcome of one ``MemberAddV2Result``, decoded by the SDK or as JSON."""
    if isinstance(result, Mapping):
        tag = result[".tag"]
        if tag == "success":
            return CreateOutcome(CreateOutcome.CREATED, account=account_from_json(result))
    else:
        tag = result._tag
        if tag == "success":
            return CreateOutcome(CreateOutcome.CREATED, account=account_from_sdk(result.get_success()))
    kind, field_name, message = _ADD_FAILURES.get(tag, (CreateOutcome.FAILED, None,
                                                        f"Dropbox refused the member ({tag})."))
    return CreateOutcome(kind, code=f"Dropbox{''.join(p.capitalize() for p in tag.split('_'))}", message=message,
                         field=field_name, recommendation=_LICENSE_ADVICE if kind == CreateOutcome.RETRY_LATER else "")

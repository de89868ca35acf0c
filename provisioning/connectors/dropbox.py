"""Target connector: the Dropbox team, through the official ``dropbox`` SDK.

Members are listed page by page, added 20 at a time (the documented maximum)
with async-job polling, and every per-member answer becomes a typed
:class:`AddOutcome`. Rate limits are honoured here rather than inside the SDK,
so the time spent waiting is known and reported to the engine, which adapts its
concurrency. A connector opened with ``dry_run=True`` refuses every write
before anything is sent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import dropbox
import requests
from dropbox import team, team_common
from stone.backends.python_rsrc.stone_validators import ValidationError

from .errors import ConnectorError, CredentialsError, DryRunWrite, RateLimited, TransientError, dropbox_error
from .routing import REAL_DROPBOX_API_URL, REAL_DROPBOX_WEB_URL, build_routes, routed_session

log = logging.getLogger(__name__)

ADD_BATCH_SIZE = 20  # members/add_v2 takes at most 20 members per call
GET_INFO_BATCH_SIZE = 100


@dataclass
class Member:
    """A Dropbox team member as the engine sees it."""

    team_member_id: str
    email: str
    status: str  # active | invited | suspended | removed
    given_name: str = ""
    surname: str = ""
    external_id: str | None = None
    account_id: str | None = None
    #: admin role names ("Team admin", ...) and their ids
    roles: list[str] = field(default_factory=list)
    role_ids: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    @property
    def is_team_admin(self) -> bool:
        return any(role.lower() == "team admin" for role in self.roles)



@dataclass
class NewMember:
    email: str
    given_name: str | None = None
    surname: str | None = None
    external_id: str | None = None
    send_welcome_email: bool = True


@dataclass
class AddOutcome:
    """What Dropbox did with one new member."""

    email: str
    kind: str  # created | already_on_team | license_limit | invalid | failed
    member: Member | None = None
    code: str = ""
    message: str = ""
    field: str | None = None

    @property
    def ok(self) -> bool:
        return self.kind == "created"


@dataclass
class Group:
    group_id: str
    name: str
    external_id: str | None = None
    member_count: int | None = None
    management_type: str = "company_managed"


@dataclass
class Stats:
    requests: int = 0
    writes: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0


# Per-member failure tags of members/add_v2, with the attribute at fault and a plain message.
_ADD_FAILURES = {
    "team_license_limit": ("license_limit", None, "The Dropbox team has no free license."),
    "free_team_member_limit_reached": ("license_limit", None, "The free Dropbox team is full."),
    "user_already_on_team": ("already_on_team", "email", "The user is already a member of this team."),
    "user_on_another_team": ("invalid", "email", "The email belongs to a member of another Dropbox team."),
    "user_already_paired": ("invalid", "email", "The email belongs to a paired personal and work account."),
    "user_migration_failed": ("failed", "email", "Dropbox could not migrate the user's personal account."),
    "duplicate_external_member_id": ("invalid", "externalId", "Another member already has this external ID."),
    "duplicate_member_persistent_id": ("invalid", "persistentId", "Another member already has this persistent ID."),
    "persistent_id_disabled": ("invalid", "persistentId", "Persistent IDs are disabled for this team."),
    "user_creation_failed": ("failed", None, "Dropbox could not create the user account."),
}


def member_from_sdk(info: Any) -> Member:
    """A :class:`Member` from ``TeamMemberInfoV2`` (or ``TeamMemberInfo``/``TeamMemberProfile``)."""
    profile = getattr(info, "profile", info)
    roles = list(getattr(info, "roles", None) or [])
    status = profile.status
    name = profile.name
    return Member(
        team_member_id=profile.team_member_id,
        email=profile.email,
        status=status._tag if hasattr(status, "_tag") else str(status),
        given_name=name.given_name if name else "",
        surname=name.surname if name else "",
        external_id=profile.external_id,
        account_id=profile.account_id,
        roles=[role.name for role in roles],
        role_ids=[role.role_id for role in roles],
        groups=list(getattr(profile, "groups", None) or []),
    )


class DropboxConnector:
    """One Dropbox team, reached with the team admin's refresh token (or a team token)."""

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
        self.poll_interval = poll_interval
        self.stats = Stats()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, refresh_token: str, **overrides) -> "DropboxConnector":
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
            with self._lock:
                self.stats.requests += 1
                self.stats.writes += int(write)
            try:
                return method(*args, **kwargs)
            except Exception as raw:  # every SDK and HTTP failure is translated in one place
                exc = dropbox_error(raw, action=action)
                if isinstance(exc, RateLimited) and waits < self.max_rate_limit_waits:
                    waits += 1
                    pause = min(max(exc.retry_after, 0.1), self.max_wait)
                    with self._lock:
                        self.stats.throttled += 1
                        self.stats.waited_seconds += pause
                    if self.on_rate_limit:
                        self.on_rate_limit(pause)
                    log.info("Dropbox rate limit while trying to %s; waiting %.1f s", action, pause)
                    time.sleep(pause)
                    continue
                if (isinstance(exc, TransientError) and not isinstance(exc, RateLimited)
                        and isinstance(raw, (requests.ConnectionError, requests.Timeout)) and connection_failures < 3):
                    connection_failures += 1
                    time.sleep(0.5 * 2 ** connection_failures)
                    continue
                raise exc from raw

    def _poll(self, action: str, status_method: Callable, job_id: str, timeout: float = 600.0):
        """Wait for an async job; return its complete value."""
        deadline = time.monotonic() + timeout
        interval = self.poll_interval
        while True:
            result = self._call(action, status_method, job_id)
            if result.is_complete():
                return result.get_complete() if hasattr(result, "get_complete") else None
            if getattr(result, "is_failed", lambda: False)():
                raise ConnectorError(f"Dropbox could not {action}: {result.get_failed()}", service="Dropbox",
                                     code="DropboxJobFailed")
            if time.monotonic() > deadline:
                raise TransientError(f"Dropbox is still working on '{action}' after {timeout:.0f} s.",
                                     service="Dropbox", code="DropboxJobTimeout")
            time.sleep(interval)
            interval = min(interval * 1.5, 2.0)

    # ------------------------------------------------------------------ team and admin
    def get_info(self) -> dict:
        info = self._call("read the team", self.client.team_get_info)
        return {"name": info.name, "team_id": info.team_id, "num_licensed_users": info.num_licensed_users,
                "num_provisioned_users": info.num_provisioned_users}

    def authenticated_admin(self) -> Member:
        """The team admin whose authorization the portal uses."""
        answer = self._call("identify the authorizing admin", self.client.team_token_get_authenticated_admin)
        return member_from_sdk(answer.admin_profile)

    def available_roles(self) -> list[dict]:
        answer = self._call("list admin roles", self.client.team_members_get_available_team_member_roles)
        return [{"role_id": role.role_id, "name": role.name, "description": role.description} for role in answer.roles]

    # ------------------------------------------------------------------ members
    def iter_members(self, *, include_removed: bool = False, page_size: int = 1000) -> Iterator[Member]:
        page = self._call("list members", self.client.team_members_list_v2, limit=page_size,
                          include_removed=include_removed)
        while True:
            for info in page.members:
                yield member_from_sdk(info)
            if not page.has_more:
                return
            page = self._call("list members", self.client.team_members_list_continue_v2, page.cursor)

    def get_members(self, selectors: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Member | None]:
        """Look members up by ``("email"|"team_member_id"|"external_id", value)``; None when not found."""
        selectors = list(dict.fromkeys(selectors))
        found: dict[tuple[str, str], Member | None] = {}
        for start in range(0, len(selectors), GET_INFO_BATCH_SIZE):
            chunk = selectors[start:start + GET_INFO_BATCH_SIZE]
            answer = self._call("look up members", self.client.team_members_get_info_v2,
                                [_selector(kind, value) for kind, value in chunk])
            for key, item in zip(chunk, answer.members_info):
                found[key] = member_from_sdk(item.get_member_info()) if item.is_member_info() else None
        return found

    def get_member(self, kind: str, value: str) -> Member | None:
        return self.get_members([(kind, value)])[(kind, value)]

    def add_members(self, new_members: list[NewMember]) -> list[AddOutcome]:
        """Add members, 20 per call; one outcome per member, in order."""
        outcomes: list[AddOutcome] = []
        for start in range(0, len(new_members), ADD_BATCH_SIZE):
            outcomes += self._add_batch(new_members[start:start + ADD_BATCH_SIZE])
        return outcomes

    def _add_batch(self, batch: list[NewMember]) -> list[AddOutcome]:
        try:
            args = [
                team.MemberAddV2Arg(
                    member_email=m.email, member_given_name=m.given_name or None, member_surname=m.surname or None,
                    member_external_id=m.external_id or None, send_welcome_email=m.send_welcome_email,
                )
                for m in batch
            ]
        except ValidationError as exc:  # the SDK checks the spec's rules before sending
            raise dropbox_error(exc, action="add members") from exc
        launch = self._call("add members", self.client.team_members_add_v2, args, write=True)
        if launch.is_async_job_id():
            results = self._poll("add members", self.client.team_members_add_job_status_get_v2,
                                 launch.get_async_job_id())
        else:
            results = launch.get_complete()
        return [self._outcome(member, result) for member, result in zip(batch, results)]

    @staticmethod
    def _outcome(member: NewMember, result: Any) -> AddOutcome:
        tag = result._tag
        if tag == "success":
            return AddOutcome(member.email, "created", member=member_from_sdk(result.get_success()))
        kind, field_name, message = _ADD_FAILURES.get(tag, ("failed", None, f"Dropbox refused the member ({tag})."))
        return AddOutcome(member.email, kind, code=f"Dropbox{''.join(p.capitalize() for p in tag.split('_'))}",
                          message=message, field=field_name)

    def set_profile(self, team_member_id: str, *, email: str | None = None, given_name: str | None = None,
                    surname: str | None = None, external_id: str | None = None) -> Member:
        answer = self._call(
            "update a member's profile", self.client.team_members_set_profile_v2,
            team.UserSelectorArg.team_member_id(team_member_id),
            new_email=email, new_external_id=external_id, new_given_name=given_name, new_surname=surname,
            write=True,
        )
        return member_from_sdk(answer.member_info)

    def suspend(self, team_member_id: str, *, wipe_data: bool = False) -> None:
        self._call("suspend a member", self.client.team_members_suspend,
                   team.UserSelectorArg.team_member_id(team_member_id), wipe_data=wipe_data, write=True)

    def unsuspend(self, team_member_id: str) -> None:
        self._call("unsuspend a member", self.client.team_members_unsuspend,
                   team.UserSelectorArg.team_member_id(team_member_id), write=True)

    def remove(self, team_member_id: str, *, wipe_data: bool = True, keep_account: bool = False,
               transfer_dest_id: str | None = None, transfer_admin_id: str | None = None) -> None:
        """Remove a member from the team, optionally moving their files to another member."""
        launch = self._call(
            "remove a member", self.client.team_members_remove,
            team.UserSelectorArg.team_member_id(team_member_id),
            wipe_data=wipe_data, keep_account=keep_account,
            transfer_dest_id=team.UserSelectorArg.team_member_id(transfer_dest_id) if transfer_dest_id else None,
            transfer_admin_id=team.UserSelectorArg.team_member_id(transfer_admin_id) if transfer_admin_id else None,
            write=True,
        )
        if launch.is_async_job_id():
            self._poll("remove a member", self.client.team_members_remove_job_status_get, launch.get_async_job_id())

    def set_admin_roles(self, team_member_id: str, role_ids: list[str]) -> list[str]:
        answer = self._call("set a member's admin role", self.client.team_members_set_admin_permissions_v2,
                            team.UserSelectorArg.team_member_id(team_member_id), new_roles=role_ids, write=True)
        return [role.role_id for role in answer.roles]

    # ------------------------------------------------------------------ groups
    def iter_groups(self) -> Iterator[Group]:
        page = self._call("list groups", self.client.team_groups_list, limit=1000)
        while True:
            for info in page.groups:
                yield _group(info)
            if not page.has_more:
                return
            page = self._call("list groups", self.client.team_groups_list_continue, page.cursor)

    def create_group(self, name: str, *, external_id: str | None = None) -> Group:
        info = self._call(
            "create a group", self.client.team_groups_create, name, add_creator_as_owner=False,
            group_external_id=external_id, group_management_type=team_common.GroupManagementType.company_managed,
            write=True,
        )
        return _group(info)

    def update_group(self, group_id: str, *, name: str | None = None, external_id: str | None = None) -> Group:
        info = self._call(
            "update a group", self.client.team_groups_update, team.GroupSelector.group_id(group_id),
            return_members=False, new_group_name=name, new_group_external_id=external_id, write=True,
        )
        return _group(info)

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

    def add_group_members(self, group_id: str, team_member_ids: list[str]) -> None:
        if not team_member_ids:
            return
        members = [team.MemberAccess(team.UserSelectorArg.team_member_id(mid), team.GroupAccessType.member)
                   for mid in team_member_ids]
        answer = self._call("add group members", self.client.team_groups_members_add,
                            team.GroupSelector.group_id(group_id), members, return_members=False, write=True)
        self._poll("add group members", self.client.team_groups_job_status_get, answer.async_job_id)

    def remove_group_members(self, group_id: str, team_member_ids: list[str]) -> None:
        if not team_member_ids:
            return
        users = [team.UserSelectorArg.team_member_id(mid) for mid in team_member_ids]
        answer = self._call("remove group members", self.client.team_groups_members_remove,
                            team.GroupSelector.group_id(group_id), users, return_members=False, write=True)
        self._poll("remove group members", self.client.team_groups_job_status_get, answer.async_job_id)


def _selector(kind: str, value: str) -> team.UserSelectorArg:
    if kind == "email":
        return team.UserSelectorArg.email(value)
    if kind == "external_id":
        return team.UserSelectorArg.external_id(value)
    if kind == "team_member_id":
        return team.UserSelectorArg.team_member_id(value)
    raise ValueError(f"unknown member selector {kind!r}")


def _group(info: Any) -> Group:
    management = getattr(info, "group_management_type", None)
    return Group(
        group_id=info.group_id, name=info.group_name, external_id=info.group_external_id,
        member_count=getattr(info, "member_count", None),
        management_type=management._tag if management is not None and hasattr(management, "_tag") else "",
    )


def authorize_flow(*, redirect_uri: str, session_store: dict, app_key: str, api_url: str = REAL_DROPBOX_API_URL, web_url: str = REAL_DROPBOX_WEB_URL,
                   csrf_key: str = "dropbox-auth-csrf-token") -> dropbox.DropboxOAuth2Flow:
    """The SDK's OAuth2 code flow with PKCE and ``token_access_type=offline``, its requests routed."""
    flow = dropbox.DropboxOAuth2Flow(
        consumer_key=app_key, redirect_uri=redirect_uri, session=session_store, csrf_token_session_key=csrf_key,
        use_pkce=True, token_access_type="offline",
    )
    flow.requests_session = routed_session(build_routes(dropbox_api_url=api_url, dropbox_web_url=web_url))
    return flow

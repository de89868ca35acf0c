"""Source connector: users, groups, members and app role assignments from
Microsoft Entra ID through Microsoft Graph v1.0.

Everything is streamed page by page (``$top=999``, ``@odata.nextLink``), so memory
stays constant per page whatever the size of the tenant. Throttling (429 and its
``Retry-After``), 5xx answers and broken connections are retried with capped,
jittered backoff; everything else becomes one of the errors in
:mod:`provisioning.connectors.errors`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

import msal
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from ..batching import chunked
from .calls import CallStats
from .errors import (
    BadDataError,
    ConfigurationError,
    ConnectorError,
    DeltaExpired,
    NotFoundError,
    RateLimited,
    TransientError,
    graph_error,
    graph_error_from,
    msal_error,
)
from .routing import REAL_ENTRA_LOGIN_URL, REAL_GRAPH_URL, build_routes, routed_session

log = logging.getLogger(__name__)

GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]
PAGE_SIZE = 999
BATCH_SIZE = 20
DEFAULT_ACCESS_ROLE_ID = "00000000-0000-0000-0000-000000000000"

#: Source attribute names of the mappings that are not Graph property names (None: not read by $select).
GRAPH_NAMES: dict[str, str | None] = {"objectId": "id", "IsSoftDeleted": None, "members": None,
                                       "appRoleAssignments": None}

#: Properties the engine always needs, whatever the mappings read.
USER_BASE_SELECT = ("id", "userPrincipalName", "displayName", "accountEnabled", "mail")
GROUP_BASE_SELECT = ("id", "displayName")

# msal keeps its token cache inside the application object: one per credential
# set for the life of the process, so workers do not ask for a token per task.
_msal_apps: dict[tuple, msal.ConfidentialClientApplication] = {}
_msal_lock = threading.Lock()


@dataclass
class DeltaRound:
    """The changes of one delta round. Iterate it for the changed objects; once
    exhausted, ``delta_link`` holds the link for the next round."""

    connector: "EntraConnector"
    first_url: str
    params: dict | None = None
    headers: dict | None = None
    delta_link: str | None = None
    pages: int = 0

    def __iter__(self) -> Iterator[dict]:
        url, params = self.first_url, self.params
        while url:
            try:
                page = self.connector.get_json(url, params=params, headers=self.headers)
            except (BadDataError, NotFoundError) as exc:
                if _delta_expired(exc):
                    raise DeltaExpired(
                        "Microsoft Graph no longer knows the delta link (it expires after about a week without "
                        "use), so the changes since the last cycle cannot be read.",
                        service="Microsoft Graph", code="GraphSyncStateNotFound") from exc
                raise
            self.pages += 1
            yield from page.get("value", [])
            url, params = page.get("@odata.nextLink"), None
            if not url:
                self.delta_link = page.get("@odata.deltaLink")
        if not self.delta_link:
            raise TransientError("Microsoft Graph ended a delta round without a deltaLink.", service="Microsoft Graph")


def _delta_expired(exc: ConnectorError) -> bool:
    code = str((exc.detail or {}).get("code", "")) if isinstance(exc.detail, dict) else ""
    return exc.status == 410 or code in ("syncStateNotFound", "resyncRequired", "syncStateInvalid")


class EntraConnector:
    """Reads (and, for the assignment page, writes) one tenant through Microsoft Graph."""

    #: how the connector waits before a retry (tests replace it rather than wait)
    sleep = staticmethod(time.sleep)

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        login_url: str = REAL_ENTRA_LOGIN_URL,
        graph_url: str = REAL_GRAPH_URL,
        session: requests.Session | None = None,
        max_attempts: int = 6,
        max_wait: float = 60.0,
        timeout: float = 60.0,
    ):
        if not (tenant_id and client_id and client_secret):
            raise ConfigurationError(
                "The portal has no app registration for the tenant: set ENTRA_TENANT_ID, ENTRA_CLIENT_ID and "
                "ENTRA_CLIENT_SECRET.", service="Microsoft Entra ID", code="EntraNotConfigured",
            )
        self.tenant_id = tenant_id
        self.client_id = client_id
        self._client_secret = client_secret
        self.session = session or routed_session(build_routes(entra_login_url=login_url, graph_url=graph_url))
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.timeout = timeout
        self.stats = CallStats()
        self._key = (tenant_id, client_id, hash(client_secret), login_url, graph_url)

    @classmethod
    def from_settings(cls, **overrides) -> "EntraConnector":
        from django.conf import settings

        return cls(
            tenant_id=settings.ENTRA_TENANT_ID, client_id=settings.ENTRA_CLIENT_ID,
            client_secret=settings.ENTRA_CLIENT_SECRET, login_url=settings.ENTRA_LOGIN_URL,
            graph_url=settings.GRAPH_URL, **overrides,
        )

    # ------------------------------------------------------------------ tokens
    def _app(self) -> msal.ConfidentialClientApplication:
        with _msal_lock:
            app = _msal_apps.get(self._key)
            if app is None:
                try:
                    app = msal.ConfidentialClientApplication(
                        self.client_id,
                        client_credential=self._client_secret,
                        # The real host is a known authority, so msal skips instance
                        # discovery; the session routes it to ENTRA_LOGIN_URL.
                        authority=f"{REAL_ENTRA_LOGIN_URL}/{self.tenant_id}",
                        http_client=self.session,
                        timeout=self.timeout,
                    )
                except ValueError as exc:  # msal raises ValueError for an unknown tenant
                    raise ConfigurationError(f"Microsoft Entra ID does not know this tenant: {exc}",
                                             service="Microsoft Entra ID", code="EntraTenantNotFound") from exc
                except requests.RequestException as exc:
                    raise TransientError(f"Microsoft Entra ID could not be reached: {exc.__class__.__name__}",
                                         service="Microsoft Entra ID") from exc
                _msal_apps[self._key] = app
            return app

    def token(self) -> str:
        result = self._app().acquire_token_for_client(scopes=GRAPH_SCOPE)
        if "access_token" not in result:
            raise msal_error(result)
        return result["access_token"]

    def _forget_token(self) -> None:
        app = _msal_apps.get(self._key)
        if app is not None:
            for item in app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN):
                app.token_cache.remove_at(item)

    # ------------------------------------------------------------------ HTTP
    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited):
            return min(exc.retry_after, self.max_wait)
        return wait_exponential_jitter(multiplier=0.5, max=min(20.0, self.max_wait), jitter=1.0)(state)

    def _before_sleep(self, state: RetryCallState) -> None:
        pause = state.next_action.sleep if state.next_action else 0.0
        exc = state.outcome.exception() if state.outcome else None
        self.stats.waited(pause, throttled=isinstance(exc, RateLimited))
        log.info("Graph call failed (%s); retrying in %.1f s", exc, pause)

    def request(self, method: str, url: str, *, params=None, json=None, headers=None) -> requests.Response:
        """One Graph call with retries. ``url`` is absolute or relative to ``/v1.0``."""
        if not url.startswith("http"):
            url = f"{REAL_GRAPH_URL}/v1.0/{url.lstrip('/')}"
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            before_sleep=self._before_sleep,
            reraise=True,
            sleep=lambda seconds: self.sleep(seconds),
        )
        for attempt in retrying:
            with attempt:
                return self._send(method, url, params=params, json=json, headers=headers, retry_auth=True)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method, url, *, params, json, headers, retry_auth: bool) -> requests.Response:
        all_headers = {"Authorization": f"Bearer {self.token()}", **(headers or {})}
        self.stats.called(write=method != "GET")
        try:
            response = self.session.request(method, url, params=params, json=json, headers=all_headers,
                                            timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"Microsoft Graph could not be reached: {exc.__class__.__name__}",
                                 service="Microsoft Graph", code="GraphUnreachable") from exc
        if response.status_code == 401 and retry_auth:
            # A token revoked or expired early: drop it and try once with a fresh one.
            self._forget_token()
            return self._send(method, url, params=params, json=json, headers=headers, retry_auth=False)
        if response.status_code >= 400:
            raise graph_error(response)
        return response

    def get_json(self, url: str, *, params=None, headers=None) -> dict:
        return self.request("GET", url, params=params, headers=headers).json()

    def iter_collection(self, url: str, *, params=None, headers=None) -> Iterator[dict]:
        """Every item of a collection, following ``@odata.nextLink`` one page at a time."""
        while url:
            page = self.get_json(url, params=params, headers=headers)
            yield from page.get("value", [])
            url, params = page.get("@odata.nextLink"), None

    # ------------------------------------------------------------------ reads
    @staticmethod
    def _select(base: Iterable[str], extra: Iterable[str]) -> str:
        return ",".join(dict.fromkeys([*base, *extra]))

    def iter_users(self, select: Iterable[str] = ()) -> Iterator[dict]:
        params = {"$select": self._select(USER_BASE_SELECT, select), "$top": PAGE_SIZE}
        return self.iter_collection("users", params=params)

    def get_user(self, user_id: str, select: Iterable[str] = ()) -> dict:
        return self.get_json(f"users/{quote(user_id, safe='')}", params={"$select": self._select(USER_BASE_SELECT, select)})

    def iter_member_of(self, user_id: str, *, transitive: bool = False) -> Iterator[dict]:
        """The groups (and other directory objects) a user is a member of."""
        relation = "transitiveMemberOf" if transitive else "memberOf"
        return self.iter_collection(f"users/{quote(user_id, safe='')}/{relation}", params={"$select": "id,displayName"})

    def iter_groups(self, select: Iterable[str] = ()) -> Iterator[dict]:
        params = {"$select": self._select(GROUP_BASE_SELECT, select), "$top": PAGE_SIZE}
        return self.iter_collection("groups", params=params)

    def get_group(self, group_id: str, select: Iterable[str] = ()) -> dict:
        return self.get_json(f"groups/{quote(group_id, safe='')}", params={"$select": self._select(GROUP_BASE_SELECT, select)})

    def iter_group_members(self, group_id: str, *, transitive: bool = False) -> Iterator[dict]:
        relation = "transitiveMembers" if transitive else "members"
        params = {"$select": "id,displayName,userPrincipalName", "$top": PAGE_SIZE}
        return self.iter_collection(f"groups/{quote(group_id, safe='')}/{relation}", params=params)

    def iter_members_of_groups(self, group_ids: Iterable[str], *, transitive: bool = False) -> Iterator[tuple[str, dict]]:
        """(group id, member) for the members of many groups, 20 first pages per ``$batch``."""
        relation = "transitiveMembers" if transitive else "members"
        for chunk in chunked(dict.fromkeys(group_ids), BATCH_SIZE):
            requests_ = {gid: f"/groups/{gid}/{relation}?$select=id,displayName,userPrincipalName&$top={PAGE_SIZE}"
                         for gid in chunk}
            # A group deleted while it is read simply has no members.
            answers, _ = self.batch_get(requests_, missing_ok=True)
            for gid, body in answers.items():
                yield from ((gid, member) for member in body.get("value", []))
                next_link = body.get("@odata.nextLink")
                if next_link:
                    yield from ((gid, member) for member in self.iter_collection(next_link))

    def batch_get(self, requests_by_id: dict[str, str], *, missing_ok: bool = False):
        """GET up to 20 relative URLs in one ``$batch``; throttled or failed inner requests are retried.

        Returns the answers by id; with ``missing_ok``, ``(answers, ids answered 404)`` instead of
        raising :class:`NotFoundError` for objects that do not exist (any more)."""
        if len(requests_by_id) > BATCH_SIZE:
            raise ValueError("a $batch holds at most 20 requests")
        pending = dict(requests_by_id)
        results: dict[str, dict] = {}
        missing: set[str] = set()
        for attempt in range(self.max_attempts):
            body = {"requests": [{"id": rid, "method": "GET", "url": url} for rid, url in pending.items()]}
            answer = self.request("POST", "$batch", json=body).json()
            retry_after = 0.0
            for item in answer.get("responses", []):
                rid, status = item.get("id"), int(item.get("status", 500))
                if status < 300:
                    results[rid] = item.get("body") or {}
                    pending.pop(rid, None)
                elif status == 404 and missing_ok:
                    missing.add(rid)
                    pending.pop(rid, None)
                elif status == 429 or status >= 500:
                    headers = {k.lower(): v for k, v in (item.get("headers") or {}).items()}
                    retry_after = max(retry_after, float(headers.get("retry-after", 2 ** attempt)))
                else:
                    raise graph_error_from(status, item.get("body"), item.get("headers"))
            if not pending:
                return (results, missing) if missing_ok else results
            pause = min(retry_after or 1.0, self.max_wait)
            self.stats.waited(pause, throttled=True)
            self.sleep(pause)
        raise TransientError(f"Microsoft Graph kept failing {len(pending)} requests of a $batch.",
                             service="Microsoft Graph")

    # ------------------------------------------------------------------ what a cycle reads, by source attribute
    @staticmethod
    def select_for(attribute_names: Iterable[str]) -> list[str]:
        """The Graph ``$select`` for the mappings' source attribute names (``objectId`` is ``id``;
        ``IsSoftDeleted`` is derived, and a group's ``members`` are read apart)."""
        return [GRAPH_NAMES.get(name, name) for name in sorted(attribute_names) if GRAPH_NAMES.get(name, name)]

    def get_users(self, ids: Iterable[str], select: Iterable[str] = ()) -> tuple[dict[str, dict], set[str]]:
        """Users by id, 20 per ``$batch``: (found, ids that do not exist)."""
        return self._get_many("users", ids, self._select(USER_BASE_SELECT, select))

    def get_groups(self, ids: Iterable[str], select: Iterable[str] = ()) -> tuple[dict[str, dict], set[str]]:
        """Groups by id, 20 per ``$batch``: (found, ids that do not exist)."""
        return self._get_many("groups", ids, self._select(GROUP_BASE_SELECT, select))

    def _get_many(self, collection: str, ids: Iterable[str], select: str) -> tuple[dict[str, dict], set[str]]:
        found: dict[str, dict] = {}
        missing: set[str] = set()
        for chunk in chunked(dict.fromkeys(ids), BATCH_SIZE):
            answers, gone = self.batch_get({oid: f"/{collection}/{quote(oid, safe='')}?$select={select}" for oid in chunk},
                                           missing_ok=True)
            found.update(answers)
            missing |= gone
        return found, missing

    def soft_deleted_user_ids(self) -> set[str]:
        """Users in the tenant's recycle bin."""
        return {item["id"] for item in self.iter_collection(
            "directory/deletedItems/microsoft.graph.user", params={"$select": "id", "$top": PAGE_SIZE})}

    def is_soft_deleted(self, user_id: str) -> bool:
        """Whether a user is in the recycle bin (deleted, still restorable)."""
        try:
            self.get_json(f"directory/deletedItems/{quote(user_id, safe='')}")
            return True
        except NotFoundError:
            return False

    def member_ids_of_groups(self, group_ids: Iterable[str]) -> Iterator[tuple[str, str, str]]:
        """(group id, member id, "user" | "group") for the direct members of groups."""
        for gid, member in self.iter_members_of_groups(group_ids):
            yield gid, member["id"], "group" if member.get("@odata.type", "").endswith("group") else "user"

    def group_ids_of_user(self, user_id: str, *, transitive: bool = False) -> set[str]:
        """The groups a user is a member of (directly, or at any depth)."""
        return {item["id"] for item in self.iter_member_of(user_id, transitive=transitive)
                if item.get("@odata.type", "").endswith("group")}

    def users_delta(self, *, select: Iterable[str] = (), delta_link: str | None = None) -> DeltaRound:
        """A delta round for users: all users on the first round, then only changes."""
        if delta_link:
            return DeltaRound(self, delta_link)
        return DeltaRound(self, f"{REAL_GRAPH_URL}/v1.0/users/delta",
                          params={"$select": self._select(USER_BASE_SELECT, select)})

    def groups_delta(self, *, select: Iterable[str] = (), delta_link: str | None = None) -> DeltaRound:
        """A delta round for groups, with ``members@delta`` (a big group may repeat across pages)."""
        if delta_link:
            return DeltaRound(self, delta_link)
        return DeltaRound(self, f"{REAL_GRAPH_URL}/v1.0/groups/delta",
                          params={"$select": self._select((*GROUP_BASE_SELECT, "members"), select)})

    def latest_delta_link(self, kind: str, *, select: Iterable[str] = ()) -> str:
        """A delta link for 'from now on' (``$deltatoken=latest``), without reading every object."""
        base = USER_BASE_SELECT if kind == "users" else (*GROUP_BASE_SELECT, "members")
        round_ = DeltaRound(self, f"{REAL_GRAPH_URL}/v1.0/{kind}/delta",
                            params={"$select": self._select(base, select), "$deltatoken": "latest"})
        for _ in round_:
            pass
        return round_.delta_link  # type: ignore[return-value]

    # ------------------------------------------------------------------ service principals and assignments
    def find_service_principal(self, app_id: str) -> dict | None:
        found = self.get_json("servicePrincipals", params={"$filter": f"appId eq '{app_id}'"}).get("value", [])
        return found[0] if found else None

    def get_service_principal(self, sp_id: str) -> dict:
        return self.get_json(f"servicePrincipals/{quote(sp_id, safe='')}")

    def create_service_principal(self, app_id: str) -> dict:
        return self.request("POST", "servicePrincipals", json={"appId": app_id}).json()

    def ensure_service_principal(self, app_id: str) -> tuple[dict, bool]:
        """The service principal of a gallery app in the tenant, created if missing; (sp, created)."""
        existing = self.find_service_principal(app_id)
        if existing:
            return existing, False
        return self.create_service_principal(app_id), True

    def app_roles(self, sp_id: str) -> dict[str, dict]:
        """The service principal's app roles by id: {"value", "displayName"} (what a user can be
        assigned as)."""
        sp = self.get_json(f"servicePrincipals/{quote(sp_id, safe='')}", params={"$select": "id,appRoles"})
        return {role["id"]: {"value": role.get("value"), "displayName": role.get("displayName")}
                for role in sp.get("appRoles") or ()}

    def instantiate(self, template_id: str, display_name: str) -> dict:
        """A new instance of a gallery application: its own application object and service
        principal in the tenant (``applicationTemplates/{id}/instantiate``); the service principal,
        with its ``application``."""
        answer = self.request("POST", f"applicationTemplates/{quote(template_id, safe='')}/instantiate",
                              json={"displayName": display_name}).json()
        return {**answer["servicePrincipal"], "application": answer.get("application") or {}}

    def template_instances(self, template_id: str) -> list[dict]:
        """The service principals in the tenant made from this gallery template, by name."""
        found = self.iter_collection("servicePrincipals", params={
            "$filter": f"applicationTemplateId eq '{template_id}'", "$select": "id,appId,displayName",
            "$top": PAGE_SIZE})
        return sorted(found, key=lambda sp: (sp.get("displayName") or "").lower())

    def iter_assignments(self, sp_id: str) -> Iterator[dict]:
        return self.iter_collection(f"servicePrincipals/{quote(sp_id, safe='')}/appRoleAssignedTo", params={"$top": PAGE_SIZE})

    def add_assignment(self, sp_id: str, principal_id: str, app_role_id: str) -> dict:
        body = {"principalId": principal_id, "resourceId": sp_id, "appRoleId": app_role_id}
        return self.request("POST", f"servicePrincipals/{quote(sp_id, safe='')}/appRoleAssignedTo", json=body).json()

    def remove_assignment(self, sp_id: str, assignment_id: str) -> None:
        self.request("DELETE", f"servicePrincipals/{quote(sp_id, safe='')}/appRoleAssignedTo/{quote(assignment_id, safe='')}")

    def search_directory(self, text: str, *, limit: int = 10, kinds: tuple[str, ...] = ("users", "groups")) -> list[dict]:
        """Users (by name or UPN) and groups (by name) whose names start with ``text``."""
        text = text.replace("'", "''")
        results: list[dict] = []
        if "users" in kinds:
            flt = f"startswith(displayName,'{text}') or startswith(userPrincipalName,'{text}')"
            page = self.get_json("users", params={"$filter": flt, "$top": limit,
                                                  "$select": "id,displayName,userPrincipalName,mail,accountEnabled"})
            results += [{**user, "type": "User"} for user in page.get("value", [])]
        if "groups" in kinds:
            page = self.get_json("groups", params={"$filter": f"startswith(displayName,'{text}')", "$top": limit,
                                                   "$select": "id,displayName,description"})
            results += [{**group, "type": "Group"} for group in page.get("value", [])]
        return results


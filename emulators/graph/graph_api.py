"""Microsoft Graph v1.0: the directory routes a provisioning service uses.

Handlers take a :class:`GraphRequest` and return a :class:`GraphResponse`, so
the same code serves a plain HTTP request and each request inside ``$batch``.
"""

from __future__ import annotations

import json
import re
from operator import attrgetter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from .catalog import APPLICATION_TEMPLATES, public_template
from .delta import DeltaRequest
from .directory import Directory
from .errors import GraphError, bad_request, forbidden, not_found, unsupported_query
from .model import (
    ASSIGNMENT_PROPERTIES, GROUP_DEFAULT, GROUP_TYPES, SP_DEFAULT, SP_TYPES, USER_DEFAULT, USER_TYPES, User,
)
from .query import (
    EntityQuery, compile_filter, compile_search, parse_orderby, parse_select, simple_equality,
    _GROUP_SUPPORT, _SP_SUPPORT, _USER_SUPPORT,
)
from .tokens import seal, unseal

JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

USERS = EntityQuery("microsoft.graph.user", "User", USER_TYPES, USER_DEFAULT, _USER_SUPPORT,
                    ("displayName", "userPrincipalName"),
                    ("displayName", "givenName", "surname", "mail", "userPrincipalName", "mailNickname",
                     "jobTitle", "department", "employeeId"))
GROUPS = EntityQuery("microsoft.graph.group", "Group", GROUP_TYPES, GROUP_DEFAULT, _GROUP_SUPPORT,
                     ("displayName",), ("displayName", "description", "mail", "mailNickname"))
SPS = EntityQuery("microsoft.graph.servicePrincipal", "ServicePrincipal", dict(SP_TYPES, publisherName="str"),
                  SP_DEFAULT, _SP_SUPPORT, (), ("displayName", "description", "publisherName"))
_DIRECTORY_TYPES = {**SP_TYPES, **GROUP_TYPES, **USER_TYPES}
DIRECTORY_OBJECTS = EntityQuery("microsoft.graph.directoryObject", "DirectoryObject", _DIRECTORY_TYPES,
                                ("id",), {}, (), ())
ASSIGNMENT_TYPES = {name: "str" for name in ASSIGNMENT_PROPERTIES}
ASSIGNMENTS = EntityQuery("microsoft.graph.appRoleAssignment", "AppRoleAssignment", ASSIGNMENT_TYPES,
                          ASSIGNMENT_PROPERTIES,
                          {("principalId", "eq"): "default", ("principalType", "eq"): "default",
                           ("appRoleId", "eq"): "default", ("principalDisplayName", "eq"): "default",
                           ("principalDisplayName", "startswith"): "default"},
                          (), ())

ODATA_TYPE = {"user": "#microsoft.graph.user", "group": "#microsoft.graph.group",
              "servicePrincipal": "#microsoft.graph.servicePrincipal"}

READ_USERS = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All",
                        "User.ReadBasic.All"})
WRITE_USERS = frozenset({"User.ReadWrite.All", "Directory.ReadWrite.All"})
READ_GROUPS = frozenset({"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All",
                         "GroupMember.Read.All", "GroupMember.ReadWrite.All"})
WRITE_GROUPS = frozenset({"Group.ReadWrite.All", "Directory.ReadWrite.All"})
WRITE_MEMBERS = frozenset({"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"})
READ_APPS = frozenset({"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All",
                       "Directory.ReadWrite.All"})
WRITE_APPS = frozenset({"Application.ReadWrite.All", "Directory.ReadWrite.All"})
READ_ASSIGNMENTS = READ_APPS | {"AppRoleAssignment.ReadWrite.All"}
WRITE_ASSIGNMENTS = frozenset({"AppRoleAssignment.ReadWrite.All", "Directory.ReadWrite.All"})
READ_DIRECTORY = READ_USERS | READ_GROUPS | READ_APPS
SIGNED_IN = frozenset({"User.Read", "User.ReadWrite", "User.Read.All", "Directory.Read.All"})


@dataclass
class GraphRequest:
    method: str
    path: str                      # after /v1.0, e.g. "/users/123"
    query: dict[str, str]
    headers: dict[str, str]        # lower-cased names
    body: Any
    base: str                      # scheme://host the client used, for absolute links
    claims: dict
    raw_query: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def eventual(self) -> bool:
        return (self.header("consistencylevel") or "").strip().lower() == "eventual"

    @property
    def count_requested(self) -> bool:
        return (self.query.get("$count") or "").lower() == "true"

    @property
    def advanced(self) -> bool:
        return self.eventual and self.count_requested

    @property
    def minimal(self) -> bool:
        return "return=minimal" in (self.header("prefer") or "").replace(" ", "").lower()


@dataclass
class GraphResponse:
    status: int = 200
    body: Any = None
    headers: dict = field(default_factory=dict)
    text: str | None = None


def json_ok(body: Any, status: int = 200, headers: dict | None = None) -> GraphResponse:
    return GraphResponse(status, body, headers or {})


def no_content() -> GraphResponse:
    return GraphResponse(204, None)


class GraphApi:
    """The directory routes over one emulator's state."""

    def __init__(self, emulator):
        self.emulator = emulator
        self._sorted_cache: dict = {}

    @property
    def d(self) -> Directory:
        return self.emulator.state

    # ------------------------------------------------------------------ dispatch

    def dispatch(self, req: GraphRequest) -> GraphResponse:
        segments = [s for s in req.path.split("/") if s]
        if not segments:
            raise GraphError(400, "BadRequest", "Resource not found for the segment ''.")
        head = segments[0]
        match = re.fullmatch(r"applications\(appId='([^']*)'\)", head)
        if match:
            segments = ["applications", self.d.application_by_app_id(match.group(1))["id"]] + segments[1:]
            head = "applications"
        match = re.fullmatch(r"servicePrincipals\(appId='([^']*)'\)", head)
        if match:
            sp = self.d.sps.get(self.d.sp_by_app.get(match.group(1), ""))
            if sp is None:
                raise not_found(match.group(1))
            segments = ["servicePrincipals", sp.id] + segments[1:]
            head = "servicePrincipals"
        handler = {
            "users": self._users, "groups": self._groups, "servicePrincipals": self._service_principals,
            "directory": self._directory, "directoryObjects": self._directory_objects, "me": self._me,
            "organization": self._organization, "applicationTemplates": self._application_templates,
            "applications": self._applications,
        }.get(head)
        if handler is None:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{head}'.")
        return handler(req, segments[1:])

    def _require(self, req: GraphRequest, allowed: frozenset) -> None:
        granted = self.emulator.granted(req.claims)
        if not granted & allowed:
            raise forbidden()

    @staticmethod
    def _method_not_allowed() -> GraphError:
        return GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")

    @staticmethod
    def _segment_error(segment: str) -> GraphError:
        return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")

    # ------------------------------------------------------------------ users

    def _users(self, req: GraphRequest, rest: list[str]) -> GraphResponse:
        m = req.method
        if not rest:
            if m == "GET":
                self._require(req, READ_USERS)
                return self._list(req, USERS, "users", self._user_source())
            if m == "POST":
                self._require(req, WRITE_USERS)
                user = self.d.create_user(_body_object(req))
                body = {"@odata.context": f"{req.base}/v1.0/$metadata#users/$entity"}
                body.update(render(user, USER_DEFAULT))
                location = f"https://graph.microsoft.com/v2/{self.d.tenant_id}/directoryObjects/{user.id}/" \
                           f"Microsoft.DirectoryServices.User"
                return json_ok(body, 201, {"Location": location})
            raise self._method_not_allowed()
        key = rest[0]
        if key == "$count":
            self._require(req, READ_USERS)
            return self._count(req, USERS, self._user_source())
        if key in ("delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()"):
            if m != "GET":
                raise self._method_not_allowed()
            self._require(req, READ_USERS)
            return self._delta(req, "users", USERS)
        if len(rest) == 1:
            if m == "GET":
                self._require(req, READ_USERS)
                user = self.d.user(key)
                select = parse_select(req.query.get("$select"), USERS) or USER_DEFAULT
                body = {"@odata.context": _entity_context(req.base, "users", req.query.get("$select"))}
                body.update(render(user, select))
                return json_ok(body)
            if m == "PATCH":
                self._require(req, WRITE_USERS)
                self.d.update_user(self.d.user(key), _body_object(req))
                return no_content()
            if m == "DELETE":
                self._require(req, WRITE_USERS)
                self.d.delete_user(self.d.user(key))
                return no_content()
            raise self._method_not_allowed()
        user = self.d.user(key)
        relation = rest[1]
        if m != "GET":
            raise self._method_not_allowed()
        self._require(req, READ_USERS)
        if relation in ("memberOf", "transitiveMemberOf"):
            self._require(req, READ_GROUPS | READ_DIRECTORY)
            ids = self.d.member_of(user.id) if relation == "memberOf" else self.d.transitive_member_of(user.id)
            return self._list_objects(req, [(gid, "group") for gid in ids])
        if relation == "appRoleAssignments":
            context = f"{req.base}/v1.0/$metadata#users('{user.id}')/appRoleAssignments"
            return self._list_assignments(req, self.d.assignments_of(user.id), context)
        raise self._segment_error(relation)

    def _user_source(self):
        directory = self.d
        return (directory.iter_users, directory.users, directory.find_user,
                {"id": directory.users.get, "userPrincipalName": directory.find_user})

    def _me(self, req: GraphRequest, rest: list[str]) -> GraphResponse:
        oid = req.claims.get("oid") if req.claims.get("idtyp") == "user" else None
        if not oid:
            raise GraphError(400, "BadRequest",
                             "/me request is only valid with delegated authentication flow.")
        self._require(req, SIGNED_IN | READ_USERS)
        user = self.d.users.get(oid)
        if user is None:
            raise not_found(oid)
        if rest:
            raise self._segment_error(rest[0])
        select = parse_select(req.query.get("$select"), USERS) or USER_DEFAULT
        body = {"@odata.context": _entity_context(req.base, "users", req.query.get("$select"))}
        body.update(render(user, select))
        return json_ok(body)

    def _organization(self, req: GraphRequest, rest: list[str]) -> GraphResponse:
        self._require(req, READ_DIRECTORY | SIGNED_IN)
        d = self.d
        org = {
            "id": d.tenant_id, "deletedDateTime": None, "businessPhones": [], "city": None, "country": None,
            "countryLetterCode": "US", "createdDateTime": d.created, "displayName": d.tenant_name,
            "tenantType": "AAD", "onPremisesSyncEnabled": None,
            "verifiedDomains": [
                {"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": index == 0,
                 "isInitial": name.endswith(".onmicrosoft.com"), "name": name, "type": "Managed"}
                for index, name in enumerate(d.domains)
            ],
        }
        if rest:
            if rest[0] != d.tenant_id:
                raise not_found(rest[0])
            return json_ok(dict({"@odata.context": f"{req.base}/v1.0/$metadata#organization/$entity"}, **org))
        return json_ok({"@odata.context": f"{req.base}/v1.0/$metadata#organization", "value": [org]})

    # ------------------------------------------------------------------ application templates and applications

    def _application_templates(self, req: GraphRequest, rest: list[str]) -> GraphResponse:
        context = f"{req.base}/v1.0/$metadata#applicationTemplates"
        if not rest:
            if req.method != "GET":
                raise self._method_not_allowed()
            templates = [public_template(t) for t in APPLICATION_TEMPLATES.values()]
            wanted = req.query.get("$filter")
            if wanted:
                match = re.fullmatch(r"\s*(displayName|id)\s+eq\s+'((?:[^']|'')*)'\s*", wanted)
                if not match:
                    raise unsupported_query()
                value = match.group(2).replace("''", "'")
                templates = [t for t in templates if t[match.group(1)] == value]
            return json_ok({"@odata.context": context, "value": templates})
        template = self.d.template(rest[0])
        if len(rest) == 1:
            if req.method != "GET":
                raise self._method_not_allowed()
            return json_ok(dict({"@odata.context": f"{context}/$entity"}, **public_template(template)))
        if rest[1] not in ("instantiate", "microsoft.graph.instantiate") or len(rest) > 2:
            raise self._segment_error(rest[1])
        if req.method != "POST":
            raise self._method_not_allowed()
        self._require(req, WRITE_APPS)
        application, sp = self.d.instantiate(template["id"], _body_object(req))
        body = {"@odata.context": f"{req.base}/v1.0/$metadata#microsoft.graph.applicationServicePrincipal",
                "application": dict(application), "servicePrincipal": render(sp, SP_DEFAULT)}
        return json_ok(body, 201)

    def _applications(self, req: GraphRequest, rest: list[str]) -> GraphResponse:
        d = self.d
        if not rest:
            if req.method != "GET":
                raise self._method_not_allowed()
            self._require(req, READ_APPS)
            found = list(d.applications.values())
            wanted = req.query.get("$filter")
            if wanted:
                match = re.fullmatch(r"\s*(appId|displayName|id)\s+eq\s+'((?:[^']|'')*)'\s*", wanted)
                if not match:
                    raise unsupported_query()
                value = match.group(2).replace("''", "'")
                found = [a for a in found if a[match.group(1)] == value]
            return json_ok({"@odata.context": f"{req.base}/v1.0/$metadata#applications", "value": found})
        application = d.application(rest[0])
        if len(rest) > 1:
            raise self._segment_error(rest[1])
        if req.method == "GET":
            self._require(req, READ_APPS)
            return json_ok(dict({"@odata.context": f"{req.base}/v1.0/$metadata#applications/$entity"},
                                **application))
        if req.method == "PATCH":
            self._require(req, WRITE_APPS)
            d.update_application(application, _body_object(req))
            return no_content()
        raise self._method_not_allowed()

    # ------------------------------------------------------------------ groups

    def _groups(self, req: GraphRequest, rest: list[str]) -> GraphResponse:
        m = req.method
        d = self.d
        if not rest:
            if m == "GET":
                self._require(req, READ_GROUPS)
                return self._list(req, GROUPS, "groups", self._group_source())
            if m == "POST":
                self._require(req, WRITE_GROUPS)
                group = d.create_group(dict(_body_object(req)))
                body = {"@odata.context": f"{req.base}/v1.0/$metadata#groups/$entity"}
                body.update(render(group, GROUP_DEFAULT))
                return json_ok(body, 201, {"Location": f"https://graph.microsoft.com/v2/{d.tenant_id}/"
                                                      f"directoryObjects/{group.id}/Microsoft.DirectoryServices.Group"})
            raise self._method_not_allowed()
        key = rest[0]
        if key == "$count":
            self._require(req, READ_GROUPS)
            return self._count(req, GROUPS, self._group_source())
        if key in ("delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()"):
            if m != "GET":
                raise self._method_not_allowed()
            self._require(req, READ_GROUPS)
            return self._delta(req, "groups", GROUPS)
        group = d.group(key)
        if len(rest) == 1:
            if m == "GET":
                self._require(req, READ_GROUPS)
                select = parse_select(req.query.get("$select"), GROUPS) or GROUP_DEFAULT
                body = {"@odata.context": _entity_context(req.base, "groups", req.query.get("$select"))}
                body.update(render(group, select))
                return json_ok(body)
            if m == "PATCH":
                self._require(req, WRITE_GROUPS)
                d.update_group(group, _body_object(req))
                return no_content()
            if m == "DELETE":
                self._require(req, WRITE_GROUPS)
                d.delete_group(group)
                return no_content()
            raise self._method_not_allowed()
        relation = rest[1]
        if relation == "members":
            if len(rest) == 2:
                if m != "GET":
                    raise self._method_not_allowed()
                self._require(req, READ_GROUPS)
                if self.emulator.empty_group_members:  # an injected fault: every group reads empty
                    return self._list_objects(req, [])
                return self._list_objects(req, list(d.members[group.id].items()))
            if rest[2] == "$ref" and len(rest) == 3:
                if m != "POST":
                    raise self._method_not_allowed()
                self._require(req, WRITE_MEMBERS)
                d.add_member_ref(group, req.body)
                return no_content()
            if rest[2] == "$count" and len(rest) == 3:
                self._require(req, READ_GROUPS)
                if not req.eventual:
                    raise bad_request("$count is not currently supported.")
                return GraphResponse(200, text=str(len(d.members[group.id])))
            if len(rest) == 4 and rest[3] == "$ref":
                if m != "DELETE":
                    raise self._method_not_allowed()
                self._require(req, WRITE_MEMBERS)
                d.remove_member_ref(group, rest[2])
                return no_content()
            raise self._segment_error(rest[-1])
        if m != "GET":
            raise self._method_not_allowed()
        self._require(req, READ_GROUPS)
        if relation == "transitiveMembers":
            return self._list_objects(req, d.transitive_members(group.id))
        if relation in ("memberOf", "transitiveMemberOf"):
            ids = d.member_of(group.id) if relation == "memberOf" else d.transitive_member_of(group.id)
            return self._list_objects(req, [(gid, "group") for gid in ids])
        if relation == "appRoleAssignments":
            context = f"{req.base}/v1.0/$metadata#groups('{group.id}')/appRoleAssignments"
            return self._list_assignments(req, d.assignments_of(group.id), context)
        raise self._segment_error(relation)

    def _group_source(self):
        d = self.d
        return d.iter_groups, d.groups, d.groups.get, {"id": d.groups.get}

    # ------------------------------------------------------------------ service principals

    def _service_principals(self, req: GraphRequest, rest: list[str]) -> GraphResponse:
        m = req.method
        d = self.d
        if not rest:
            if m == "GET":
                self._require(req, READ_APPS)
                return self._list(req, SPS, "servicePrincipals", self._sp_source())
            if m == "POST":
                self._require(req, WRITE_APPS)
                sp = d.create_sp(_body_object(req))
                body = {"@odata.context": f"{req.base}/v1.0/$metadata#servicePrincipals/$entity"}
                body.update(render(sp, SP_DEFAULT))
                return json_ok(body, 201)
            raise self._method_not_allowed()
        key = rest[0]
        if key == "$count":
            self._require(req, READ_APPS)
            return self._count(req, SPS, self._sp_source())
        sp = d.sp(key)
        if len(rest) == 1:
            if m != "GET":
                raise self._method_not_allowed()
            self._require(req, READ_APPS)
            select = parse_select(req.query.get("$select"), SPS) or SP_DEFAULT
            body = {"@odata.context": _entity_context(req.base, "servicePrincipals", req.query.get("$select"))}
            body.update(render(sp, select))
            return json_ok(body)
        relation = rest[1]
        if relation != "appRoleAssignedTo":
            raise self._segment_error(relation)
        if len(rest) == 2:
            if m == "GET":
                self._require(req, READ_ASSIGNMENTS)
                context = f"{req.base}/v1.0/$metadata#servicePrincipals('{sp.id}')/appRoleAssignedTo"
                return self._list_assignments(req, list(d.assignments.get(sp.id, {}).values()), context)
            if m == "POST":
                self._require(req, WRITE_ASSIGNMENTS)
                assignment = d.assign(sp, req.body)
                body = {"@odata.context":
                        f"{req.base}/v1.0/$metadata#servicePrincipals('{sp.id}')/appRoleAssignedTo/$entity"}
                body.update(self._render_assignment(assignment, ASSIGNMENT_PROPERTIES))
                return json_ok(body, 201)
            raise self._method_not_allowed()
        aid = rest[2]
        if len(rest) > 3:
            raise self._segment_error(rest[3])
        if m == "GET":
            self._require(req, READ_ASSIGNMENTS)
            assignment = d.assignments.get(sp.id, {}).get(aid)
            if assignment is None:
                raise not_found(aid)
            body = {"@odata.context":
                    f"{req.base}/v1.0/$metadata#servicePrincipals('{sp.id}')/appRoleAssignedTo/$entity"}
            body.update(self._render_assignment(assignment, ASSIGNMENT_PROPERTIES))
            return json_ok(body)
        if m == "DELETE":
            self._require(req, WRITE_ASSIGNMENTS)
            d.unassign(sp, aid)
            return no_content()
        raise self._method_not_allowed()

    def _sp_source(self):
        d = self.d

        def iterate(start: int = 0):
            for index in range(start, len(d.sp_order)):
                sp = d.sps.get(d.sp_order[index])
                if sp is not None:
                    yield index, sp

        def by_app(app_id: str):
            sid = d.sp_by_app.get(app_id)
            return d.sps.get(sid) if sid else None

        return iterate, d.sps, d.sps.get, {"id": d.sps.get, "appId": by_app}

    # ------------------------------------------------------------------ deleted items, directory objects

    def _directory(self, req: GraphRequest, rest: list[str]) -> GraphResponse:
        d = self.d
        if not rest or rest[0] != "deletedItems":
            raise self._segment_error(rest[0] if rest else "directory")
        rest = rest[1:]
        if not rest:
            raise GraphError(400, "Request_BadRequest",
                             "A type cast is required on deletedItems, for example deletedItems/microsoft.graph.user.")
        key = rest[0]
        if key in ("microsoft.graph.user", "microsoft.graph.group"):
            if req.method != "GET" or len(rest) > 1:
                raise self._method_not_allowed()
            if key == "microsoft.graph.user":
                self._require(req, READ_USERS)
                entity, ids, context = USERS, list(d.deleted_users), "directory/deletedItems/microsoft.graph.user"
                objects = [DeletedUser(d.deleted_users[uid]) for uid in ids]
            else:
                self._require(req, READ_GROUPS)
                entity, ids, context = GROUPS, list(d.deleted_groups), "directory/deletedItems/microsoft.graph.group"
                objects = [d.deleted_groups[gid] for gid in ids]

            def iterate(start: int = 0):
                for index in range(start, len(objects)):
                    yield index, objects[index]

            lookup = {obj.get("id"): obj for obj in objects}
            return self._list(req, entity, context, (iterate, lookup, lookup.get, {"id": lookup.get}))
        obj = d.deleted_users.get(key) or d.deleted_groups.get(key)
        if obj is None:
            raise not_found(key)
        kind = "user" if key in d.deleted_users else "group"
        if len(rest) == 1:
            if req.method == "GET":
                self._require(req, READ_USERS if kind == "user" else READ_GROUPS)
                view = DeletedUser(obj) if kind == "user" else obj
                body = {"@odata.context": f"{req.base}/v1.0/$metadata#directoryObjects/$entity",
                        "@odata.type": ODATA_TYPE[kind]}
                body.update(render(view, USER_DEFAULT + ("deletedDateTime",) if kind == "user" else GROUP_DEFAULT))
                return json_ok(body)
            if req.method == "DELETE":
                self._require(req, WRITE_USERS if kind == "user" else WRITE_GROUPS)
                d.purge(key)
                return no_content()
            raise self._method_not_allowed()
        if rest[1] in ("restore", "microsoft.graph.restore") and len(rest) == 2:
            if req.method != "POST":
                raise self._method_not_allowed()
            self._require(req, WRITE_USERS if kind == "user" else WRITE_GROUPS)
            restored = d.restore(key)
            body = {"@odata.context": f"{req.base}/v1.0/$metadata#directoryObjects/$entity",
                    "@odata.type": ODATA_TYPE[kind]}
            body.update(render(restored, USER_DEFAULT if kind == "user" else GROUP_DEFAULT))
            return json_ok(body)
        raise self._segment_error(rest[1])

    def _directory_objects(self, req: GraphRequest, rest: list[str]) -> GraphResponse:
        if len(rest) != 1 or req.method != "GET":
            raise self._segment_error(rest[-1] if rest else "directoryObjects")
        self._require(req, READ_DIRECTORY)
        oid = rest[0]
        kind = self.d.object_kind(oid)
        if kind is None:
            raise not_found(oid)
        obj = self._object(oid, kind)
        body = {"@odata.context": f"{req.base}/v1.0/$metadata#directoryObjects/$entity",
                "@odata.type": ODATA_TYPE[kind]}
        body.update(render(obj, _default_for(kind)))
        return json_ok(body)

    def _object(self, oid: str, kind: str):
        return {"user": self.d.users, "group": self.d.groups, "servicePrincipal": self.d.sps}[kind][oid]

    # ------------------------------------------------------------------ collections

    def _page_size(self, req: GraphRequest, default: int = 100) -> int:
        raw = req.query.get("$top")
        if raw is None:
            return default
        try:
            top = int(raw)
        except ValueError:
            top = -1
        if not 1 <= top <= 999:
            raise unsupported_query(f"Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive.")
        return top

    def _position(self, req: GraphRequest) -> int:
        raw = req.query.get("$skiptoken")
        if raw is None:
            return 0
        payload = unseal(raw, self.d.signing_key + b"page")
        if payload is None or payload.get("e") != self.d.epoch:
            raise GraphError(400, "Directory_ExpiredPageToken",
                             "The specified page token value has expired and can no longer be included in your "
                             "request.")
        return int(payload.get("p", 0))

    def _next_link(self, req: GraphRequest, position: int) -> str:
        token = seal({"e": self.d.epoch, "p": position}, self.d.signing_key + b"page")
        params = [(k, v) for k, v in req.raw_query if k != "$skiptoken"]
        params.append(("$skiptoken", token))
        query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=chr(36) + ',()*:@/=' + chr(39))}" for k, v in params)
        return f"{req.base}/v1.0{req.path}?{query}"

    def _predicate(self, req: GraphRequest, entity: EntityQuery):
        predicate, tree = None, None
        raw_filter = req.query.get("$filter")
        if raw_filter is not None and raw_filter.strip():
            predicate, tree = compile_filter(raw_filter, entity, req.advanced)
        raw_search = req.query.get("$search")
        if raw_search is not None:
            if not req.eventual:
                raise unsupported_query("Request with $search query parameter only works through MSGraph with a "
                                        "special request header: 'ConsistencyLevel: eventual'")
            search = compile_search(raw_search.strip().strip("\u201c\u201d"), entity)
            if predicate is None:
                predicate = search
            else:
                first = predicate
                predicate = lambda obj: first(obj) and search(obj)  # noqa: E731
        return predicate, tree

    def _list(self, req: GraphRequest, entity: EntityQuery, context_name: str, source) -> GraphResponse:
        iterate, table, find, indexes = source
        if "$skip" in req.query:
            raise bad_request("'$skip' is not supported by the service.")
        if "$expand" in req.query:
            raise unsupported_query(f"Unsupported Query. $expand is not supported on '{context_name}' here.")
        top = self._page_size(req)
        select = parse_select(req.query.get("$select"), entity)
        predicate, tree = self._predicate(req, entity)
        position = self._position(req)
        ordered = None
        if "$orderby" in req.query:
            prop, descending = parse_orderby(req.query["$orderby"], entity)
            if (predicate is not None) and not req.advanced:
                raise unsupported_query("Sorting not supported for current query.")
            ordered = self._sorted(entity, table, prop, descending, predicate,
                                   (req.query.get("$filter"), req.query.get("$search")))
        values: list = []
        next_position = None
        total = None
        if ordered is not None:
            page = ordered[position:position + top]
            values = page
            if position + top < len(ordered):
                next_position = position + top
            total = len(ordered)
        else:
            equality = simple_equality(tree)
            index = indexes.get(equality[0]) if equality else None
            if index is not None and predicate is not None:
                found = []
                seen = set()
                for value in equality[1]:
                    obj = index(value)
                    if obj is not None and obj.get("id") not in seen and predicate(obj):
                        seen.add(obj.get("id"))
                        found.append(obj)
                values = found[position:position + top]
                if position + top < len(found):
                    next_position = position + top
                total = len(found)
            else:
                for pos, obj in iterate(position):
                    if predicate is not None and not predicate(obj):
                        continue
                    if len(values) >= top:
                        next_position = pos
                        break
                    values.append(obj)
        fields = select or entity.default_select
        body: dict[str, Any] = {"@odata.context": _collection_context(req.base, context_name, req.query.get("$select"))}
        if req.advanced:
            if total is None:
                total = len(table) if predicate is None else sum(1 for _, obj in iterate(0) if predicate(obj))
            body["@odata.count"] = total
        if next_position is not None:
            body["@odata.nextLink"] = self._next_link(req, next_position)
        if entity is ASSIGNMENTS:
            body["value"] = [self._render_assignment(obj, fields) for obj in values]
        else:
            body["value"] = [render(obj, fields) for obj in values]
        return json_ok(body)

    def _sorted(self, entity, table, prop, descending, predicate, cache_key) -> list:
        key = (entity.type_name, prop, descending, cache_key, self.d.epoch, self.d.seq, len(table))
        cached = self._sorted_cache.get(key)
        if cached is not None:
            return cached
        objects = [obj for obj in table.values() if predicate is None or predicate(obj)]
        objects.sort(key=lambda obj: ((obj.get(prop) or "").lower(), obj.get("id")), reverse=descending)
        self._sorted_cache.clear()
        self._sorted_cache[key] = objects
        return objects

    def _count(self, req: GraphRequest, entity: EntityQuery, source) -> GraphResponse:
        if req.method != "GET":
            raise self._method_not_allowed()
        if not req.eventual:
            raise bad_request("$count is not currently supported.")
        iterate, table, _, _ = source
        predicate, _ = self._predicate_for_count(req, entity)
        total = len(table) if predicate is None else sum(1 for _, obj in iterate(0) if predicate(obj))
        return GraphResponse(200, text=str(total))

    def _predicate_for_count(self, req: GraphRequest, entity: EntityQuery):
        # A $count segment is itself an advanced query: the header alone is enough.
        raw_filter = req.query.get("$filter")
        predicate = None
        if raw_filter:
            predicate, _ = compile_filter(raw_filter, entity, True)
        raw_search = req.query.get("$search")
        if raw_search is not None:
            search = compile_search(raw_search.strip(), entity)
            first = predicate
            predicate = search if first is None else (lambda obj: first(obj) and search(obj))
        return predicate, None

    def _list_objects(self, req: GraphRequest, entries: list[tuple[str, str]]) -> GraphResponse:
        """A page of directoryObjects (members, transitive members, memberOf)."""
        d = self.d
        if "$skip" in req.query:
            raise bad_request("'$skip' is not supported by the service.")
        top = self._page_size(req)
        select = parse_select(req.query.get("$select"), DIRECTORY_OBJECTS)
        raw_filter = req.query.get("$filter")
        if raw_filter:
            if not req.advanced:
                raise unsupported_query("The specified filter to the reference property query is currently not "
                                        "supported.")
        position = self._position(req)
        objects = []
        for oid, kind in entries:
            obj = (d.users if kind == "user" else d.groups if kind == "group" else d.sps).get(oid)
            if obj is not None:
                objects.append((obj, kind))
        if raw_filter:
            entity_for = {"user": USERS, "group": GROUPS, "servicePrincipal": SPS}
            predicates = {}
            for kind in {k for _, k in objects}:
                try:
                    predicates[kind] = compile_filter(raw_filter, entity_for[kind], True)[0]
                except GraphError:
                    predicates[kind] = lambda obj: False
            objects = [(obj, kind) for obj, kind in objects if predicates[kind](obj)]
        page = objects[position:position + top]
        body: dict[str, Any] = {"@odata.context": f"{req.base}/v1.0/$metadata#directoryObjects"
                                                  + (f"({req.query['$select']})" if select else "")}
        if req.advanced:
            body["@odata.count"] = len(objects)
        if position + top < len(objects):
            body["@odata.nextLink"] = self._next_link(req, position + top)
        values = []
        for obj, kind in page:
            item = {"@odata.type": ODATA_TYPE[kind]}
            fields = select or _default_for(kind)
            types = {"user": USER_TYPES, "group": GROUP_TYPES, "servicePrincipal": SP_TYPES}[kind]
            item.update(render(obj, tuple(f for f in fields if f in types)))
            values.append(item)
        body["value"] = values
        return json_ok(body)

    def _list_assignments(self, req: GraphRequest, assignments: list, context: str) -> GraphResponse:
        if "$skip" in req.query:
            raise bad_request("'$skip' is not supported by the service.")
        top = self._page_size(req)
        select = parse_select(req.query.get("$select"), ASSIGNMENTS) or ASSIGNMENT_PROPERTIES
        position = self._position(req)
        raw_filter = req.query.get("$filter")
        if raw_filter:
            predicate, _ = compile_filter(raw_filter, ASSIGNMENTS, req.advanced)
            assignments = [a for a in assignments if predicate(_AssignmentView(self, a))]
        page = assignments[position:position + top]
        body: dict[str, Any] = {"@odata.context": context}
        if req.advanced:
            body["@odata.count"] = len(assignments)
        if position + top < len(assignments):
            body["@odata.nextLink"] = self._next_link(req, position + top)
        body["value"] = [self._render_assignment(a, select) for a in page]
        return json_ok(body)

    def _render_assignment(self, assignment, fields) -> dict:
        view = _AssignmentView(self, assignment)
        return {name: view.get(name) for name in fields}

    # ------------------------------------------------------------------ delta

    def _delta(self, req: GraphRequest, resource: str, entity: EntityQuery) -> GraphResponse:
        skiptoken = req.query.get("$skiptoken")
        deltatoken = req.query.get("$deltatoken")
        select = ids = None
        if skiptoken is None and deltatoken is None or deltatoken == "latest":
            extra = frozenset({"members"}) if resource == "groups" else frozenset()
            select = parse_select(req.query.get("$select"), entity, extra)
            expand = req.query.get("$expand")
            if expand:
                if resource != "groups" or expand.split("(")[0].strip() != "members":
                    raise unsupported_query(f"Unsupported Query. $expand={expand} is not supported on delta.")
                if select is not None and "members" not in select:
                    select = select + ("members",)
            raw_filter = req.query.get("$filter")
            if raw_filter:
                tree = compile_filter(raw_filter, DIRECTORY_OBJECTS_DELTA, False)[1]
                equality = simple_equality(tree)
                if equality is None or equality[0].lower() != "id":
                    raise unsupported_query("Unsupported query.")
                ids = list(dict.fromkeys(equality[1]))
                if len(ids) > 50:
                    raise unsupported_query("The number of object ids in the filter exceeds the limit of 50.")
            for name in ("$top", "$orderby", "$search", "$count"):
                if name in req.query and name != "$top":
                    raise unsupported_query(f"Unsupported query parameter {name} on delta.")
        request = DeltaRequest(resource, select, ids, deltatoken, skiptoken, req.minimal)
        return json_ok(self.emulator.delta.page(request, req.base))


DIRECTORY_OBJECTS_DELTA = EntityQuery("microsoft.graph.directoryObject", "DirectoryObject", {"id": "str"},
                                      ("id",), {("id", "eq"): "default"}, (), ())


class _AssignmentView:
    """An assignment as Graph shows it, names resolved at read time."""

    def __init__(self, api: GraphApi, assignment):
        self.api = api
        self.a = assignment

    def get(self, name: str):
        a = self.a
        if name == "principalDisplayName":
            return self.api.d.display_name(a.principalId)
        if name == "resourceDisplayName":
            return self.api.d.display_name(a.resourceId)
        if name == "deletedDateTime":
            return None
        return getattr(a, name)


class DeletedUser:
    """A user in deleted items: its user principal name carries its id as a prefix, which frees
    the original name for a new account (Entra does the same)."""

    def __init__(self, user: User):
        self.user = user

    def get(self, name: str):
        if name == "userPrincipalName":
            return self.user.id.replace("-", "") + self.user.userPrincipalName
        return self.user.get(name)


def _default_for(kind: str) -> tuple:
    return {"user": USER_DEFAULT, "group": GROUP_DEFAULT, "servicePrincipal": SP_DEFAULT}[kind]


_SLOT_GETTERS: dict[tuple, Any] = {}


def render(obj, fields) -> dict:
    if type(obj) is User:
        # Users are the bulk of every answer: read slots in one call when all fields are slots.
        getter = _SLOT_GETTERS.get(fields)
        if getter is None and fields not in _SLOT_GETTERS:
            getter = _SLOT_GETTERS[fields] = (
                attrgetter(*fields) if len(fields) > 1 and all(f in User.__slots__ for f in fields) else None)
        if getter is not None:
            return {name: (list(value) if type(value) is tuple else value)
                    for name, value in zip(fields, getter(obj))}
    out = {}
    get = obj.get
    for name in fields:
        value = get(name)
        if type(value) is tuple:
            value = list(value)
        out[name] = value
    return out


def _collection_context(base: str, name: str, select: str | None) -> str:
    if select:
        return f"{base}/v1.0/$metadata#{name}({select.replace(' ', '')})"
    return f"{base}/v1.0/$metadata#{name}"


def _entity_context(base: str, name: str, select: str | None) -> str:
    if select:
        return f"{base}/v1.0/$metadata#{name}({select.replace(' ', '')})/$entity"
    return f"{base}/v1.0/$metadata#{name}/$entity"


def _body_object(req: GraphRequest) -> dict:
    if not isinstance(req.body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    return req.body


def parse_relative_url(url: str) -> tuple[str, list[tuple[str, str]]]:
    """Path and query pairs of a request URL inside ``$batch`` (relative to the version root)."""
    parts = urlsplit(url if url.startswith("/") else "/" + url)
    return parts.path, parse_qsl(parts.query, keep_blank_values=True)


def load_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type "
                                            "header is set and payload is of valid JSON format.") from None


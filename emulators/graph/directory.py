"""The emulated tenant: its directory objects, their indexes, and the change
log that delta queries read.

Everything here is plain Python and picklable (it is the emulator's state).
Every write appends to ``log``; a delta token is a position in that log, so a
later round reads only the entries after it instead of diffing snapshots.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import uuid
from datetime import datetime, timezone
from typing import Any, Iterator

from .catalog import APPLICATION_TEMPLATES, GALLERY, MICROSOFT_GRAPH_APP_ID
from .errors import GraphError, bad_request, not_found
from .model import (
    DEFAULT_ACCESS_ROLE_ID, GROUP_TYPES, GROUP_WRITABLE, USER_TYPES, USER_WRITABLE, Assignment, Group,
    ServicePrincipal, User,
)

ALL = None  # "every property changed" in a log entry (creation, restore)


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hash_password(password: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
    salt = salt or secrets.token_bytes(8)
    return salt, hashlib.sha256(salt + password.encode()).digest()


_NICKNAME_OK = re.compile(r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]{1,64}$")
_UPN_LOCAL_OK = re.compile(r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]{1,64}$")


def password_is_complex(password: str) -> bool:
    """Entra's rule for cloud users: 8 to 256 characters, three of four character classes."""
    if not 8 <= len(password) <= 256:
        return False
    classes = [any(c.islower() for c in password), any(c.isupper() for c in password),
               any(c.isdigit() for c in password), any(not c.isalnum() for c in password)]
    return sum(classes) >= 3


class Directory:
    """One tenant."""

    def __init__(self, *, tenant_id: str, tenant_name: str, domains: list[str], client_id: str,
                 client_name: str, seed: int):
        self.tenant_id = tenant_id
        self.tenant_name = tenant_name
        #: verified domains; the first is the default one
        self.domains = list(domains)
        self.client_id = client_id
        self.client_name = client_name
        self.rng = random.Random(seed)
        self._issued_ids: set[str] = set()
        #: changes when the state is replaced; delta tokens from another epoch are refused
        self.epoch = secrets.token_hex(4)
        self.signing_key: bytes = b""
        self.created = utc_now()

        self.users: dict[str, User] = {}
        self.deleted_users: dict[str, User] = {}
        self.upn_index: dict[str, str] = {}
        self.user_order: list[str] = []

        self.groups: dict[str, Group] = {}
        self.deleted_groups: dict[str, Group] = {}
        self.group_order: list[str] = []
        #: group id -> {member id: "user" | "group" | "servicePrincipal"} in insertion order
        self.members: dict[str, dict[str, str]] = {}

        self.sps: dict[str, ServicePrincipal] = {}
        self.sp_order: list[str] = []
        self.sp_by_app: dict[str, str] = {}
        #: application objects the tenant owns (instances of gallery templates): id -> properties
        self.applications: dict[str, dict] = {}

        #: resource service principal id -> {assignment id: Assignment}
        self.assignments: dict[str, dict[str, Assignment]] = {}
        #: principal id -> {assignment id: resource service principal id}
        self.by_principal: dict[str, dict[str, str]] = {}
        #: soft-deleted object id -> memberships and assignments to give back on restore
        self.saved: dict[str, dict] = {}
        self.passwords: dict[str, tuple[bytes, bytes]] = {}

        #: change log; see :mod:`emulators.graph.delta`
        self.log: list[tuple] = []
        self.log_base = 0

    # ------------------------------------------------------------------ log

    @property
    def seq(self) -> int:
        return self.log_base + len(self.log)

    def _record(self, entry: tuple) -> None:
        self.log.append(entry)
        # Keep memory bounded on long runs: drop the oldest half; older tokens then resync.
        if len(self.log) > 2_000_000:
            drop = len(self.log) // 2
            del self.log[:drop]
            self.log_base += drop

    def changes_since(self, start: int, end: int) -> list[tuple] | None:
        """Log entries in (start, end], or None when ``start`` is older than the log keeps."""
        if start < self.log_base:
            return None
        return self.log[start - self.log_base:end - self.log_base]

    def new_id(self) -> str:
        """A new object id, unique across the directory's users, groups and service principals
        (as in Entra ID, where every directory object has its own)."""
        issued = getattr(self, "_issued_ids", None)
        if issued is None:  # a state saved before ids were tracked
            issued = self._issued_ids = {*self.users, *self.groups, *self.sps}
        while True:
            candidate = new_guid(self.rng)
            if candidate not in issued:
                issued.add(candidate)
                return candidate

    # ------------------------------------------------------------------ lookups

    def default_domain(self) -> str:
        return self.domains[0]

    def find_user(self, key: str) -> User | None:
        user = self.users.get(key)
        if user is None and "@" in key:
            uid = self.upn_index.get(key.lower())
            user = self.users.get(uid) if uid else None
        return user

    def user(self, key: str) -> User:
        user = self.find_user(key)
        if user is None:
            raise not_found(key)
        return user

    def group(self, gid: str) -> Group:
        group = self.groups.get(gid)
        if group is None:
            raise not_found(gid)
        return group

    def sp(self, sid: str) -> ServicePrincipal:
        sp = self.sps.get(sid)
        if sp is None:
            raise not_found(sid)
        return sp

    def object_kind(self, oid: str) -> str | None:
        if oid in self.users:
            return "user"
        if oid in self.groups:
            return "group"
        if oid in self.sps:
            return "servicePrincipal"
        return None

    def iter_users(self, start: int = 0) -> Iterator[tuple[int, User]]:
        """Active users in directory order from position ``start`` (positions survive deletes)."""
        order, users = self.user_order, self.users
        for index in range(start, len(order)):
            user = users.get(order[index])
            if user is not None:
                yield index, user

    def iter_groups(self, start: int = 0) -> Iterator[tuple[int, Group]]:
        order, groups = self.group_order, self.groups
        for index in range(start, len(order)):
            group = groups.get(order[index])
            if group is not None:
                yield index, group

    def member_of(self, oid: str) -> list[str]:
        """Groups that have ``oid`` as a direct member (a scan: groups are few)."""
        return [gid for gid, members in self.members.items() if oid in members]

    def transitive_members(self, gid: str) -> list[tuple[str, str]]:
        """Every member reachable through nested groups, once each, cycles included."""
        seen_groups = {gid}
        result: dict[str, str] = {}
        queue = [gid]
        while queue:
            current = queue.pop(0)
            for mid, kind in self.members.get(current, {}).items():
                if mid not in result and mid != gid:
                    result[mid] = kind
                if kind == "group" and mid not in seen_groups:
                    seen_groups.add(mid)
                    queue.append(mid)
        return list(result.items())

    def transitive_member_of(self, oid: str) -> list[str]:
        found: list[str] = []
        queue = self.member_of(oid)
        seen = set()
        while queue:
            gid = queue.pop(0)
            if gid in seen:
                continue
            seen.add(gid)
            found.append(gid)
            queue.extend(self.member_of(gid))
        return found

    def display_name(self, oid: str) -> str | None:
        obj = self.users.get(oid) or self.groups.get(oid) or self.sps.get(oid)
        return obj.get("displayName") if obj is not None else None

    # ------------------------------------------------------------------ validation helpers

    def _check_types(self, body: dict, types: dict, writable: frozenset, resource: str) -> None:
        for name, value in body.items():
            if name.startswith("@") or "@odata." in name:
                continue
            if name not in types:
                raise GraphError(400, "Request_BadRequest",
                                 f"Property '{name}' does not exist as a declared property or extension property.")
            if name not in writable:
                raise GraphError(400, "Request_BadRequest", f"Property '{name}' is read-only and cannot be set.")
            kind = types[name]
            if value is None:
                continue
            if kind in ("str", "dt") and not isinstance(value, str):
                raise GraphError(400, "BadRequest",
                                 f"Cannot convert the literal '{value}' to the expected type 'Edm.String'.")
            if kind == "bool" and not isinstance(value, bool):
                raise GraphError(400, "BadRequest",
                                 "Cannot convert a primitive value to the expected type 'Edm.Boolean'. "
                                 "See the inner exception for more details.")
            if kind == "strs" and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
                raise GraphError(400, "BadRequest",
                                 f"Cannot convert the literal to the expected type 'Collection(Edm.String)' "
                                 f"for property '{name}' of resource '{resource}'.")
            if kind == "obj" and not isinstance(value, dict):
                raise GraphError(400, "BadRequest", f"Invalid value for property '{name}' of resource '{resource}'.")

    def _check_upn(self, upn: str, exclude: str | None = None) -> str:
        local, at, domain = upn.partition("@")
        if not at or not _UPN_LOCAL_OK.match(local) or local.startswith(".") or local.endswith("."):
            raise GraphError(400, "Request_BadRequest",
                             "Invalid value specified for property 'userPrincipalName' of resource 'User'.",
                             details=[{"code": "InvalidValue", "target": "userPrincipalName"}])
        if domain.lower() not in {d.lower() for d in self.domains}:
            raise GraphError(400, "Request_BadRequest",
                             "The domain portion of the userPrincipalName property is invalid. "
                             "You must use one of the verified domain names in your organization.",
                             details=[{"code": "InvalidValue", "target": "userPrincipalName"}])
        holder = self.upn_index.get(upn.lower())
        if holder is not None and holder != exclude:
            raise _conflict("userPrincipalName")
        return upn

    def _check_nickname(self, nickname: str, resource: str) -> None:
        if not _NICKNAME_OK.match(nickname):
            raise GraphError(400, "Request_BadRequest",
                             f"Invalid value specified for property 'mailNickname' of resource '{resource}'.",
                             details=[{"code": "InvalidValue", "target": "mailNickname"}])

    def _check_password(self, profile: Any) -> str:
        password = profile.get("password") if isinstance(profile, dict) else None
        if not password:
            raise bad_request("Property passwordProfile value is required but is empty or missing.",
                              details=[{"code": "PropertyRequired", "target": "passwordProfile"}])
        if not isinstance(password, str) or not password_is_complex(password):
            raise bad_request("The specified password does not comply with password complexity requirements. "
                              "Please provide a different password.")
        return password

    # ------------------------------------------------------------------ users

    def create_user(self, body: dict) -> User:
        self._check_types(body, USER_TYPES, USER_WRITABLE, "User")
        for name in ("accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName"):
            if body.get(name) in (None, ""):
                raise bad_request(f"Property {name} value is required but is empty or missing.",
                                  details=[{"code": "PropertyRequired", "target": name}])
        self._check_nickname(body["mailNickname"], "User")
        self._check_upn(body["userPrincipalName"])
        password = self._check_password(body["passwordProfile"])
        if body.get("mail") and self._mail_taken(body["mail"]):
            raise _conflict("proxyAddresses")
        values = {k: v for k, v in body.items() if k in USER_TYPES and k != "passwordProfile"}
        profile = {k: v for k, v in body["passwordProfile"].items() if k != "password"}
        user = User(id=self.new_id(), createdDateTime=utc_now(), **values)
        user.set("passwordProfile", profile)
        self.add_user(user, password=password)
        return user

    def add_user(self, user: User, password: str | None = None, record: bool = True) -> None:
        self.users[user.id] = user
        self.upn_index[user.userPrincipalName.lower()] = user.id
        self.user_order.append(user.id)
        if password is not None:
            self.passwords[user.id] = hash_password(password)
        if record:
            self._record(("u", user.id, ALL))

    def _mail_taken(self, mail: str, exclude: str | None = None) -> bool:
        uid = self.upn_index.get(mail.lower())
        if uid is not None and uid != exclude:
            return True
        return any(u.mail and u.mail.lower() == mail.lower() and u.id != exclude for u in self.users.values()) \
            if len(self.users) < 5000 else False

    def update_user(self, user: User, body: dict) -> None:
        self._check_types(body, USER_TYPES, USER_WRITABLE, "User")
        changed = set()
        for name in ("accountEnabled", "displayName", "mailNickname", "userPrincipalName"):
            if name in body and body[name] in (None, ""):
                raise bad_request(f"Invalid value specified for property '{name}' of resource 'User'.",
                                  details=[{"code": "InvalidValue", "target": name}])
        if "mailNickname" in body:
            self._check_nickname(body["mailNickname"], "User")
        if "userPrincipalName" in body and body["userPrincipalName"].lower() != user.userPrincipalName.lower():
            self._check_upn(body["userPrincipalName"], exclude=user.id)
        elif "userPrincipalName" in body:
            self._check_upn(body["userPrincipalName"], exclude=user.id)
        password = None
        if "passwordProfile" in body:
            password = self._check_password(body["passwordProfile"])
        for name, value in body.items():
            if name not in USER_TYPES:
                continue
            if name == "passwordProfile":
                user.set(name, {k: v for k, v in value.items() if k != "password"})
                changed.add(name)
                continue
            stored = tuple(value) if isinstance(value, list) else value
            if user.get(name) != stored:
                if name == "userPrincipalName":
                    del self.upn_index[user.userPrincipalName.lower()]
                    self.upn_index[value.lower()] = user.id
                user.set(name, value)
                changed.add(name)
        if password is not None:
            self.passwords[user.id] = hash_password(password)
        if changed:
            self._record(("u", user.id, frozenset(changed)))

    def delete_user(self, user: User) -> None:
        """Soft delete: the user moves to deleted items for 30 days, losing its memberships
        and app role assignments until it is restored."""
        uid = user.id
        saved_groups = []
        for gid in self.member_of(uid):
            saved_groups.append(gid)
            self._remove_member(gid, uid)
        saved_assignments = self._drop_assignments_of(uid)
        self.saved[uid] = {"groups": saved_groups, "assignments": saved_assignments}
        del self.users[uid]
        self.upn_index.pop(user.userPrincipalName.lower(), None)
        user.deletedDateTime = utc_now()
        self.deleted_users[uid] = user
        self._record(("u", uid, ALL))

    def restore(self, oid: str) -> Any:
        if oid in self.deleted_users:
            user = self.deleted_users[oid]
            if user.userPrincipalName.lower() in self.upn_index:
                raise _conflict("userPrincipalName")
            del self.deleted_users[oid]
            user.deletedDateTime = None
            self.users[oid] = user
            self.upn_index[user.userPrincipalName.lower()] = oid
            self._record(("u", oid, ALL))
            self._give_back(oid, "user")
            return user
        if oid in self.deleted_groups:
            group = self.deleted_groups.pop(oid)
            group.set("deletedDateTime", None)
            self.groups[oid] = group
            self.members.setdefault(oid, {})
            self._record(("g", oid, ALL))
            self._give_back(oid, "group")
            return group
        raise not_found(oid)

    def _give_back(self, oid: str, kind: str) -> None:
        saved = self.saved.pop(oid, None) or {}
        for gid in saved.get("groups", ()):
            if gid in self.groups and oid not in self.members[gid]:
                self._add_member(gid, oid, kind)
        for assignment in saved.get("assignments", ()):
            if assignment.resourceId in self.sps:
                self._store_assignment(assignment)
        for gid, mid, mkind in saved.get("members", ()):
            if gid in self.groups and (mid in self.users or mid in self.groups) and mid not in self.members[gid]:
                self._add_member(gid, mid, mkind)

    def purge(self, oid: str) -> None:
        """Permanent delete from deleted items."""
        if oid in self.deleted_users:
            del self.deleted_users[oid]
            self.passwords.pop(oid, None)
            self.saved.pop(oid, None)
            self._record(("u", oid, ALL))
            return
        if oid in self.deleted_groups:
            del self.deleted_groups[oid]
            self.saved.pop(oid, None)
            self._record(("g", oid, ALL))
            return
        raise not_found(oid)

    def check_password(self, user: User, password: str, fallback: str | None) -> bool:
        stored = self.passwords.get(user.id)
        if stored is None:
            return fallback is not None and secrets.compare_digest(password, fallback)
        salt, digest = stored
        return secrets.compare_digest(hash_password(password, salt)[1], digest)

    # ------------------------------------------------------------------ groups

    def create_group(self, body: dict) -> Group:
        binds = body.pop("members@odata.bind", None)
        owners = body.pop("owners@odata.bind", None)
        self._check_types(body, GROUP_TYPES, GROUP_WRITABLE, "Group")
        for name in ("displayName", "mailEnabled", "mailNickname", "securityEnabled"):
            if body.get(name) in (None, ""):
                raise bad_request(f"Property {name} value is required but is empty or missing.",
                                  details=[{"code": "PropertyRequired", "target": name}])
        self._check_nickname(body["mailNickname"], "Group")
        unified = "Unified" in (body.get("groupTypes") or [])
        if body["mailEnabled"] and not unified:
            raise bad_request("Creating mail-enabled security groups is not supported.")
        member_ids = [self._ref_id(ref) for ref in binds or []]
        for mid in member_ids:
            if self.object_kind(mid) is None:
                raise not_found(mid)
        del owners  # owners are accepted and not tracked
        values = {k: v for k, v in body.items() if k in GROUP_TYPES}
        values.setdefault("groupTypes", [])
        values.setdefault("description", None)
        if unified:
            values["mail"] = f"{body['mailNickname']}@{self.default_domain()}"
            values["proxyAddresses"] = [f"SMTP:{values['mail']}"]
            values.setdefault("visibility", "Public")
            values["renewedDateTime"] = utc_now()
        group = Group(id=self.new_id(), createdDateTime=utc_now(), creationOptions=[],
                      resourceBehaviorOptions=[], resourceProvisioningOptions=[],
                      securityIdentifier=_sid(self.rng), **values)
        self.add_group(group)
        for mid in member_ids:
            if mid not in self.members[group.id]:
                self._add_member(group.id, mid, self.object_kind(mid))
        return group

    def add_group(self, group: Group, record: bool = True) -> None:
        self.groups[group.id] = group
        self.group_order.append(group.id)
        self.members.setdefault(group.id, {})
        if record:
            self._record(("g", group.id, ALL))

    def update_group(self, group: Group, body: dict) -> None:
        body = dict(body)
        binds = body.pop("members@odata.bind", None)
        self._check_types(body, GROUP_TYPES, GROUP_WRITABLE, "Group")
        member_ids = [self._ref_id(ref) for ref in binds or []]
        if len(member_ids) > 20:
            raise bad_request("A maximum of 20 members can be added in a single request.")
        for mid in member_ids:
            if self.object_kind(mid) is None:
                raise not_found(mid)
            if mid in self.members[group.id]:
                raise bad_request("One or more added object references already exist for the following "
                                  "modified properties: 'members'.")
        if "mailNickname" in body:
            if not body["mailNickname"]:
                raise bad_request("Invalid value specified for property 'mailNickname' of resource 'Group'.")
            self._check_nickname(body["mailNickname"], "Group")
        if "displayName" in body and not body["displayName"]:
            raise bad_request("Invalid value specified for property 'displayName' of resource 'Group'.")
        changed = set()
        for name, value in body.items():
            if name.startswith("@"):
                continue
            stored = tuple(value) if isinstance(value, list) else value
            if group.get(name) != stored:
                group.set(name, value)
                changed.add(name)
        if changed:
            self._record(("g", group.id, frozenset(changed)))
        for mid in member_ids:
            self._add_member(group.id, mid, self.object_kind(mid))

    def delete_group(self, group: Group) -> None:
        """Microsoft 365 groups go to deleted items; security groups are deleted permanently."""
        gid = group.id
        saved_parents = []
        for parent in self.member_of(gid):
            saved_parents.append(parent)
            self._remove_member(parent, gid)
        saved_assignments = self._drop_assignments_of(gid)
        members = self.members.pop(gid, {})
        del self.groups[gid]
        if group.is_unified:
            group.set("deletedDateTime", utc_now())
            self.deleted_groups[gid] = group
            self.saved[gid] = {"groups": saved_parents, "assignments": saved_assignments,
                               "members": [(gid, mid, kind) for mid, kind in members.items()]}
        self._record(("g", gid, ALL))

    @staticmethod
    def _ref_id(ref: Any) -> str:
        if not isinstance(ref, str) or not ref:
            raise bad_request("Invalid object identifier ''.")
        tail = ref.rstrip("/").rsplit("/", 1)[-1]
        if tail.startswith("directoryObjects(") or "(" in tail:
            tail = tail[tail.index("(") + 1:].rstrip(")").strip("'")
        try:
            uuid.UUID(tail)
        except ValueError:
            raise bad_request(f"Invalid object identifier '{tail}'.") from None
        return tail

    def add_member_ref(self, group: Group, body: Any) -> None:
        ref = body.get("@odata.id") if isinstance(body, dict) else None
        if not ref:
            raise bad_request("Unsupported resource type 'DirectoryObject' for operation 'Create'.",
                              code="BadRequest")
        mid = self._ref_id(ref)
        kind = self.object_kind(mid)
        if kind is None:
            raise not_found(mid)
        if mid == group.id:
            raise bad_request("An object cannot be added as a member of itself.")
        if mid in self.members[group.id]:
            raise bad_request("One or more added object references already exist for the following "
                              "modified properties: 'members'.")
        self._add_member(group.id, mid, kind)

    def remove_member_ref(self, group: Group, mid: str) -> None:
        if mid not in self.members[group.id]:
            raise not_found(mid)
        self._remove_member(group.id, mid)

    def _add_member(self, gid: str, mid: str, kind: str) -> None:
        self.members[gid][mid] = kind
        self._record(("m", gid, mid, kind))

    def _remove_member(self, gid: str, mid: str) -> None:
        kind = self.members[gid].pop(mid)
        self._record(("m", gid, mid, kind))

    # ------------------------------------------------------------------ service principals

    def create_sp(self, body: dict) -> ServicePrincipal:
        app_id = body.get("appId") if isinstance(body, dict) else None
        if not app_id:
            raise bad_request("Property appId value is required but is empty or missing.",
                              details=[{"code": "PropertyRequired", "target": "appId"}])
        if app_id in self.sp_by_app:
            message = (f"The service principal cannot be created, updated, or restored because the service "
                       f"principal name {app_id} is already in use.")
            raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue", message,
                             details=[{"code": "ObjectConflict", "message": message, "target": "None"}])
        template = GALLERY.get(app_id)
        if template is None:
            raise bad_request(f"The appId '{app_id}' of the service principal does not reference a valid "
                              f"application object.",
                              details=[{"code": "NoBackingApplicationObject", "target": "appId"}])
        sp = self.add_sp(app_id, template)
        for name in ("accountEnabled", "appRoleAssignmentRequired", "notes", "tags", "description"):
            if name in body:
                sp.p[name] = body[name]
        return sp

    def add_sp(self, app_id: str, template: dict, record: bool = True, sp_id: str | None = None) -> ServicePrincipal:
        values = {
            "id": sp_id or self.new_id(), "deletedDateTime": None, "accountEnabled": True, "alternativeNames": [],
            "appId": app_id, "createdDateTime": utc_now(), "disabledByMicrosoftStatus": None, "notes": None,
            "notificationEmailAddresses": [], "preferredTokenSigningKeyThumbprint": None,
            "servicePrincipalNames": [app_id], "tokenEncryptionKeyId": None, "samlSingleSignOnSettings": None,
            "addIns": [], "keyCredentials": [], "oauth2PermissionScopes": [], "passwordCredentials": [],
            "resourceSpecificApplicationPermissions": [], "verifiedPublisher": {
                "displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
        }
        values.update({k: (list(v) if isinstance(v, list) else v) for k, v in template.items()})
        values["appRoles"] = [dict(role) for role in template.get("appRoles", [])]
        sp = ServicePrincipal(**values)
        self.sps[sp.id] = sp
        self.sp_order.append(sp.id)
        self.sp_by_app[app_id] = sp.id
        self.assignments.setdefault(sp.id, {})
        return sp

    # ------------------------------------------------------------------ application templates

    def template(self, template_id: str) -> dict:
        template = APPLICATION_TEMPLATES.get(template_id)
        if template is None:
            raise not_found(template_id)
        return template

    def instantiate(self, template_id: str, body: Any) -> tuple[dict, ServicePrincipal]:
        """``applicationTemplates/{id}/instantiate``: a new application object and its service
        principal, owned by this tenant, each time (two instances never share assignments)."""
        template = self.template(template_id)
        if not isinstance(body, dict):
            raise bad_request("Invalid request body.", code="BadRequest")
        name = body.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("Property displayName value is required but is empty or missing.",
                              details=[{"code": "PropertyRequired", "target": "displayName"}])
        if len(name) > 256:
            raise bad_request("Invalid value specified for property 'displayName' of resource 'Application'.",
                              details=[{"code": "InvalidLength", "target": "displayName"}])
        gallery = GALLERY[template["_app_id"]]
        app_id = self.new_id()
        roles = [dict(role) for role in gallery.get("appRoles", [])]
        application = {
            "id": self.new_id(), "appId": app_id, "applicationTemplateId": template_id, "displayName": name,
            "createdDateTime": utc_now(), "deletedDateTime": None, "description": None, "notes": None,
            "publisherDomain": self.domains[0], "signInAudience": "AzureADMyOrg", "tags": [],
            "identifierUris": [], "appRoles": roles, "web": {"homePageUrl": gallery.get("homepage"),
                                                             "redirectUris": list(gallery.get("replyUrls") or [])},
        }
        self.applications[application["id"]] = application
        values = {name_: value for name_, value in gallery.items() if name_ != "appRoles"}
        values.update({"appDisplayName": name, "displayName": name, "appOwnerOrganizationId": self.tenant_id,
                       "applicationTemplateId": template_id, "signInAudience": "AzureADMyOrg",
                       "tags": ["WindowsAzureActiveDirectoryIntegratedApp",
                                "WindowsAzureActiveDirectoryCustomSingleSignOnApplication"],
                       "appRoles": roles})
        sp = self.add_sp(app_id, values)
        return application, sp

    def application(self, key: str) -> dict:
        application = self.applications.get(key)
        if application is None:
            raise not_found(key)
        return application

    def application_by_app_id(self, app_id: str) -> dict:
        for application in self.applications.values():
            if application["appId"] == app_id:
                return application
        raise not_found(app_id)

    def update_application(self, application: dict, body: Any) -> None:
        """``PATCH /applications/{id}``: its name, notes and app roles; the service principal follows."""
        if not isinstance(body, dict):
            raise bad_request("Invalid request body.", code="BadRequest")
        for name in body:
            if name not in ("displayName", "notes", "appRoles", "description") and not name.startswith("@"):
                raise bad_request(f"Property '{name}' is read-only or does not exist on 'Application'.")
        if "appRoles" in body:
            application["appRoles"] = _checked_app_roles(application["appRoles"], body["appRoles"])
        for name in ("displayName", "notes", "description"):
            if name in body:
                application[name] = body[name]
        sp = self.sps.get(self.sp_by_app.get(application["appId"], ""))
        if sp is not None:
            sp.p["appRoles"] = [dict(role) for role in application["appRoles"]]
            if "displayName" in body:
                sp.p["displayName"] = sp.p["appDisplayName"] = body["displayName"]

    def graph_sp(self) -> ServicePrincipal | None:
        sid = self.sp_by_app.get(MICROSOFT_GRAPH_APP_ID)
        return self.sps.get(sid) if sid else None

    # ------------------------------------------------------------------ app role assignments

    def assign(self, sp: ServicePrincipal, body: Any) -> Assignment:
        if not isinstance(body, dict):
            raise bad_request("Invalid request body.", code="BadRequest")
        for name in ("principalId", "resourceId", "appRoleId"):
            if not body.get(name):
                raise bad_request(f"Property {name} value is required but is empty or missing.",
                                  details=[{"code": "PropertyRequired", "target": name}])
        for name in body:
            if name not in ("principalId", "resourceId", "appRoleId") and not name.startswith("@"):
                raise GraphError(400, "Request_BadRequest",
                                 f"Property '{name}' does not exist as a declared property or extension property.")
        principal_id, resource_id, role_id = body["principalId"], body["resourceId"], body["appRoleId"]
        for name, value in (("principalId", principal_id), ("resourceId", resource_id), ("appRoleId", role_id)):
            try:
                uuid.UUID(str(value))
            except ValueError:
                raise GraphError(400, "BadRequest", f"Invalid value for property '{name}': '{value}' is not a "
                                 f"valid GUID.") from None
        if resource_id != sp.id:
            if resource_id not in self.sps:
                raise bad_request("Specified resourceId was not found.",
                                  details=[{"code": "InvalidValue", "target": "resourceId"}])
            raise bad_request("The resourceId in the request body must match the service principal in the URL.",
                              details=[{"code": "InvalidValue", "target": "resourceId"}])
        kind = self.object_kind(principal_id)
        if kind is None:
            raise not_found(principal_id)
        if role_id != DEFAULT_ACCESS_ROLE_ID and role_id not in sp.role_ids():
            raise bad_request(f"Permission being assigned was not found on application '{sp.get('appId')}'.",
                              details=[{"code": "InvalidValue", "target": "appRoleId"}])
        if role_id != DEFAULT_ACCESS_ROLE_ID:
            role = next(r for r in sp.get("appRoles") if r["id"] == role_id)
            allowed = role.get("allowedMemberTypes") or []
            needed = "Application" if kind == "servicePrincipal" else "User"
            if needed not in allowed:
                raise bad_request("The app role cannot be assigned to this type of principal.",
                                  details=[{"code": "InvalidValue", "target": "principalId"}])
        for aid, rid in self.by_principal.get(principal_id, {}).items():
            existing = self.assignments[rid][aid]
            if rid == sp.id and existing.appRoleId == role_id:
                raise bad_request("Permission being assigned already exists on the object",
                                  details=[{"code": "InvalidUpdate", "target": "appRoleId"}])
        principal_type = {"user": "User", "group": "Group", "servicePrincipal": "ServicePrincipal"}[kind]
        assignment = Assignment(_assignment_id(self.rng), role_id, utc_now(), principal_id, principal_type, sp.id)
        self._store_assignment(assignment)
        return assignment

    def _store_assignment(self, assignment: Assignment) -> None:
        self.assignments.setdefault(assignment.resourceId, {})[assignment.id] = assignment
        self.by_principal.setdefault(assignment.principalId, {})[assignment.id] = assignment.resourceId

    def unassign(self, sp: ServicePrincipal, aid: str) -> None:
        assignment = self.assignments.get(sp.id, {}).get(aid)
        if assignment is None:
            raise not_found(aid)
        del self.assignments[sp.id][aid]
        held = self.by_principal.get(assignment.principalId)
        if held is not None:
            held.pop(aid, None)
            if not held:
                del self.by_principal[assignment.principalId]

    def _drop_assignments_of(self, principal_id: str) -> list[Assignment]:
        dropped = []
        for aid, rid in list(self.by_principal.pop(principal_id, {}).items()):
            assignment = self.assignments.get(rid, {}).pop(aid, None)
            if assignment is not None:
                dropped.append(assignment)
        return dropped

    def assignments_of(self, principal_id: str) -> list[Assignment]:
        return [self.assignments[rid][aid] for aid, rid in self.by_principal.get(principal_id, {}).items()
                if aid in self.assignments.get(rid, {})]

    # ------------------------------------------------------------------ summary

    def summary(self) -> dict:
        return {
            "tenant_id": self.tenant_id,
            "users": len(self.users),
            "deleted_users": len(self.deleted_users),
            "disabled_users": sum(1 for u in self.users.values() if u.accountEnabled is False),
            "groups": len(self.groups),
            "deleted_groups": len(self.deleted_groups),
            "memberships": sum(len(m) for m in self.members.values()),
            "service_principals": len(self.sps),
            "assignments": sum(len(a) for a in self.assignments.values()),
            "changes": self.seq,
        }


def _conflict(prop: str) -> GraphError:
    message = f"Another object with the same value for property {prop} already exists."
    return GraphError(400, "Request_BadRequest", message,
                      details=[{"code": "ObjectConflict", "message": message, "target": prop}])


def _assignment_id(rng: random.Random) -> str:
    import base64

    raw = rng.getrandbits(256).to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _sid(rng: random.Random) -> str:
    parts = [rng.randrange(1, 4294967295) for _ in range(4)]
    return "S-1-12-1-" + "-".join(str(p) for p in parts)


_ROLE_MEMBER_TYPES = {"User", "Application"}


def _checked_app_roles(current: list[dict], roles: Any) -> list[dict]:
    """App roles as Entra accepts them on an application: each with a unique id and value, an
    allowed member type, and an enabled role removed only after it was disabled."""
    if not isinstance(roles, list):
        raise bad_request("Invalid value specified for property 'appRoles' of resource 'Application'.")
    seen_ids, seen_values, checked = set(), set(), []
    for role in roles:
        if not isinstance(role, dict) or not role.get("id") or not role.get("displayName"):
            raise bad_request("Invalid value specified for property 'appRoles' of resource 'Application'.",
                              details=[{"code": "InvalidValue", "target": "appRoles"}])
        try:
            role_id = str(uuid.UUID(str(role["id"])))
        except ValueError:
            raise bad_request("Invalid value specified for property 'id' of resource 'AppRole'.") from None
        members = role.get("allowedMemberTypes") or []
        if not members or not set(members) <= _ROLE_MEMBER_TYPES:
            raise bad_request("Invalid value specified for property 'allowedMemberTypes' of resource 'AppRole'.")
        value = role.get("value")
        if value is not None and (not isinstance(value, str) or " " in value or value.startswith(".")):
            raise bad_request("Invalid value specified for property 'value' of resource 'AppRole'.")
        if role_id in seen_ids or (value and value in seen_values):
            raise bad_request("Request contains a property with duplicate values.",
                              details=[{"code": "DuplicateValue", "target": "appRoles"}])
        seen_ids.add(role_id)
        if value:
            seen_values.add(value)
        checked.append({"allowedMemberTypes": list(members), "description": role.get("description"),
                        "displayName": role["displayName"], "id": role_id, "isEnabled": bool(role.get("isEnabled", True)),
                        "origin": "Application", "value": value})
    for role in current:
        if role["isEnabled"] and role["id"] not in seen_ids:
            raise bad_request("Property  value cannot be deleted or updated unless it is disabled first.",
                              code="CannotDeleteOrUpdateEnabledEntitlement")
    return checked

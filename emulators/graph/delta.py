"""Delta queries on users and groups.

A round starts either with the current state of every object (initial round)
or with the log entries after a delta token (later rounds). Its pages are
addressed by skip tokens that carry the round's bounds and a cursor, so the
emulator keeps no per-client session. Query parameters given at the start are
sealed into every token, as Graph does.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from itertools import islice
from typing import Any

from .directory import ALL, Directory
from .errors import GraphError
from .model import GROUP_DEFAULT, USER_DEFAULT, Group, User
from .tokens import seal, unseal

SYNC_STATE_NOT_FOUND = ("The sync state generation is not found. The delta token is expired and data must be "
                        "synchronized again.")

_TYPE = {"user": "#microsoft.graph.user", "group": "#microsoft.graph.group",
         "servicePrincipal": "#microsoft.graph.servicePrincipal"}


def _expired() -> GraphError:
    return GraphError(400, "syncStateNotFound", SYNC_STATE_NOT_FOUND)


class DeltaRequest:
    """What one delta call asked for."""

    def __init__(self, resource: str, select: tuple | None, ids: list[str] | None, deltatoken: str | None,
                 skiptoken: str | None, minimal: bool):
        self.resource = resource      # "users" | "groups"
        self.select = select
        self.ids = ids
        self.deltatoken = deltatoken
        self.skiptoken = skiptoken
        self.minimal = minimal


class DeltaEngine:
    """Computes delta pages for one emulator; holds only a small cache of change sets."""

    def __init__(self, emulator):
        self.emulator = emulator
        self._cache: OrderedDict = OrderedDict()

    @property
    def directory(self) -> Directory:
        return self.emulator.state

    def _key(self) -> bytes:
        return self.directory.signing_key + b"delta"

    def _seal(self, payload: dict) -> str:
        return seal(payload, self._key())

    def _open(self, token: str, resource: str) -> dict:
        payload = unseal(token, self._key())
        directory = self.directory
        if payload is None or payload.get("r") != resource or payload.get("e") != directory.epoch:
            raise _expired()
        lifetime = float(getattr(self.emulator, "delta_token_lifetime", 7 * 86400))
        if time.time() - payload.get("at", 0) > lifetime:
            raise _expired()
        if payload.get("s", 0) < directory.log_base or payload.get("s", 0) > directory.seq:
            raise _expired()
        return payload

    # ------------------------------------------------------------------ entry point

    def page(self, request: DeltaRequest, base: str) -> dict:
        directory = self.directory
        resource = request.resource
        context = f"{base}/v1.0/$metadata#{resource}"
        if request.deltatoken == "latest":
            token = self._seal({"r": resource, "e": directory.epoch, "s": directory.seq,
                                "sel": request.select, "ids": request.ids, "at": int(time.time()),
                                "n": secrets.token_hex(3)})
            return {"@odata.context": context,
                    "@odata.deltaLink": f"{base}/v1.0/{resource}/delta?$deltatoken={token}", "value": []}
        if request.skiptoken is not None:
            state = self._open(request.skiptoken, resource)
        elif request.deltatoken is not None:
            opened = self._open(request.deltatoken, resource)
            state = {"r": resource, "e": directory.epoch, "ph": "c", "s": opened["s"], "t": directory.seq,
                     "c": 0, "o": 0, "sel": opened.get("sel"), "ids": opened.get("ids")}
        else:
            state = {"r": resource, "e": directory.epoch, "ph": "i", "s": directory.seq, "t": directory.seq,
                     "c": 0, "o": 0, "sel": list(request.select) if request.select else None, "ids": request.ids}
            if request.select:
                context = f"{base}/v1.0/$metadata#{resource}({','.join(request.select)})"
        if resource == "users":
            values, cursor, offset, done = self._users_page(state, request.minimal)
        else:
            values, cursor, offset, done = self._groups_page(state, request.minimal)
        body: dict[str, Any] = {"@odata.context": context}
        if done:
            token = self._seal({"r": resource, "e": directory.epoch, "s": state["t"], "sel": state["sel"],
                                "ids": state["ids"], "at": int(time.time()), "n": secrets.token_hex(3)})
            body["@odata.deltaLink"] = f"{base}/v1.0/{resource}/delta?$deltatoken={token}"
        else:
            token = self._seal(dict(state, c=cursor, o=offset, at=int(time.time())))
            body["@odata.nextLink"] = f"{base}/v1.0/{resource}/delta?$skiptoken={token}"
        body["value"] = values
        return body

    # ------------------------------------------------------------------ users

    def _users_page(self, state: dict, minimal: bool):
        directory = self.directory
        size = int(self.emulator.delta_page_size)
        select = tuple(state["sel"]) if state["sel"] else USER_DEFAULT
        ids = set(state["ids"]) if state["ids"] else None
        values = []
        if state["ph"] == "i":
            cursor = state["c"]
            if ids is not None:
                order = [uid for uid in state["ids"]]
                while cursor < len(order) and len(values) < size:
                    user = directory.users.get(order[cursor])
                    if user is not None:
                        values.append(_render(user, select, None, False))
                    cursor += 1
                return values, cursor, 0, cursor >= len(order)
            last = cursor - 1
            for index, user in directory.iter_users(cursor):
                if len(values) >= size:
                    return values, index, 0, False
                values.append(_render(user, select, None, False))
                last = index
            return values, last + 1, 0, True
        items = self._changes(state)[0]
        cursor = state["c"]
        while cursor < len(items) and len(values) < size:
            uid, props = items[cursor]
            cursor += 1
            if ids is not None and uid not in ids:
                continue
            user = directory.users.get(uid)
            if user is not None:
                if props is not ALL and not props.intersection(select):
                    continue  # only properties outside the tracked set changed
                values.append(_render(user, select, props, minimal))
            elif uid in directory.deleted_users:
                values.append({"id": uid, "@removed": {"reason": "changed"}})
            else:
                values.append({"id": uid, "@removed": {"reason": "deleted"}})
        return values, cursor, 0, cursor >= len(items)

    # ------------------------------------------------------------------ groups

    def _groups_page(self, state: dict, minimal: bool):
        directory = self.directory
        size = int(self.emulator.delta_page_size)
        chunk = max(1, int(self.emulator.delta_members_chunk))
        select = tuple(state["sel"]) if state["sel"] else GROUP_DEFAULT + ("members",)
        track_members = "members" in select
        props = tuple(p for p in select if p != "members")
        ids = set(state["ids"]) if state["ids"] else None
        values: list[dict] = []
        budget = chunk
        cursor, offset = state["c"], state["o"]
        if state["ph"] == "i":
            order = list(state["ids"]) if ids is not None else directory.group_order
            while cursor < len(order):
                if len(values) >= size:
                    return values, cursor, offset, False
                group = directory.groups.get(order[cursor])
                if group is None:
                    cursor, offset = cursor + 1, 0
                    continue
                obj = _render(group, props, None, False)
                if track_members:
                    members = directory.members.get(group.id, {})
                    remaining = len(members) - offset
                    if remaining > 0:
                        if budget == 0:
                            return values, cursor, offset, False
                        take = min(remaining, budget)
                        obj["members@delta"] = [
                            {"@odata.type": _TYPE[kind], "id": mid}
                            for mid, kind in islice(members.items(), offset, offset + take)
                        ]
                        budget -= take
                        if take < remaining:
                            values.append(obj)
                            return values, cursor, offset + take, False
                values.append(obj)
                cursor, offset = cursor + 1, 0
            return values, cursor, 0, True
        items = self._changes(state)[1]
        while cursor < len(items):
            if len(values) >= size:
                return values, cursor, offset, False
            gid, changed, member_changes = items[cursor]
            if ids is not None and gid not in ids:
                cursor, offset = cursor + 1, 0
                continue
            group = directory.groups.get(gid)
            if group is None:
                reason = "changed" if gid in directory.deleted_groups else "deleted"
                if changed is ALL or changed:
                    values.append({"id": gid, "@removed": {"reason": reason}})
                cursor, offset = cursor + 1, 0
                continue
            relevant = changed is ALL or bool(changed and changed.intersection(props))
            members_relevant = track_members and bool(member_changes)
            if not relevant and not members_relevant:
                cursor, offset = cursor + 1, 0
                continue
            obj = _render(group, props, changed, minimal)
            if members_relevant:
                remaining = len(member_changes) - offset
                if budget == 0:
                    return values, cursor, offset, False
                take = min(remaining, budget)
                current = directory.members.get(gid, {})
                entries = []
                for mid, kind in member_changes[offset:offset + take]:
                    entry = {"@odata.type": _TYPE[kind], "id": mid}
                    if mid not in current:
                        entry["@removed"] = {"reason": "deleted"}
                    entries.append(entry)
                obj["members@delta"] = entries
                budget -= take
                if take < remaining:
                    values.append(obj)
                    return values, cursor, offset + take, False
            values.append(obj)
            cursor, offset = cursor + 1, 0
        return values, cursor, 0, True

    # ------------------------------------------------------------------ change sets

    def _changes(self, state: dict):
        """(user items, group items) for the log window of a round, computed once per round."""
        directory = self.directory
        key = (directory.epoch, state["s"], state["t"])
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        entries = directory.changes_since(state["s"], state["t"])
        if entries is None:
            raise _expired()
        users: dict[str, Any] = {}
        groups: dict[str, list] = {}
        for entry in entries:
            kind = entry[0]
            if kind == "u":
                uid, props = entry[1], entry[2]
                if props is ALL or users.get(uid, set()) is ALL:
                    users[uid] = ALL
                else:
                    users.setdefault(uid, set()).update(props)
            elif kind == "g":
                gid, props = entry[1], entry[2]
                slot = groups.setdefault(gid, [set(), {}])
                if props is ALL or slot[0] is ALL:
                    slot[0] = ALL
                else:
                    slot[0].update(props)
            else:
                gid, mid, mkind = entry[1], entry[2], entry[3]
                slot = groups.setdefault(gid, [set(), {}])
                slot[1][mid] = mkind
        user_items = [(uid, props) for uid, props in users.items()]
        group_items = [(gid, slot[0], list(slot[1].items())) for gid, slot in groups.items()]
        result = (user_items, group_items)
        self._cache[key] = result
        if len(self._cache) > 32:
            self._cache.popitem(last=False)
        return result


def _render(obj: User | Group, select: tuple, changed, minimal: bool) -> dict:
    """A user or group as one delta entry: with ``Prefer: return=minimal``, only the properties
    that changed; otherwise every selected one that has a value (or that changed to none)."""
    out: dict[str, Any] = {}
    only_changed = minimal and changed is not ALL and changed is not None
    for name in select:
        if only_changed and name not in changed:
            continue
        value = obj.get(name)
        if not only_changed and value is None and (changed is None or changed is ALL or name not in changed):
            continue
        out[name] = list(value) if isinstance(value, tuple) else value
    out["id"] = obj.id
    return out



"""Reading the source: every read of a cycle happens here, and hands the rest
of the cycle a :class:`FullRead` or a :class:`DeltaRead`.

A full read takes the delta links first, then reads everything with the
biggest pages the directory allows: a change made during the read is seen again
by the next round, never lost."""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from ..batching import chunked
from ..connectors.source import SourceConnector
from ..constants import Scope
from .config import EngineConfig
from .membership import GROUP, USER, MemberChange, Memberships
from .scope import Assignments
from .spill import SpilledUsers, UsersAbandoned

log = logging.getLogger(__name__)

#: progress is stored (and a stop honoured) every so many objects read
CHECKPOINT_EVERY = 5000
#: groups whose members one read asks for (as one $batch), and how many such reads run at once
MEMBER_CHUNK = 20
MEMBER_READS = 4


class _Aborted(Exception):
    """The read beside the users' stops: the users' read failed or was stopped."""


#: changed users handed over at most this many at a time while the users' delta round is read
ARRIVALS_BATCH = 500
#: how long a cycle that ends waits for its read of changed users to stop
CLOSE_SECONDS = 120
_END = object()


class UserArrivals:
    """The users' delta round, read in a thread of its own and taken as it arrives: each batch is laid
    into the :class:`DeltaRead` (merged as the round requires) before it is handed over. ``close()``
    stops a read still under way."""

    def __init__(self, reader: "SourceReader", read: "DeltaRead", delta_link: str):
        self.read = read
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._abort = threading.Event()
        #: set once the whole round is in (or its read failed): what is still to be taken is all there
        self.read_through = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run, reader, delta_link),
                                        name="read-users", daemon=True)
        self._thread.start()

    def _run(self, reader: "SourceReader", delta_link: str) -> None:
        try:
            round_ = reader.source.users_delta(delta_link=delta_link)
            for user in round_:
                if self._abort.is_set():
                    return
                self._queue.put(user)
            self._queue.put((_END, round_.delta_link or ""))
        except BaseException as exc:  # noqa: BLE001 - raised in the thread taking the users
            self._queue.put((_END, exc))
        finally:
            self.read_through.set()

    def batches(self, tick: Callable[[], None]) -> Iterable[list[tuple[str, bool]]]:
        """(user id, removed) of the users as they arrive, a few hundred at most at a time, each already
        in the read; ``tick`` is called while waiting (a stop, or a lost lease, is honoured)."""
        read = self.read
        while not self._done:
            try:
                first = self._queue.get(timeout=0.25)
            except queue.Empty:
                tick()
                continue
            batch = []
            item = first
            while True:
                if isinstance(item, tuple) and item and item[0] is _END:
                    self._done = True
                    if isinstance(item[1], BaseException):
                        raise item[1]
                    read.user_delta_link = item[1]
                    break
                uid = item["id"]
                if "@removed" in item:
                    read.removed_users[uid] = item["@removed"].get("reason", "changed")
                    read.changed_users.pop(uid, None)
                    batch.append((uid, True))
                else:
                    read.removed_users.pop(uid, None)
                    read.changed_users.setdefault(uid, {}).update(item)
                    batch.append((uid, False))
                if len(batch) >= ARRIVALS_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                yield batch

    def finish(self, tick: Callable[[], None]) -> None:
        """Take the rest of the round."""
        for _ in self.batches(tick):
            pass

    def close(self) -> None:
        """Stop the read (at its next user, so after the page under way) and wait for it."""
        self._abort.set()
        self._thread.join(timeout=CLOSE_SECONDS)
        if self._thread.is_alive():  # a page that Graph keeps failing, retried: it ends with its retries
            log.warning("The read of changed users from Microsoft Entra ID did not stop within %s s; it ends "
                        "with the page it is reading, and nothing it reads is used.", CLOSE_SECONDS)


@dataclass
class FullRead:
    """Everything a full cycle works from."""

    assignment_rows: list[dict]
    assignments: Assignments
    #: by id (read back from a scratch file: call ``users.clear()`` once done with them)
    users: SpilledUsers
    groups: dict[str, dict]
    #: direct members of the assigned groups (and of the groups nested in them, when nesting counts)
    memberships: Memberships
    user_delta_link: str
    group_delta_link: str


@dataclass
class DeltaRead:
    """What changed since the last cycle's delta links."""

    assignment_rows: list[dict]
    assignments: Assignments
    previous_rows: list[dict]
    changed_users: dict[str, dict] = field(default_factory=dict)
    #: user id -> "changed" (soft-deleted) or "deleted" (permanently)
    removed_users: dict[str, str] = field(default_factory=dict)
    changed_groups: dict[str, dict] = field(default_factory=dict)
    removed_groups: set[str] = field(default_factory=set)
    members_added: list[MemberChange] = field(default_factory=list)
    members_removed: list[MemberChange] = field(default_factory=list)
    #: members of groups read afresh (just assigned, or just nested)
    fresh: Memberships = field(default_factory=Memberships)
    user_delta_link: str = ""
    group_delta_link: str = ""
    #: a streamed read's users' round, still being read (see :meth:`SourceReader.delta`)
    arrivals: "UserArrivals | None" = None

    @property
    def previous(self) -> Assignments:
        return Assignments.from_rows(self.previous_rows)

    @property
    def changed_principals(self) -> set[str]:
        """Principals whose assignment (or role) changed since the last cycle."""
        before, after = self.previous.fingerprint(), self.assignments.fingerprint()
        return {pid for pid in set(before) | set(after) if before.get(pid) != after.get(pid)}

    @property
    def previous_groups(self) -> set[str]:
        return {row["principalId"] for row in self.previous_rows if row["principalType"] == "Group"}

    @property
    def membership_groups(self) -> set[str]:
        """Groups whose members changed (or that were deleted)."""
        return ({c.group_id for c in self.members_added} | {c.group_id for c in self.members_removed}
                | self.removed_groups)


class SourceReader:
    """Reads of one cycle. ``progress(phase)`` stores the phase (and honours a stop);
    ``checkpoint()`` does the same in the middle of a long read."""

    def __init__(self, source: SourceConnector, config: EngineConfig, *, progress: Callable[[str], None],
                 checkpoint: Callable[[], None]):
        self.source = source
        self.config = config
        self.progress = progress
        self.checkpoint = checkpoint
        self.user_select = source.select_for(config.users.source_attributes())
        self.group_select = source.select_for(config.groups.source_attributes())
        self._soft_deleted: set[str] | None = None

    # ------------------------------------------------------------------ full
    def full(self, *, streamed: bool = False) -> FullRead:
        """Everything, read. With ``streamed``, it returns once the groups and memberships are in, while the
        users are still being read: take them from ``users.arrivals()`` (or wait for all of them with
        ``users.wait()``), and ``users.clear()`` once done, which also stops a read still under way."""
        rows, assignments = self.assignments()
        self.progress("Reading users and groups from Microsoft Entra ID")
        # The groups and their members are read beside the users (each read waits on Graph most of its
        # time); each delta link is still taken before its own read.
        abort = threading.Event()
        users = SpilledUsers()  # a tenant's attributes are kept on disk until each user is planned
        pool = ThreadPoolExecutor(2, thread_name_prefix="read")
        try:
            reading_groups = pool.submit(contextvars.copy_context().run, self._groups, assignments, abort)
            try:
                user_link = self.source.latest_delta_link("users", select=self.user_select)
                pool.submit(contextvars.copy_context().run, self._users, users, abort)
                while True:
                    self.checkpoint()  # a stop, or a lost lease, is honoured while the groups are read
                    if wait([reading_groups], timeout=0.25).done:
                        break
                group_link, groups, memberships = reading_groups.result()
                if not streamed:
                    users.wait(self.checkpoint)
            except BaseException:
                abort.set()  # both reads stop at their next request; their own errors, if any, are not raised
                raise
        except BaseException:
            users.clear()
            raise
        finally:
            pool.shutdown(wait=False)  # the users' read goes on, if it is not over
        return FullRead(rows, assignments, users, groups, memberships, user_link, group_link)

    def _users(self, users: SpilledUsers, abort: threading.Event) -> None:
        """Read every user into ``users`` (in a thread of its own: its error goes to whoever takes them)."""
        try:
            for user in self.source.iter_users(select=self.user_select):
                users.add(user)
                if abort.is_set():
                    raise _Aborted()
        except UsersAbandoned:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the thread taking the users
            users.fail(exc)
            return
        users.finish()

    def _groups(self, assignments: Assignments, abort: threading.Event) -> tuple[str, dict[str, dict], Memberships]:
        group_link = self.source.latest_delta_link("groups", select=self.group_select)
        groups = {}
        for group in self.source.iter_groups(select=self.group_select):
            groups[group["id"]] = group
            if abort.is_set():
                raise _Aborted()
        return group_link, groups, self.members(set(assignments.groups) & set(groups), abort=abort)

    def assignments(self) -> tuple[list[dict], Assignments]:
        self.progress("Reading assignments from Microsoft Entra ID")
        rows = list(self.source.iter_assignments(self.config.service_principal_id))
        assignments = Assignments.from_rows(rows)
        if self.config.users.uses_app_roles:
            assignments.app_roles = self.source.app_roles(self.config.service_principal_id)
        return rows, assignments  # (read_assignments, keeping the rows to store)

    def members(self, group_ids: Iterable[str], *, abort: threading.Event | None = None) -> Memberships:
        """Direct members of groups, 20 groups per request and a few requests at once; nested groups are
        followed when they count. A group deleted while it is read has no members."""
        memberships = Memberships()
        pending, seen = set(group_ids), set()
        while pending:
            seen |= pending
            for gid in pending:
                memberships.ensure(gid)
            chunks = list(chunked(sorted(pending), MEMBER_CHUNK))

            def read(chunk: list[str]) -> list[tuple[str, str, str]]:
                if abort is not None and abort.is_set():
                    raise _Aborted()
                return list(self.source.member_ids_of_groups(chunk))

            if len(chunks) == 1:
                answers = [read(chunks[0])]
            else:
                # each read in a copy of this thread's context (log lines name the cycle); one copy each, as a
                # context cannot be entered by two threads at once
                contexts = [contextvars.copy_context() for _ in chunks]
                with ThreadPoolExecutor(MEMBER_READS, thread_name_prefix="read-members") as pool:
                    answers = list(pool.map(lambda context, chunk: context.run(read, chunk), contexts, chunks))
            for answer in answers:
                for gid, member_id, kind in answer:
                    memberships.add(gid, member_id, kind)
            nested = {child for gid in pending for child in memberships.groups.get(gid, ())}
            pending = (nested - seen) if self.config.expand_nested_groups else set()
        return memberships

    def soft_deleted(self, user_id: str) -> bool:
        """Whether a missing user is in the recycle bin (the bin is read once, when first asked)."""
        if self._soft_deleted is None:
            self._soft_deleted = self.source.soft_deleted_user_ids()
        return user_id in self._soft_deleted

    # ------------------------------------------------------------------ incremental
    def delta(self, *, user_delta_link: str, group_delta_link: str, previous_rows: list[dict],
              streamed: bool = False) -> DeltaRead:
        """What changed. With ``streamed``, it returns once the groups' round (and the members it calls
        for) is in, while the users' round is still being read: take the users from
        ``read.arrivals.batches()`` (or all at once with ``finish()``), and ``close()`` it once done."""
        rows, assignments = self.assignments()
        read = DeltaRead(rows, assignments, previous_rows)
        self.progress("Reading changed users from Microsoft Entra ID")
        # The groups' round is read beside the users' (each waits on Graph most of its time, page after
        # page); each fills its own part of the read.
        arrivals = UserArrivals(self, read, user_delta_link)
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="read") as pool:
                groups = pool.submit(contextvars.copy_context().run, self._group_changes, read, group_delta_link)
                while not wait([groups], timeout=0.25).done:
                    self.checkpoint()  # a stop, or a lost lease, is honoured while the groups are read
                groups.result()
            # Members are kept for assigned groups (and, when nesting counts, the groups inside them):
            # the members of a group just assigned, or just nested, are read now.
            to_read = set(assignments.groups) - read.previous_groups - read.removed_groups
            if self.config.expand_nested_groups:
                to_read |= {c.member_id for c in read.members_added if c.kind == GROUP} - read.removed_groups
            if to_read:
                read.fresh = self.members(to_read)
            if not streamed:
                arrivals.finish(self.checkpoint)
        except BaseException:
            arrivals.close()
            raise
        if not streamed:
            arrivals.close()
        else:
            read.arrivals = arrivals
        return read

    def _group_changes(self, read: DeltaRead, delta_link: str) -> None:
        round_ = self.source.groups_delta(delta_link=delta_link)
        for group in round_:
            gid = group["id"]
            if "@removed" in group:
                read.removed_groups.add(gid)
                continue
            read.changed_groups.setdefault(gid, {}).update({k: v for k, v in group.items() if k != "members@delta"})
            for member in group.get("members@delta", []):
                kind = GROUP if member.get("@odata.type", "").endswith("group") else USER
                if "@removed" in member:
                    read.members_removed.append(MemberChange(gid, member["id"], kind))
                else:
                    read.members_added.append(MemberChange(gid, member["id"], kind))
        read.group_delta_link = round_.delta_link or ""

    # ------------------------------------------------------------------ objects by id
    def users(self, ids: Iterable[str]) -> tuple[dict[str, dict], set[str]]:
        """Users' attributes (those the mappings and filters read): (found, ids gone)."""
        return self.source.get_users(ids, select=self.user_select)

    def groups(self, ids: Iterable[str]) -> tuple[dict[str, dict], set[str]]:
        return self.source.get_groups(ids, select=self.group_select)


def empty_read_reason(config: EngineConfig, read: FullRead | DeltaRead, *, in_scope: int, links: dict) -> str:
    """Why what was read looks like an empty answer rather than everyone leaving ("" when it does not)."""
    if isinstance(read, FullRead):
        if in_scope == 0 and any(link.state == "active" for link in links.values()):
            return (f"Microsoft Entra ID returned no users in scope, while the portal has provisioned {len(links)} "
                    "users. Nothing was disabled or deleted: an empty answer is not taken to mean that everyone left. "
                    "If everyone really left, select Allow deletes.")
        return ""
    if config.scope == Scope.ASSIGNED and read.previous_rows and not read.assignment_rows:
        return (f"Microsoft Entra ID returned no assignments for the application, while it had "
                f"{len(read.previous_rows)} in the last cycle. Nothing was disabled or deleted: an empty answer is "
                "not taken to mean that everyone left. If every assignment was really removed, select Allow deletes.")
    return ""

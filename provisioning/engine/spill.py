"""What a full cycle reads and plans for a whole tenant, kept in a scratch file
instead of in memory: the users' attributes between the read and planning
(planning takes each as it arrives, while the rest are being read), and the
plans between planning and their writes.

A full cycle must see every user before it writes anything (the
accidental-deletion threshold and the empty-read check count the whole phase),
so it cannot plan and write as it reads. Held as Python objects, a tenant's
attributes and plans cost about 3 KB per user; in the scratch file they cost a
few bytes of index each, and memory stays nearly flat as the tenant grows.

The file has no name (it is gone when closed, or when the process dies) and is
read by offset, so processes forked from the cycle (its shards) read it
independently of each other."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping

import orjson

from .types import Plan, plan_from_json, plan_to_json

#: bytes gathered before they are written to the file, and read from it at once
_BLOCK = 1 << 20


class _Scratch:
    """An unnamed temporary file, appended to and read by offset, by one thread writing while others read."""

    def __init__(self):
        self._file = tempfile.TemporaryFile(prefix="portal-cycle-")
        self._fd = self._file.fileno()
        self._pending = bytearray()
        self._written = 0
        self._sealed = False
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return self._written + len(self._pending)

    def append(self, data: bytes) -> int:
        """Add ``data``; its offset. Only before the first read: processes forked once it is read share
        the file's position, so none may write to it then."""
        with self._lock:
            if self._sealed:
                raise RuntimeError("The cycle's scratch file is read: nothing more is written to it.")
            offset = self.size
            self._pending += data
            if len(self._pending) >= _BLOCK:
                self._drain()
            return offset

    def _drain(self) -> None:
        view = memoryview(self._pending)
        while view:
            written = os.write(self._fd, view)
            self._written += written
            view = view[written:]
        view.release()
        self._pending.clear()

    def seal(self) -> None:
        """Write what is gathered, and nothing more."""
        with self._lock:
            if not self._sealed:
                self._drain()
                self._sealed = True

    def read(self, offset: int, length: int) -> bytes:
        if offset + length > self._written:
            with self._lock:
                self._drain()
        data = os.pread(self._fd, length, offset)
        if len(data) != length:
            raise OSError(f"The cycle's scratch file is shorter than expected ({len(data)} of {length} bytes "
                          f"at {offset}).")
        return data

    def lines(self) -> Iterator[bytes]:
        """Every line, in order (without its newline)."""
        self.seal()
        offset, rest = 0, b""
        while offset < self._written:
            block = os.pread(self._fd, _BLOCK, offset)
            if not block:
                raise OSError("The cycle's scratch file ended early.")
            offset += len(block)
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            yield from lines
        if rest:
            yield rest

    def close(self) -> None:
        with self._lock:
            self._pending.clear()
            self._sealed = True
            self._file.close()


class UsersAbandoned(Exception):
    """The users being read in were let go (the cycle stopped): the read stops."""


class SpilledUsers(Mapping):
    """Users read from the source, by id, each kept as its JSON in a scratch file: only the ids and
    where each user is stay in memory. Reading a user back parses it again.

    One thread may be reading the users in (:meth:`add`, then :meth:`finish` or :meth:`fail`) while another
    takes them as they arrive (:meth:`arrivals`): planning starts before the last page is read."""

    def __init__(self):
        self._scratch: _Scratch | None = _Scratch()
        #: id -> offset << 32 | length (one int each, not a tuple)
        self._at: dict[str, int] = {}
        #: ids in the order they first arrived
        self._order: list[str] = []
        self._arrived = threading.Condition()
        self._complete = False
        self._error: BaseException | None = None
        #: set when the users are let go: the thread reading them in stops at its next user
        self.abandoned = threading.Event()

    # ------------------------------------------------------------------ reading in
    def add(self, user: dict) -> None:
        scratch = self._scratch
        if scratch is None or self.abandoned.is_set():
            raise UsersAbandoned()
        data = orjson.dumps(user)
        uid = user["id"]
        at = scratch.append(data) << 32 | len(data)
        with self._arrived:
            if uid not in self._at:
                self._order.append(uid)
            self._at[uid] = at
            if len(self._order) % 100 == 0:
                self._arrived.notify_all()

    def finish(self) -> None:
        """Every user is in."""
        with self._arrived:
            self._complete = True
            self._arrived.notify_all()

    def fail(self, error: BaseException) -> None:
        """The read stopped with ``error``: whoever takes the users gets it."""
        with self._arrived:
            self._error, self._complete = error, True
            self._arrived.notify_all()

    def wait(self, tick: Callable[[], None] = lambda: None) -> None:
        """Until every user is in (``tick`` is called about once a second meanwhile); the read's error, if any."""
        while True:
            with self._arrived:
                if not self._complete:
                    self._arrived.wait(1.0)
                complete, error = self._complete, self._error
            if error is not None:
                raise error
            if complete:
                return
            tick()

    def arrivals(self, tick: Callable[[], None] = lambda: None) -> Iterator[tuple[str, dict]]:
        """(id, user) of each user once, in the order they arrived, as they arrive; ``tick`` is called about
        once a second while none comes. Raises the read's error where it stopped."""
        taken = 0
        while True:
            with self._arrived:
                while taken == len(self._order) and not self._complete:
                    if not self._arrived.wait(1.0):
                        break
                if self._error is not None:
                    raise self._error
                ready = self._order[taken:]
                done = self._complete and taken + len(ready) == len(self._order)
            if not ready and not done:
                tick()
                continue
            for uid in ready:
                yield uid, self[uid]
            taken += len(ready)
            if done:
                return

    # ------------------------------------------------------------------ the mapping
    def __getitem__(self, uid: str) -> dict:
        at = self._at[uid]
        return orjson.loads(self._scratch.read(at >> 32, at & 0xFFFFFFFF))

    def __contains__(self, uid: object) -> bool:
        return uid in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def clear(self) -> None:
        """Let the users go (the file is closed and gone; a read still under way stops)."""
        self.abandoned.set()
        with self._arrived:
            self._at, self._order = {}, []
            if self._scratch is not None:
                self._scratch.close()
                self._scratch = None
            self._complete = True
            self._arrived.notify_all()


#: what a line of the plans' file starts with: a write, a plan that writes nothing, or the place of a kept plan
_WRITE, _QUIET, _KEPT = b"w", b"q", b"k"


class SpilledPlans:
    """The plans of one phase, in order, each written to a scratch file as JSON as it is made, except
    destructive ones: those stay objects (in :attr:`kept`), as staging may still turn them into staged
    actions. Iterating gives fresh objects: what the execution sets on them is not kept here."""

    def __init__(self):
        self._scratch = _Scratch()
        self.kept: list[Plan] = []
        self._count = 0
        self._writes = 0

    def append(self, plan: Plan) -> None:
        self._count += 1
        if plan.destructive:
            self._scratch.append(_KEPT + str(len(self.kept)).encode() + b"\n")
            self.kept.append(plan)
            return
        self._writes += plan.writes
        self._scratch.append((_WRITE if plan.writes else _QUIET) + orjson.dumps(plan_to_json(plan)) + b"\n")

    def __len__(self) -> int:
        return self._count

    @property
    def writes(self) -> int:
        return self._writes + sum(1 for plan in self.kept if plan.writes)

    def __iter__(self) -> Iterator[Plan]:
        for line in self._scratch.lines():
            yield self._plan(line)

    def select(self, *, writes: bool, start: int = 0, step: int = 1) -> Iterator[Plan]:
        """The plans that write (or those that write nothing), and of those only every ``step``-th from the
        ``start``-th: a shard's share. Lines that are not taken are not parsed."""
        seen = 0
        for line in self._scratch.lines():
            tag = line[:1]
            if tag == _KEPT:
                plan = self.kept[int(line[1:])]
                if plan.writes != writes:
                    continue
            elif (tag == _WRITE) != writes:
                continue
            else:
                plan = None
            if seen % step == start:
                yield plan if plan is not None else plan_from_json(orjson.loads(line[1:]))
            seen += 1

    def _plan(self, line: bytes) -> Plan:
        if line[:1] == _KEPT:
            return self.kept[int(line[1:])]
        return plan_from_json(orjson.loads(line[1:]))

    def seal(self) -> None:
        """Done planning: the file is complete (before processes are forked to read it)."""
        self._scratch.seal()

    def close(self) -> None:
        self._scratch.close()
        self.kept = []


def writes_of(plans, *, start: int = 0, step: int = 1) -> Iterator[Plan]:
    """The plans that write, of a list or of :class:`SpilledPlans` (every ``step``-th from ``start``)."""
    if isinstance(plans, SpilledPlans):
        return plans.select(writes=True, start=start, step=step)
    return (p for i, p in enumerate(p for p in plans if p.writes) if i % step == start)


def quiet_of(plans) -> Iterator[Plan]:
    """The plans that write nothing (logged or not), of a list or of :class:`SpilledPlans`."""
    if isinstance(plans, SpilledPlans):
        return plans.select(writes=False)
    return (p for p in plans if not p.writes)

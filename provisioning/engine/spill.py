"""What a full cycle reads and plans for a whole tenant, kept in a scratch file
instead of in memory: the users' attributes between the read and planning, and
the plans between planning and their writes.

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
from collections.abc import Iterator, Mapping

import orjson

from .types import Plan, plan_from_json, plan_to_json

#: bytes gathered before they are written to the file, and read from it at once
_BLOCK = 1 << 20


class _Scratch:
    """An unnamed temporary file, appended to, then read by offset."""

    def __init__(self):
        self._file = tempfile.TemporaryFile(prefix="portal-cycle-")
        self._fd = self._file.fileno()
        self._pending = bytearray()
        self._written = 0
        self._sealed = False

    @property
    def size(self) -> int:
        return self._written + len(self._pending)

    def append(self, data: bytes) -> int:
        """Add ``data``; its offset. Only before the first read: processes forked once it is read share
        the file's position, so none may write to it then."""
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
        if not self._sealed:
            self._drain()
            self._sealed = True

    def read(self, offset: int, length: int) -> bytes:
        self.seal()
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
        self._pending.clear()
        self._file.close()


class SpilledUsers(Mapping):
    """Users read from the source, by id, each kept as its JSON in a scratch file: only the ids and
    where each user is stay in memory. Reading a user back parses it again."""

    def __init__(self):
        self._scratch: _Scratch | None = _Scratch()
        #: id -> offset << 32 | length (one int each, not a tuple)
        self._at: dict[str, int] = {}

    def add(self, user: dict) -> None:
        data = orjson.dumps(user)
        self._at[user["id"]] = self._scratch.append(data) << 32 | len(data)

    def __getitem__(self, uid: str) -> dict:
        at = self._at[uid]
        return orjson.loads(self._scratch.read(at >> 32, at & 0xFFFFFFFF))

    def __contains__(self, uid: object) -> bool:
        return uid in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)

    def clear(self) -> None:
        """Let the users go (the file is closed and gone)."""
        self._at = {}
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None


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

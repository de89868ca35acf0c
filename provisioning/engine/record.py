"""The record phase: planned writes go to the executor, and every result that
comes back is written (links, logs, escrows, counters) in bulk, whatever stops
the loop; plans that write nothing are recorded too. A dry run records only
what was planned."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import DatabaseError

from ..batching import chunked
from .execution import Executor, Result
from .spill import SpilledPlans, quiet_of, writes_of
from .store import Store
from .types import Plan

#: results are recorded in batches of this many
RECORD_EVERY = 500
#: writes are announced a little ahead of the executor: a run that stops leaves few never sent
ANNOUNCE_EVERY = 200


@dataclass
class Tally:
    """The writes of a cycle: how many, how many failed, and the failures' messages."""

    writes: int = 0
    write_failures: int = 0
    errors: Counter = field(default_factory=Counter)
    #: source ids of the objects these writes linked to an existing target object (found by matching)
    newly_linked: list[str] = field(default_factory=list)

    def count(self, result: Result) -> None:
        self.writes += 1
        if result.plan.newly_linked:
            self.newly_linked.append(result.plan.source_id)
        if not result.ok:
            self.write_failures += 1
            if result.error is not None:
                self.errors[result.error.message] += 1

    @property
    def top_error(self) -> str:
        return self.errors.most_common(1)[0][0] if self.errors else ""


def plan_only(plans: list[Plan] | SpilledPlans, store: Store, planned: list[Plan]) -> None:
    """A dry run: count what would be done, keep the plans, write nothing."""
    for plan in plans:
        planned.append(plan)
        store.counters[plan.action]["Planned"] += 1
        store.processed += 1


class DatabaseLost(Exception):
    """The database went away while the cycle ran: it stopped writing; what it sent stays announced."""


def announced(plans: Iterable[Plan], store: Store) -> Iterator[Plan]:
    """The writes, each announced (durably, in batches) before the executor may send it."""
    for chunk in chunked(plans, ANNOUNCE_EVERY):
        store.announce(chunk)
        yield from chunk


def announced_as_they_come(batches: Iterable[list[Plan]], store: Store) -> Iterator[Plan]:
    """The same, for updates planned a few at a time as the users' round is read: each batch is announced
    as it comes rather than waiting for more."""
    for batch in batches:
        for chunk in chunked(batch, ANNOUNCE_EVERY):
            store.announce(chunk, early=True)
            yield from chunk


def execute_and_record(plans: list[Plan] | SpilledPlans, executor: Executor, store: Store, tally: Tally) -> None:
    """Record the plans that write nothing, then announce the writes, send them, and record every answer
    that came back."""
    record_quiet(plans, store)
    send_and_record(writes_of(plans), executor, store, tally)


def record_quiet(plans: list[Plan] | SpilledPlans, store: Store) -> None:
    """The plans that write nothing, recorded (those worth a log row are logged)."""
    for quiet in chunked(quiet_of(plans), RECORD_EVERY * 4):
        store.record([], quiet)


def send_and_record(writes: Iterable[Plan], executor: Executor, store: Store, tally: Tally) -> None:
    """Announce the writes, send them, and record every answer that came back. A write is announced
    before it is sent and recorded with its answer, so a run that stops in between (a kill, a lost
    database) leaves it for the next run to confirm, never without its log row."""
    _send_announced(announced(writes, store), executor, store, tally)


def send_and_record_as_planned(batches: Iterable[list[Plan]], executor: Executor, store: Store,
                               tally: Tally) -> None:
    """The same for updates planned a batch at a time as the users' round is read (see
    :func:`announced_as_they_come`)."""
    _send_announced(announced_as_they_come(batches, store), executor, store, tally)


def _send_announced(writes: Iterator[Plan], executor: Executor, store: Store, tally: Tally) -> None:
    try:
        _send_and_record(writes, executor, store, tally)
    except DatabaseError as exc:
        # The answers in hand cannot be recorded now: their writes stay announced for the next run.
        raise DatabaseLost(str(exc)) from exc
    if executor.fatal is not None:
        raise executor.fatal
    store.checkpoint()


def _send_and_record(writes: Iterator[Plan], executor: Executor, store: Store, tally: Tally) -> None:
    buffer: list[Result] = []
    try:
        # The executor stops taking new work when asked to stop, when the lease is lost or when
        # the credentials are rejected, and drains what is in flight before this loop ends.
        for result in executor.run(writes):
            buffer.append(result)
            tally.count(result)
            if len(buffer) >= RECORD_EVERY:
                store.record(buffer)
                buffer = []
            else:
                store.flush()
    except DatabaseError:
        raise
    except BaseException:
        if buffer:
            store.record(buffer)
        raise
    if buffer:
        store.record(buffer)

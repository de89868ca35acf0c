"""The record phase: planned writes go to the executor, and every result that
comes back is written (links, logs, escrows, counters) in bulk, whatever stops
the loop; plans that write nothing are recorded too. A dry run records only
what was planned."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..batching import chunked
from .execution import Executor, Result
from .store import Store
from .types import Plan

RECORD_EVERY = 500


@dataclass
class Tally:
    """The writes of a cycle: how many, how many failed, and the failures' messages."""

    writes: int = 0
    write_failures: int = 0
    errors: Counter = field(default_factory=Counter)

    def count(self, result: Result) -> None:
        self.writes += 1
        if not result.ok:
            self.write_failures += 1
            if result.error is not None:
                self.errors[result.error.message] += 1

    @property
    def top_error(self) -> str:
        return self.errors.most_common(1)[0][0] if self.errors else ""


def plan_only(plans: list[Plan], store: Store, planned: list[Plan]) -> None:
    """A dry run: count what would be done, keep the plans, write nothing."""
    planned.extend(plans)
    for plan in plans:
        store.counters[plan.action]["Planned"] += 1
    store.processed += len(plans)


def execute_and_record(plans: list[Plan], executor: Executor, store: Store, tally: Tally) -> None:
    """Send the writes, and record every result that came back, whatever stops the loop: a
    write whose answer came back always gets its link and its log."""
    for quiet in chunked((p for p in plans if not p.writes), RECORD_EVERY * 4):
        store.record([], quiet)
    buffer: list[Result] = []
    try:
        # The executor stops taking new work when asked to stop, when the lease is lost or when
        # the credentials are rejected, and drains what is in flight before this loop ends.
        for result in executor.run(p for p in plans if p.writes):
            buffer.append(result)
            tally.count(result)
            if len(buffer) >= RECORD_EVERY:
                store.record(buffer)
                buffer = []
            else:
                store.flush()
    finally:
        if buffer:
            store.record(buffer)
    if executor.fatal is not None:
        raise executor.fatal
    store.checkpoint()

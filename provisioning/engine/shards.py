"""A large phase's writes sent and recorded by several processes at once.

One Python process announces, sends and records about 2,000 writes a second
before its interpreter is the limit, whatever the target could take. A phase
with many writes (an initial cycle of a large tenant) is therefore split after
it is planned and staged: each shard is a child process, forked from the
cycle's, that takes every n-th write and goes through the same steps as the
cycle itself does (:func:`record.execute_and_record`): each write announced
before it is sent and recorded with its answer, in its own transactions. The
guarantees of one process hold for each shard, so for all of them: a shard
that stops leaves its announced writes for the next run to confirm, as a
stopped worker does.

The shards share the adaptive limit: each has its share of the places, so
the target sees no more calls in flight than from one process, and a rate
limit met by one slows all (see :class:`ShardLimit`). The cycle's process
holds the lease, renews it, passes a lost lease on to the shards, and stores
the progress they report; a shard dies with it (the parent-death signal), so
none writes on after its cycle's process is gone.

Planning stays in the cycle's process: the accidental-deletion threshold and
every other safety check see the whole phase before any shard starts.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import os
import pickle
import select
import signal
import struct
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, connections

from ..connectors.errors import ConnectorError, CredentialsError, TransientError
from ..metrics import calls as metric_calls
from .execution import AdaptiveLimit, Executor
from .record import DatabaseLost, Tally, record_quiet, send_and_record
from .spill import SpilledPlans, writes_of
from .store import LeaseLost, StopRequested, Store
from .types import Plan

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!I")


class ShardStopped(TransientError):
    """A shard ended without its summary (killed, out of memory): the cycle fails and is tried again soon."""

    code = "ShardStopped"


def shard_count(writes: int) -> int:
    """How many processes should send this many writes: one below ``PROVISIONING_SHARD_FROM`` writes,
    else ``PROVISIONING_SHARDS`` (PostgreSQL only: SQLite takes one writer at a time)."""
    shards = settings.PROVISIONING_SHARDS
    if shards < 2 or writes < settings.PROVISIONING_SHARD_FROM or connection.vendor != "postgresql":
        return 1
    if not hasattr(os, "fork"):
        return 1
    return shards


class ShardLimit(AdaptiveLimit):
    """A shard's share of the adaptive limit: its own places (the maximum divided among the shards, so the
    target sees no more calls in flight than from one process), and the rate limits every shard met. A 429
    met by one shard halves the limits of all: each notes its own in a slot of shared memory that only it
    writes, and the others read before they take a place. Nothing is locked across processes, so a shard
    that is killed holds up no other."""

    def __init__(self, throttles, index: int, *, initial: int, maximum: int):
        super().__init__(initial=initial, maximum=maximum)
        self._throttles, self._index = throttles, index
        self._seen = sum(throttles)

    def _follow_others(self) -> None:
        met = sum(self._throttles)
        while self._seen < met:
            self._seen += 1
            AdaptiveLimit.throttled(self)

    def acquire(self) -> None:
        self._follow_others()
        super().acquire()

    def throttled(self, _wait: float = 0.0) -> None:
        self._seen += 1
        self._throttles[self._index] += 1  # only this shard writes its slot
        self._follow_others()
        AdaptiveLimit.throttled(self)


class Flag:
    """A flag set by one process and read by others, in shared memory and without a lock (a multiprocessing
    Event takes a lock to be read: a shard killed while reading it would hold every other up). Read like a
    ``threading.Event``, which the store's lease check expects."""

    def __init__(self):
        self._value = multiprocessing.get_context("fork").RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def is_set(self) -> bool:
        return bool(self._value.value)


def shared_throttles(shards: int):
    """The shards' counts of rate limits met, in shared memory (made before the shards are forked)."""
    return multiprocessing.get_context("fork").RawArray("i", shards)


@dataclass
class ShardReport:
    """What a shard sends back: its progress while it runs, its summary when it ends."""

    processed: int = 0
    counters: dict = field(default_factory=dict)
    done: bool = False
    tally: Tally | None = None
    calls: dict = field(default_factory=dict)
    #: (kind, message, code, recommendation) of what stopped the shard
    error: tuple[str, str, str, str] | None = None


class _ShardStore(Store):
    """A shard's store: writes links, logs and escrows as any store does, but reports its progress to the
    cycle's process instead of storing it (the cycle's row holds the sum of the shards')."""

    def __init__(self, *args, report, halt, **kwargs):
        super().__init__(*args, **kwargs)
        self._report = report
        self._halt = halt

    def stop_requested(self, fresh: bool = False) -> bool:
        # another shard stopped unexpectedly: take no new work, record what is in flight, end
        return self._halt.is_set() or super().stop_requested(fresh)

    def flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_flush < 1.0:
            return
        self._last_flush = now
        self._report(ShardReport(self.processed, _plain(self.counters)))
        metric_calls.flush()


def _plain(counters) -> dict:
    return {action: dict(statuses) for action, statuses in counters.items()}


def _send(fd: int, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    data = _HEADER.pack(len(data)) + data
    while data:
        data = data[os.write(fd, data):]


class _Reader:
    """Messages from one shard's pipe, as they arrive."""

    def __init__(self, fd: int):
        self.fd, self.buffer, self.closed = fd, b"", False

    def read(self) -> list:
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            self.closed = True
        self.buffer += chunk
        messages = []
        while len(self.buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self.buffer)
            if len(self.buffer) < _HEADER.size + size:
                break
            messages.append(pickle.loads(self.buffer[_HEADER.size:_HEADER.size + size]))
            self.buffer = self.buffer[_HEADER.size + size:]
        return messages


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when the cycle's process ends (Linux), so that no shard writes on
    after its cycle is gone and its lease passed to another run."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def _run_shard(plans: list[Plan] | SpilledPlans, index: int, shards: int, store: Store, executor: Executor,
               limit: ShardLimit, lease_lost, halt, fd: int, parent: int) -> None:
    """The body of a shard process; never returns."""
    code = 0
    try:
        # What the fork brought (the phase's plans, the read, the team's index) is never garbage for this
        # process: kept out of the collector's scans, which would also copy every page it touches.
        gc.freeze()
        _die_with_parent(parent)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the cycle's process decides what an interrupt stops
        connections.close_all()  # closed by the parent before the fork: a new connection of our own
        from .. import connections as connectors

        target = connectors.target(store.job)
        paces = getattr(executor.target, "_paces", None)
        if paces is not None and hasattr(target, "_paces"):
            target._paces = dict(paces)  # how long jobs take, as learnt so far
        mine = _ShardStore(store.job, store.cycle, initiated_by=store.initiated_by,
                           report=lambda report: _send(fd, report), halt=halt)
        mine.lease_lost = lease_lost
        shard_executor = Executor(target, executor.config, max_workers=executor.max_workers,
                                  should_stop=mine.stop_requested, sleep=executor.sleep, limit=limit)
        tally = Tally()
        report = ShardReport()
        try:
            send_and_record(writes_of(plans, start=index, step=shards), shard_executor, mine, tally)
        except CredentialsError as exc:
            report.error = ("credentials", exc.message, exc.code or "", exc.recommendation or "")
        except (DatabaseError, DatabaseLost) as exc:
            report.error = ("database", str(exc), "", "")
        except LeaseLost as exc:
            report.error = ("lease", str(exc), "", "")
        except StopRequested:
            report.error = ("stop", "", "", "")
        except ConnectorError as exc:
            report.error = ("connector", exc.message, exc.code or "", exc.recommendation or "")
        report.processed, report.counters, report.done, report.tally = (
            mine.processed, _plain(mine.counters), True, tally)
        stats = target.stats
        report.calls = {"requests": stats.requests, "writes": stats.writes, "retries": stats.retries,
                        "throttled": stats.throttled, "waited_seconds": stats.waited_seconds}
        metric_calls.flush(force=True)
        _send(fd, report)
    except BaseException:  # noqa: BLE001 - anything else: said to the parent, which fails the cycle
        code = 1
        try:
            _send(fd, ShardReport(done=True, error=("crash", traceback.format_exc(limit=20), "", "")))
        except OSError:
            pass
    finally:
        try:
            connections.close_all()
        finally:
            os._exit(code)


def execute_in_shards(plans: list[Plan] | SpilledPlans, executor: Executor, store: Store, tally: Tally,
                      shards: int) -> None:
    """As :func:`record.execute_and_record`, the writes spread over ``shards`` processes (each takes every
    ``shards``-th write). Writes that linked an existing object are marked so on ``plans`` (if a list)."""
    if isinstance(plans, SpilledPlans):
        plans.seal()  # written in full before any shard reads it
    record_quiet(plans, store)  # plans that write nothing: recorded here, at once
    throttles = shared_throttles(shards)
    share = max(1, executor.max_workers // shards)
    lease_lost, halt = Flag(), Flag()
    base_processed, base_counters = store.processed, _plain(store.counters)
    store.checkpoint()
    connections.close_all()  # no connection may be shared with a child
    parent = os.getpid()
    children: dict[int, _Reader] = {}
    for index in range(shards):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            limit = ShardLimit(throttles, index, initial=max(1, executor.limit.limit // shards), maximum=share)
            _run_shard(plans, index, shards, store, executor, limit, lease_lost, halt, write_fd, parent)
        os.close(write_fd)
        children[pid] = _Reader(read_fd)
    log.info("Cycle of job %s: writes sent by %d processes", store.job.job_id, shards)
    reports: dict[int, ShardReport] = {}
    finals: dict[int, ShardReport] = {}
    try:
        _follow(children, reports, finals, store, lease_lost, halt, base_processed, base_counters)
    except BaseException:
        # The cycle's process stops following (interrupted, say): its shards stop with it, before the lease
        # can pass to another run; what they had announced is confirmed by the next cycle.
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        raise
    finally:
        for reader in children.values():
            os.close(reader.fd)
    _merge(finals, executor, store, tally, base_processed, base_counters, plans)


def _follow(children, reports, finals, store: Store, lease_lost, halt, base_processed, base_counters) -> None:
    """Read the shards' reports until every shard has ended, storing their summed progress."""
    running = dict(children)
    exited: dict[int, int] = {}
    while running:
        fds = {reader.fd: pid for pid, reader in running.items() if not reader.closed}
        ready, _, _ = select.select(list(fds), [], [], 1.0) if fds else ([], [], [])
        for fd in ready:
            pid = fds[fd]
            for message in running[pid].read():
                reports[pid] = message
                if message.done:
                    finals[pid] = message
        for pid in list(running):
            if pid not in exited:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    exited[pid] = status
            if pid in exited and running[pid].closed:
                running.pop(pid)
                if pid not in finals or finals[pid].error is not None:
                    halt.set()  # the others stop taking work: the cycle fails and is tried again soon
        if store.lease_lost is not None and store.lease_lost.is_set():
            lease_lost.set()
        _progress(store, reports, base_processed, base_counters)
        try:
            store.flush()
        except DatabaseError:  # the progress shown waits for the database; the shards go on recording
            log.warning("Could not store the progress of job %s", store.job.job_id, exc_info=True)
            connection.close()
    for pid in children:
        if pid not in finals:
            finals[pid] = ShardReport(done=True, error=(
                "crash", f"A process sending this cycle's writes stopped unexpectedly ({_status(exited.get(pid))}).",
                "", ""))


def _status(status: int | None) -> str:
    if status is None:
        return "no exit status"
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.WEXITSTATUS(status)}"


def _progress(store: Store, reports: dict, base_processed: int, base_counters: dict) -> None:
    counters: dict = defaultdict(lambda: defaultdict(int))
    for action, statuses in base_counters.items():
        for status, count in statuses.items():
            counters[action][status] += count
    processed = base_processed
    for report in reports.values():
        processed += report.processed
        for action, statuses in report.counters.items():
            for status, count in statuses.items():
                counters[action][status] += count
    store.processed, store.counters = processed, counters


def _merge(finals: dict, executor: Executor, store: Store, tally: Tally, base_processed: int,
           base_counters: dict, plans: list[Plan] | SpilledPlans) -> None:
    """The shards' summaries into the cycle's own counters; then what stopped a shard, raised here."""
    _progress(store, finals, base_processed, base_counters)
    errors = []
    for report in finals.values():
        if report.tally is not None:
            tally.writes += report.tally.writes
            tally.write_failures += report.tally.write_failures
            tally.errors.update(report.tally.errors)
            tally.newly_linked += report.tally.newly_linked
        stats = executor.target.stats
        with stats._lock:
            for name, value in report.calls.items():
                setattr(stats, name, getattr(stats, name) + value)
        if report.error is not None:
            errors.append(report.error)
    linked = set(tally.newly_linked)  # (the shards' writes that linked an existing object)
    if linked and isinstance(plans, list):
        for plan in plans:
            if plan.writes and plan.source_id in linked:
                plan.newly_linked = True  # what the groups' phase of an incremental cycle needs to know
    store.flush(force=True)
    if not errors:
        return
    kinds = Counter(kind for kind, *_ in errors)
    for kind, message, *_ in errors:
        if kind == "crash":
            log.error("A shard of job %s failed: %s", store.job.job_id, message)
    if kinds["crash"]:
        message = next(e[1] for e in errors if e[0] == "crash").strip().splitlines()[-1]
        raise ShardStopped(f"{message} The writes it had sent are confirmed by the next cycle.",
                           service=executor.target.names.service)
    if kinds["database"]:
        raise DatabaseLost(next(e[1] for e in errors if e[0] == "database"))
    if kinds["lease"]:
        raise LeaseLost("Another run took over this provisioning job.")
    if kinds["credentials"]:
        _, message, code, recommendation = next(e for e in errors if e[0] == "credentials")
        raise CredentialsError(message, service=executor.target.names.service, code=code or None,
                               recommendation=recommendation or None)
    if kinds["stop"]:
        raise StopRequested()
    _, message, code, recommendation = errors[0]
    raise ConnectorError(message, service=executor.target.names.service, code=code or None)

"""A phase with many writes is sent by several processes forked by the worker (shards). Each holds the
guarantees of one: a real worker (prefork, on PostgreSQL and Redis) runs a sharded initial cycle that puts
every user on the team once, with one log row per write; kills of the whole worker, of one shard alone, or
of the cycle's process (whose shards must die with it) lose and duplicate nothing."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from provisioning.constants import Action, CycleStatus, LogStatus
from provisioning.engine.shards import ShardLimit, shared_throttles
from provisioning.models import ProvisioningLog, SyncCycle
from tests.workers import CeleryProcess, wait_until

from .test_chaos import assert_accounted, chaos_tenant, kills_during_an_initial_cycle, settle, trigger, writes

USERS = 1500


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_shards_share_the_limit_and_a_rate_limit_met_by_one_slows_all():
    """Each shard has its share of the places; a 429 met in one process halves the limit the other sees, with
    nothing locked across processes (a killed shard holds no other up)."""
    throttles = shared_throttles(2)
    first = ShardLimit(throttles, 0, initial=8, maximum=8)
    second = ShardLimit(throttles, 1, initial=8, maximum=8)
    pid = os.fork()
    if pid == 0:
        try:
            second.throttled()
            second.throttled()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    first.acquire()
    first.release()
    assert first.limit == 2 and first.throttles == 2 and not first.slow_start
    first.throttled()
    assert first.limit == 1 and list(throttles) == [1, 2]
    second.acquire()  # this process's copy of the second shard sees the first's and its own (in the child)
    assert second.limit == 1


@pytest.fixture
def sharded(services, worker_environment):
    """(graph, dbx, job, sp, start a worker): a synthetic tenant, and workers that shard any phase of more
    than 200 writes over two processes, on a short lease so takeovers come in seconds."""
    yield from chaos_tenant(services, worker_environment, USERS, PROVISIONING_SHARDS="2", PROVISIONING_SHARD_FROM="200")


def shards_of(worker: CeleryProcess) -> list[int]:
    """The shard processes of the cycle running on this worker: children of its pool processes."""
    return [pid for pool in children_of(worker.proc.pid) for pid in children_of(pool)]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_sharded_initial_cycle_puts_everyone_on_the_team_once(sharded):
    graph, dbx, job, sp, start = sharded
    dbx.configure(latency_ms=20)
    worker = start()
    dbx.reset_stats()
    trigger(job)
    assert wait_until(lambda: len(shards_of(worker)) == 2, timeout=120), "two processes send the writes"
    done = settle(job, since=0)
    assert done.status == CycleStatus.SUCCEEDED, done.error
    assert_accounted(graph, dbx, job, sp["id"])
    created = ProvisioningLog.objects.filter(job=job, cycle_id=done.cycle_id, object_type="user",
                                             action=Action.CREATE, status=LogStatus.SUCCESS).count()
    assert created == writes(dbx, "members/add") > USERS * 0.9  # one row per member the team received
    groups = ProvisioningLog.objects.filter(job=job, cycle_id=done.cycle_id, object_type="group").count()
    assert done.counters["Create"]["Success"] == created + groups, "the cycle's counters hold its shards'"
    sent = sum(n for route, n in dbx.stats()["requests"].items() if route.startswith("POST /2/"))
    assert done.target_calls == sent, "the shards' calls are counted with the cycle's"
    assert any("sent by 2 processes" in line for line in worker.output)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_kills_of_the_worker_during_a_sharded_cycle_lose_and_duplicate_nothing(sharded):
    graph, dbx, job, sp, _start = sharded
    kills_during_an_initial_cycle(sharded, 3, USERS)
    assert_accounted(graph, dbx, job, sp["id"])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def sharding(sharded) -> CeleryProcess:
    """A worker started, and the job's initial cycle under way in two shards that have sent 200 members."""
    _graph, dbx, job, _sp, start = sharded
    dbx.configure(latency_ms=40)
    worker = start()
    trigger(job)
    assert wait_until(lambda: len(shards_of(worker)) == 2 and writes(dbx, "members/add") >= 200, timeout=120)
    return worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_shard_killed_alone_fails_its_cycle_and_the_next_confirms_its_writes(sharded):
    graph, dbx, job, sp, _start = sharded
    worker = sharding(sharded)
    os.kill(shards_of(worker)[0], signal.SIGKILL)
    failed = wait_until(lambda: SyncCycle.objects.filter(job=job, status=CycleStatus.FAILED).first(), timeout=120)
    assert failed is not None, (list(SyncCycle.objects.filter(job=job).values_list("status", "error", "phase")),
                                "".join(worker.output[-40:]))
    assert "stopped unexpectedly (killed by signal 9)" in failed.error
    assert "confirmed by the next cycle" in failed.error
    trigger(job)  # not the five minutes' wait of a failed cycle
    done = settle(job, since=failed.pk)
    assert done.status == CycleStatus.SUCCEEDED, done.error
    assert_accounted(graph, dbx, job, sp["id"])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_shards_die_with_the_cycles_process(sharded):
    graph, dbx, job, sp, _start = sharded
    worker = sharding(sharded)
    shards = shards_of(worker)
    cycle_process = next(pool for pool in children_of(worker.proc.pid) if set(children_of(pool)) & set(shards))
    os.kill(cycle_process, signal.SIGKILL)
    assert wait_until(lambda: not any(alive(pid) for pid in shards), timeout=10), \
        "no shard goes on writing once its cycle's process is gone"
    sent = writes(dbx, "members/add")
    killed = SyncCycle.objects.filter(job=job).order_by("-pk").first()
    # For a second, nothing more reaches the team, until the run that takes over (the lease is 2 s here)
    # starts a cycle of its own: from then on, writes may be that cycle's.
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline and not SyncCycle.objects.filter(job=job, pk__gt=killed.pk).exists():
        assert writes(dbx, "members/add") == sent, "a shard wrote after its cycle's process was gone"
        time.sleep(0.02)
    done = settle(job, since=0)
    assert done.status == CycleStatus.SUCCEEDED, done.error
    assert_accounted(graph, dbx, job, sp["id"])

"""How many writes the executor keeps in flight: slow start up to the maximum,
halved on every rate limit, then one more at a time."""

from __future__ import annotations

import threading

from provisioning.engine.execution import AdaptiveLimit


def succeed(limit: AdaptiveLimit, times: int) -> None:
    for _ in range(times):
        limit.acquire()
        limit.release(ok=True)


def test_it_doubles_until_the_first_rate_limit_and_never_passes_the_maximum():
    limit = AdaptiveLimit(initial=4, maximum=32)
    succeed(limit, 4)
    assert limit.limit == 8
    succeed(limit, 8)
    assert limit.limit == 16
    succeed(limit, 16 + 32 * 3)
    assert limit.limit == 32 and limit.peak == 32


def test_after_a_rate_limit_it_halves_and_grows_by_one():
    limit = AdaptiveLimit(initial=8, maximum=32)
    succeed(limit, 8)
    assert limit.limit == 16
    limit.throttled(1.0)
    assert limit.limit == 8 and limit.throttles == 1 and not limit.slow_start
    succeed(limit, 8)
    assert limit.limit == 9
    succeed(limit, 9)
    assert limit.limit == 10


def test_it_never_goes_below_the_minimum_and_starts_within_the_maximum():
    limit = AdaptiveLimit(initial=2, maximum=32, minimum=1)
    for _ in range(5):
        limit.throttled()
    assert limit.limit == 1
    assert AdaptiveLimit(initial=64, maximum=16).limit == 16


def test_failures_do_not_grow_it():
    limit = AdaptiveLimit(initial=4, maximum=32)
    for _ in range(20):
        limit.acquire()
        limit.release(ok=False)
    assert limit.limit == 4


def test_no_more_than_the_limit_are_ever_in_flight():
    limit = AdaptiveLimit(initial=3, maximum=3)
    seen, lock, gate = [], threading.Lock(), threading.Barrier(3, timeout=5)
    active = [0]

    def work():
        limit.acquire()
        with lock:
            active[0] += 1
            seen.append(active[0])
        try:
            gate.wait()  # three in flight at once is possible and reached
        except threading.BrokenBarrierError:
            pass
        with lock:
            active[0] -= 1
        limit.release()

    threads = [threading.Thread(target=work) for _ in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert max(seen) == 3 and len(seen) == 9


def test_against_dropbox_the_limit_bounds_calls_in_flight_not_writes_waiting_for_their_jobs(dbx, refresh_token):
    """Each add of 20 members is a call, a wait for its async job, and a look at the job: while it waits it holds
    no place, so more adds are under way than there are places, and the calls in flight never pass the limit."""
    from provisioning.constants import Action, ObjectType
    from provisioning.engine.execution import Executor
    from provisioning.engine.types import Plan
    from tests.fakes import engine_config
    from tests.services import dropbox_connector

    dbx.configure(async_job_seconds=0.4)
    connector = dropbox_connector(refresh_token)
    executor = Executor(connector, engine_config(), max_workers=2, initial=2)
    assert connector.call_limit is executor.limit

    most_calls, most_writes, writes = [0], [0], [0]
    lock = threading.Lock()
    acquire, execute = executor.limit.acquire, executor._execute

    def counted_acquire():
        acquire()
        with lock:
            most_calls[0] = max(most_calls[0], executor.limit.active)

    def counted_execute(unit):
        with lock:
            writes[0] += 1
            most_writes[0] = max(most_writes[0], writes[0])
        try:
            return execute(unit)
        finally:
            with lock:
                writes[0] -= 1

    executor.limit.acquire, executor._execute = counted_acquire, counted_execute
    plans = [Plan(ObjectType.USER, Action.CREATE, f"u{i}", values={"email": f"inflight.{i}@contoso.com"})
             for i in range(120)]
    results = list(executor.run(plans))
    assert [r.status for r in results] == ["Success"] * 120
    assert len({r.target_id for r in results}) == 120
    assert most_calls[0] <= 2
    assert most_writes[0] >= 4  # six adds of 20, more than two at a time while their jobs ran

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

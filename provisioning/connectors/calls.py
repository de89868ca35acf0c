"""What a connector did, counted the same way for every service: the cycle
summary, the Overview and the benchmarks read these figures."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class CallStats:
    """Calls made, writes among them, retries, rate limits met and time spent waiting.
    Safe to update from the executor's threads."""

    requests: int = 0
    writes: int = 0
    retries: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def called(self, *, write: bool = False) -> None:
        with self._lock:
            self.requests += 1
            self.writes += int(write)

    def waited(self, seconds: float, *, throttled: bool, retry: bool = True) -> None:
        with self._lock:
            self.retries += int(retry)
            self.throttled += int(throttled)
            self.waited_seconds += seconds


class JobPace:
    """How long a service's asynchronous jobs of one kind take, learnt from its answers,
    so that a job is first looked at about when it is done rather than at once.

    A job found complete at the first look may have finished earlier: the estimate
    shrinks a little, to find the true duration. A job still in progress makes the
    estimate move towards the time it really took. Looks after the first back off.
    Safe to use from the executor's threads."""

    def __init__(self, initial: float = 0.2, floor: float = 0.02, ceiling: float = 5.0):
        self.estimate = initial
        self.floor = floor
        self.ceiling = ceiling
        self.looks = 0
        self.jobs = 0
        self._lock = threading.Lock()

    def first_wait(self) -> float:
        return self.estimate

    def next_wait(self, previous: float, looks: int) -> float:
        """The pause before the next look at a job still in progress after ``looks`` looks:
        short after a first look that came a little early, then growing."""
        grown = previous / 4 if looks == 1 else previous * 1.5
        return min(max(grown, self.floor), 2.0)

    def finished(self, seconds: float, *, looks: int) -> None:
        """A job was seen complete after ``seconds`` and ``looks`` looks."""
        with self._lock:
            self.jobs += 1
            self.looks += looks
            if looks == 1:
                self.estimate = max(self.floor, self.estimate * 0.9)
            else:
                self.estimate = min(self.ceiling, max(self.floor, 0.5 * self.estimate + 0.5 * seconds))

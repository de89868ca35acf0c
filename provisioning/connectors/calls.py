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

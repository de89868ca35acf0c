"""What a log line is about, beyond the request it serves: the cycle that runs. The runner sets it
for the cycle's life; the JSON log format (portal/log_format.py) writes it into every line, also
those of the executor's threads (they run in a copy of the cycle's context)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_cycle_id: ContextVar[str] = ContextVar("cycle_id", default="")


def current_cycle_id() -> str:
    """The id of the cycle being run here, "" outside a cycle."""
    return _cycle_id.get()


@contextmanager
def in_cycle(cycle_id) -> Iterator[None]:
    token = _cycle_id.set(str(cycle_id))
    try:
        yield
    finally:
        _cycle_id.reset(token)

"""Log streaming's knobs: a Django setting of the same name if there is one, else the environment
variable, else the default (README lists them)."""

from __future__ import annotations

from pathlib import Path

import environ
from django.conf import settings

_env = environ.Env()


def _value(name: str, cast, default):
    if hasattr(settings, name):
        return cast(getattr(settings, name))
    return cast(_env.str(name, default=str(default)))


def deliver_seconds() -> int:
    """How often beat looks for entries to deliver."""
    return _value("STREAM_DELIVER_SECONDS", int, 5)


def retry_base_seconds() -> float:
    """The wait after a first failed delivery; doubled for each further one."""
    return _value("STREAM_RETRY_BASE_SECONDS", float, 10)


def retry_max_seconds() -> float:
    return _value("STREAM_RETRY_MAX_SECONDS", float, 3600)


def timeout_seconds() -> float:
    """Connect and read timeout of one send to a receiver."""
    return _value("STREAM_TIMEOUT_SECONDS", float, 10)


def rows_per_request() -> int:
    """At most this many rows in one HTTP request."""
    return _value("STREAM_ROWS_PER_REQUEST", int, 500)


def entries_per_claim() -> int:
    """Outbox entries claimed (and confirmed) together in one transaction."""
    return _value("STREAM_ENTRIES_PER_CLAIM", int, 10)


def budget_seconds() -> float:
    """How long one delivery task keeps claiming before it lets the next task have the worker."""
    return _value("STREAM_TASK_SECONDS", float, 30)


def file_dir() -> Path:
    """JSON-lines files are written only inside this folder."""
    return Path(_value("STREAM_FILE_DIR", str, settings.VAR_DIR / "streams"))

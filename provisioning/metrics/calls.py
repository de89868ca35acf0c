"""Calls to the outside services, counted in the process that makes them.

Every request of the Graph connector, of msal and of the Dropbox SDK goes through the routing adapter
(:mod:`provisioning.connectors.routing`), which hands it to :func:`observe`. Counts and latencies are
kept in memory, per process, and added to the counter table by :func:`flush`: at the end of each cycle
(forced), and otherwise at most every :data:`FLUSH_SECONDS` when a cycle writes its progress, a Celery
task ends or a web request ends. Never per call: a cycle makes thousands.

A route is the URL's path with every part that is not a known word replaced by ``{id}``, so a label
never carries a user id, a name or an email (``users/{id}/memberOf``; Dropbox routes are fixed names
such as ``2/team/members/add_v2``). The query string is never looked at.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from .counters import CALL_BUCKETS, CALL_DURATION, CALLS, Key, add, bucket_bound

log = logging.getLogger(__name__)

#: at most this often (seconds) a process adds its counts to the table, outside the end of a cycle
FLUSH_SECONDS = 5.0

_GRAPH_WORDS = frozenset({
    "v1.0", "beta", "users", "groups", "servicePrincipals", "applications", "applicationTemplates",
    "instantiate", "members", "memberOf", "transitiveMembers", "transitiveMemberOf", "owners",
    "appRoleAssignedTo", "appRoleAssignments", "delta", "directory", "deletedItems", "microsoft.graph.user",
    "microsoft.graph.group", "$batch", "$count", "$ref", "organization", "me", "getByIds", "checkMemberGroups",
    "getMemberGroups", "directoryObjects", "oauth2PermissionGrants",
})
_LOGIN_WORDS = frozenset({
    "oauth2", "v2.0", "token", "authorize", "devicecode", ".well-known", "openid-configuration", "discovery",
    "instance", "common", "organizations", "consumers", "keys",
})
#: a Dropbox route part: lower-case words (team, members, add_v2); ids and emails never look like this
_DROPBOX_WORD = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_MAX_PARTS = 6


def service_and_route(url: str) -> tuple[str, str]:
    """The service label and the bounded route label of a request for ``url`` (a real service URL)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    if host == "graph.microsoft.com":
        service, known = "graph", (lambda s: s.removesuffix("()") in _GRAPH_WORDS)
        segments = [s.removesuffix("()") if s.endswith("()") else s for s in segments]
    elif host == "login.microsoftonline.com":
        service, known = "entra_login", (lambda s: s in _LOGIN_WORDS)
    elif host.endswith((".dropboxapi.com", ".dropbox.com")):
        service, known = "dropbox", (lambda s: s.isdigit() and len(s) < 3 or bool(_DROPBOX_WORD.match(s)))
    else:
        return "other", ""
    if service == "graph" and segments and segments[0] in ("v1.0", "beta"):
        segments = segments[1:]
    route = [s if known(s) else "{id}" for s in segments[:_MAX_PARTS]]
    if len(segments) > _MAX_PARTS:
        route.append("...")
    return service, "/".join(route)[:120]


def answer_class(status: int) -> str:
    if status == 429:
        return "429"
    if status >= 500:
        return "5xx"
    if status >= 400:
        return "4xx"
    return "2xx"


class _Tally:
    """One process's counts since they were last added to the table; safe to use from many threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: Counter = Counter()
        self.last_flush = time.monotonic()

    def observe(self, service: str, route: str, answer: str, seconds: float) -> None:
        with self.lock:
            self.pending[Key(CALLS, service=service, route=route, answer=answer)] += 1
            self.pending[Key(CALL_DURATION, service=service, route=route, le=bucket_bound(CALL_BUCKETS, seconds))] += 1
            self.pending[Key(CALL_DURATION + "_sum", service=service, route=route)] += seconds

    def take(self) -> Counter:
        with self.lock:
            taken, self.pending = self.pending, Counter()
            self.last_flush = time.monotonic()
            return taken

    def give_back(self, counts: Counter) -> None:
        with self.lock:
            self.pending.update(counts)


_tally = _Tally()


def _forked() -> None:
    # A child process starts with nothing pending: what its parent counted is the parent's to add.
    global _tally
    _tally = _Tally()


os.register_at_fork(after_in_child=_forked)


def observe(url: str, send, *args, **kwargs):
    """``send(*args, **kwargs)`` (an HTTP request for the real service ``url``), counted with its answer
    class and latency. A request that raises (unreachable, timed out) counts as ``error``."""
    service, route = service_and_route(url)
    start = time.perf_counter()
    try:
        response = send(*args, **kwargs)
    except BaseException:
        _tally.observe(service, route, "error", time.perf_counter() - start)
        raise
    _tally.observe(service, route, answer_class(getattr(response, "status_code", 200)), time.perf_counter() - start)
    return response


def pending() -> dict:
    """What this process counted and has not added to the table yet (for tests and diagnostics)."""
    with _tally.lock:
        return dict(_tally.pending)


def flush(*, force: bool = False) -> bool:
    """Add this process's counts to the table, if ``force`` or if the last flush is older than
    :data:`FLUSH_SECONDS`. Never raises: counts that could not be written are kept for the next try."""
    if not force and time.monotonic() - _tally.last_flush < FLUSH_SECONDS:
        return False
    counts = _tally.take()
    if not counts:
        return True
    from django.db import transaction

    try:
        with transaction.atomic():
            add(counts)
    except Exception:  # no database at the moment (or none allowed here): keep the counts for later
        _tally.give_back(counts)
        log.warning("Could not store the counts of calls to the services; kept for the next try", exc_info=True)
        return False
    return True


def flush_soon(**_signal_kwargs) -> None:
    """A receiver for "a task (or a request) ended": add the counts if the last flush is old enough."""
    if _tally.pending:
        flush()

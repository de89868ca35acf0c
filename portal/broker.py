"""The embedded Celery broker: a kombu transport on one SQLite file, for
``make run`` and ``make test`` without a broker server.

Kombu's filesystem transport loses work: a reader can open a message file
before its writer has filled it, and a message taken by a worker that is killed
is gone. Here every message is a row written in one transaction, so a reader
never sees half of one; taking a message *reserves* the row for the consuming
process, and only the acknowledgement deletes it. A reservation held by a
process that no longer runs (killed, crashed) is released at once, so its tasks
are delivered again; one held longer than ``visibility_timeout`` by a process on
another host (which cannot be checked) is released then. Tasks therefore run at
least once, as with Redis; the portal's tasks are safe to run twice.

For one machine: every process that shares the file must be on it. Several
machines share Redis (``CELERY_BROKER_URL=redis://...``).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from pathlib import Path
from queue import Empty

from kombu.transport import TRANSPORT_ALIASES, virtual
from kombu.utils.json import dumps, loads

from provisioning.numbers import is_whole_number

SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    tag TEXT NOT NULL,
    payload TEXT NOT NULL,
    owner TEXT,
    reserved_at REAL
);
CREATE INDEX IF NOT EXISTS message_ready ON message (queue, owner, id);
CREATE INDEX IF NOT EXISTS message_tag ON message (tag);
CREATE TABLE IF NOT EXISTS binding (
    exchange TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    pattern TEXT NOT NULL,
    queue TEXT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (exchange, routing_key, pattern, queue)
);
"""

#: how often a consumer looks for reservations of processes that died (seconds)
SWEEP_EVERY = 1.0


def _start_time(pid: int) -> str:
    """When a process started, to tell it from a later process with the same id ("" when unknown)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def process_identity(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{socket.gethostname()}|{pid}|{_start_time(pid)}"


def is_running(identity: str) -> bool | None:
    """Whether the process named by ``identity`` still runs; None when it is on another host."""
    host, _, rest = identity.partition("|")
    pid_text, _, started = rest.partition("|")
    if host != socket.gethostname() or not is_whole_number(pid_text):
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not started or _start_time(pid) == started


class Database:
    """The queue file, with a connection per thread and per process (connections do not survive a fork)."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.execute_script(SCHEMA)

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def execute_script(self, script: str) -> None:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, script.split(";")):
                conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def run(self, sql: str, args: tuple = ()) -> list[tuple]:
        return self.connection().execute(sql, args).fetchall()

    def change(self, sql: str, args: tuple = ()) -> int:
        """Run one statement that changes rows (atomic on its own); how many it changed."""
        return self.connection().execute(sql, args).rowcount

    def transaction(self):
        return _Transaction(self.connection())


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: one writer at a time, never half a change."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind, value, traceback) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


class QoS(virtual.QoS):
    """Acknowledging a message deletes its row; rejecting it without requeue does too."""

    def ack(self, delivery_tag):
        self.channel.db.run("DELETE FROM message WHERE tag = ?", (delivery_tag,))
        super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        if not requeue:
            self.channel.db.run("DELETE FROM message WHERE tag = ?", (delivery_tag,))
        super().reject(delivery_tag, requeue=requeue)


class Channel(virtual.Channel):
    QoS = QoS
    supports_fanout = True
    _databases: dict[str, Database] = {}
    _lock = threading.Lock()

    def __init__(self, connection, **kwargs):
        super().__init__(connection, **kwargs)
        options = connection.client.transport_options
        path = options.get("path") or connection.client.virtual_host or "celery.sqlite3"
        with self._lock:
            self.db = self._databases.get(path) or self._databases.setdefault(path, Database(path))
        self.visibility_timeout = float(options.get("visibility_timeout", 3600))
        self.owner = process_identity()
        self._last_sweep = 0.0

    # ------------------------------------------------------------------ messages
    def _put(self, queue, message, **kwargs):
        self.db.run("INSERT INTO message (queue, tag, payload) VALUES (?, ?, ?)",
                    (queue, message["properties"]["delivery_tag"], dumps(message)))

    def _get(self, queue):
        self._sweep()
        for _ in range(5):  # another consumer may take the same row first: take the next one
            rows = self.db.run("SELECT id, payload FROM message WHERE queue = ? AND owner IS NULL ORDER BY id LIMIT 1",
                               (queue,))
            if not rows:
                break
            if self.db.change("UPDATE message SET owner = ?, reserved_at = ? WHERE id = ? AND owner IS NULL",
                              (self.owner, time.time(), rows[0][0])):
                return loads(rows[0][1])
        raise Empty()

    def _restore(self, message):
        """Deliver a message again: release its reservation (the row is still there)."""
        self.db.run("UPDATE message SET owner = NULL, reserved_at = NULL WHERE tag = ?", (message.delivery_tag,))

    def _size(self, queue):
        return self.db.run("SELECT COUNT(*) FROM message WHERE queue = ? AND owner IS NULL", (queue,))[0][0]

    def _purge(self, queue):
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM message WHERE queue = ? AND owner IS NULL", (queue,)).rowcount

    def _delete(self, queue, *args, **kwargs):
        super()._delete(queue, *args, **kwargs)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM message WHERE queue = ?", (queue,))
            conn.execute("DELETE FROM binding WHERE queue = ?", (queue,))

    def _has_queue(self, queue, **kwargs):
        return True

    def _new_queue(self, queue, **kwargs):
        pass

    # ------------------------------------------------------------------ fanout (remote control)
    def _queue_bind(self, exchange, routing_key, pattern, queue):
        self.db.run("INSERT OR REPLACE INTO binding VALUES (?, ?, ?, ?, ?)",
                    (exchange, routing_key or "", pattern or "", queue, self.owner))

    def get_table(self, exchange):
        return [tuple(row) for row in self.db.run(
            "SELECT routing_key, pattern, queue FROM binding WHERE exchange = ?", (exchange,))]

    def _put_fanout(self, exchange, message, routing_key, **kwargs):
        for _, _, queue in self.get_table(exchange):
            self._put(queue, message)

    # ------------------------------------------------------------------ what dead processes held
    def _sweep(self) -> None:
        """Release the reservations of processes that stopped (and long ones elsewhere); forget the
        fanout queues they bound, so broadcasts do not pile up for them."""
        now = time.monotonic()
        if now - self._last_sweep < SWEEP_EVERY:
            return
        self._last_sweep = now
        owners = {row[0] for row in self.db.run("SELECT DISTINCT owner FROM message WHERE owner IS NOT NULL")}
        owners |= {row[0] for row in self.db.run("SELECT DISTINCT owner FROM binding")}
        running = {owner: is_running(owner) for owner in owners - {self.owner}}
        if not any(state is not True for state in running.values()):
            return
        expired = time.time() - self.visibility_timeout
        with self.db.transaction() as conn:
            for owner, state in running.items():
                if state is None:  # on another host: only a reservation held too long is released
                    conn.execute("UPDATE message SET owner = NULL, reserved_at = NULL WHERE owner = ? "
                                 "AND reserved_at < ?", (owner, expired))
                elif state is False:
                    conn.execute("UPDATE message SET owner = NULL, reserved_at = NULL WHERE owner = ?", (owner,))
                    for (queue,) in conn.execute("SELECT queue FROM binding WHERE owner = ? AND queue LIKE '%.pidbox'",
                                                 (owner,)).fetchall():
                        conn.execute("DELETE FROM message WHERE queue = ?", (queue,))
                        conn.execute("DELETE FROM binding WHERE queue = ?", (queue,))


class Transport(virtual.Transport):
    Channel = Channel
    polling_interval = 0.05
    default_port = 0
    driver_type = driver_name = "sqlite"
    implements = virtual.Transport.implements.extend(asynchronous=False,
                                                     exchange_type=frozenset(["direct", "topic", "fanout"]))
    #: exchanges and bindings of direct and topic exchanges are declared by each process as it uses them
    global_state = virtual.BrokerState()

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        self.state = self.global_state

    def drain_events(self, connection, timeout=None):
        """Wait for a message as the base transport does, but in short waits: a worker's loop looks at
        its signals (a shutdown) between two waits, and that should not take seconds."""
        if timeout is not None:
            timeout = min(timeout, 0.25)
        started = time.monotonic()
        while self.channels:
            try:
                return self.cycle.get(self._deliver, timeout=timeout)
            except Empty:
                if timeout is not None and time.monotonic() - started >= timeout:
                    break
                time.sleep(self.polling_interval)
        raise socket.timeout()

    def driver_version(self):
        return sqlite3.sqlite_version


TRANSPORT_ALIASES.setdefault("sqlite", "portal.broker:Transport")

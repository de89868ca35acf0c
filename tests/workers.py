"""Real Celery processes for the tests: a worker (and beat) started as the
deployment starts them, pointed at the test database and a chosen broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database Django is connected to (the test database)."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    if engine.endswith("postgresql"):
        auth = quote(settings_dict.get("USER") or "")
        if settings_dict.get("PASSWORD"):
            auth += ":" + quote(settings_dict["PASSWORD"])
        host = settings_dict.get("HOST") or "localhost"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{auth + '@' if auth else ''}{host}{port}/{settings_dict['NAME']}"
    raise ValueError(f"no URL form for {engine}")


def child_environment(**extra: str) -> dict[str, str]:
    """The environment of a child process that should share the test run's configuration."""
    from django.db import connection

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    env["DATABASE_URL"] = database_url(connection.settings_dict)
    env.update(extra)
    return env


class CeleryProcess:
    """``celery -A portal worker|beat`` in a child process; its output is kept for assertions."""

    def __init__(self, kind: str = "worker", *args: str, env: dict[str, str] | None = None, ready: str | None = None):
        self.kind = kind
        self.args = list(args)
        self.env = env or child_environment()
        self.ready_marker = ready if ready is not None else ("ready." if kind == "worker" else "beat: Starting")
        self.output: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._ready = threading.Event()

    def start(self, timeout: float = 60) -> "CeleryProcess":
        cmd = [sys.executable, "-m", "celery", "-A", "portal", self.kind, "--loglevel", "INFO", *self.args]
        if self.kind == "worker":
            cmd += ["--hostname", f"test-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle"]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"celery {self.kind} did not start:\n" + "".join(self.output[-40:]))
        return self

    def _pump(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            self.output.append(line)
            if self.ready_marker in line:
                self._ready.set()

    def wait_for_output(self, text: str, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.output):
                return True
            time.sleep(0.1)
        return False

    def stop(self, timeout: float = 20) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc:
            # A pool child that outlives its parent would hold a database session past the test database.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crashed machine would leave it."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> "CeleryProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_until(predicate, timeout: float = 30, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()

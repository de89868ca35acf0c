"""Start an emulator in a child process and talk to its control routes.

Used by the test suite, the benchmarks and anything else that needs a live
emulator on a free port::

    with EmulatorProcess("dropbox", "--seed", "demo") as dbx:
        dbx.url            # http://127.0.0.1:<port>
        dbx.reset("empty")
        dbx.configure(rate_limit=5)
        dbx.stats()
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmulatorProcess:
    """One running emulator (``graph`` or ``dropbox``) on 127.0.0.1 and a free port."""

    def __init__(self, kind: str, *args: str, port: int | None = None, env: dict | None = None):
        self.kind = kind
        self.args = list(args)
        self.port = port or free_port()
        self.env = env
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "EmulatorProcess":
        cmd = [sys.executable, "-m", f"emulators.{self.kind}", "--port", str(self.port), *self.args]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proc = subprocess.Popen(cmd, cwd=root, env={**os.environ, **(self.env or {})})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} emulator exited with {self.proc.returncode}: {' '.join(cmd)}")
            try:
                self.control("GET", "health")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.kind} emulator did not answer within {timeout} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "EmulatorProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ control routes
    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_emulator/{path}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def reset(self, seed: str = "empty", **extra) -> dict:
        """Replace the whole state with a seed and zero the counters."""
        return self.control("POST", "reset", {"seed": seed, **extra})

    def configure(self, **values) -> dict:
        """Change tunables (latency_ms, rate_limit, fail_rate, ...) without a restart."""
        return self.control("POST", "config", values)

    def stats(self) -> dict:
        """``{"requests": {"POST /2/team/members/add_v2": 3, ...}, "total": n}``."""
        return self.control("GET", "stats")

    def reset_stats(self) -> None:
        self.control("POST", "stats/reset", {})

    def state(self) -> dict:
        return self.control("GET", "state")

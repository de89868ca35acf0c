"""What both emulators share: the command line, the aiohttp server, injected
latency and failures, per-tenant rate limiting, request counters, state files
and the private control routes under ``/_emulator/``.

An emulator subclasses :class:`Emulator`, registers its own routes in
:meth:`Emulator.add_routes`, and answers the hooks that differ between the
services (the shape of a 429 or 5xx body, which requests are writes, how a
request names its tenant or team). Nothing here imports the portal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import random
import tempfile
import time
from collections import Counter
from typing import Any

from aiohttp import web

CONTROL_PREFIX = "/_emulator/"


def common_arguments(parser: argparse.ArgumentParser, *, default_port: int) -> None:
    """Flags every emulator accepts."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=default_port, help="port to listen on (default: %(default)s)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, metavar="N",
        help="milliseconds added to every response, to imitate a distant service (default: 0)",
    )
    parser.add_argument(
        "--rate-limit", type=float, default=0.0, metavar="N",
        help="requests per second allowed per tenant or team before answering 429; 0 means unlimited (default: 0)",
    )
    parser.add_argument(
        "--fail-rate", type=float, default=0.0, metavar="F",
        help="fraction (0..1) of requests answered with 503 or 500 before they are handled (default: 0)",
    )
    parser.add_argument(
        "--state-file", metavar="PATH", default=None,
        help="load the state from PATH at start and save it there after every change and at exit; "
        "without it the state lives in memory only",
    )
    parser.add_argument(
        "--random-seed", type=int, default=1, metavar="N",
        help="seed for generated data and injected failures, so runs repeat (default: %(default)s)",
    )


class TokenBucket:
    """A per-key token bucket: ``rate`` requests per second, bursting to one second's worth."""

    def __init__(self, rate: float):
        self.rate = rate
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is free."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, stamp = self._buckets.get(key, (self.rate, now))
        tokens = min(self.rate, tokens + (now - stamp) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate


class Emulator:
    """Base class of an emulated service. Subclasses keep their data in ``self.state``."""

    name = "emulator"
    #: config keys that ``POST /_emulator/config`` may change at run time
    tunables = ("latency_ms", "rate_limit", "fail_rate")

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.latency_ms = float(args.latency_ms)
        self.fail_rate = float(args.fail_rate)
        self.rate_limit = float(args.rate_limit)
        self.buckets = TokenBucket(self.rate_limit)
        self.random = random.Random(args.random_seed)
        self.stats: Counter[str] = Counter()
        self.state: Any = None
        self._dirty = False
        self._saver: asyncio.Task | None = None

    # ------------------------------------------------------------------ hooks
    def seed(self, name: str) -> None:
        """Replace ``self.state`` with the named seed (``empty``, ``demo``, ...)."""
        raise NotImplementedError

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def rate_limit_key(self, request: web.Request) -> str | None:
        """The tenant or team a request counts against; None exempts it."""
        return "default"

    def rate_limited(self, request: web.Request, retry_after: int) -> web.StreamResponse | None:
        """Answer a request over a rate limit, or None to let it through."""
        raise NotImplementedError

    def injected_failure(self, request: web.Request, status: int) -> web.StreamResponse:
        """Answer a request picked by ``--fail-rate`` with ``status`` (500 or 503)."""
        return web.Response(status=status, text="Service unavailable")

    def is_write(self, request: web.Request) -> bool:
        """Whether a successful answer to this request may have changed the state."""
        return request.method in ("POST", "PATCH", "PUT", "DELETE")

    def stats_key(self, request: web.Request) -> str:
        return f"{request.method} {request.path}"

    def summary(self) -> dict:
        """Counts shown by ``GET /_emulator/state``."""
        return {}

    def configure(self, values: dict) -> None:
        """Apply ``POST /_emulator/config``; unknown keys are refused by the caller."""
        for key, value in values.items():
            setattr(self, key, value)
        self.buckets.rate = self.rate_limit

    # ------------------------------------------------------------------ state
    def persisted(self) -> Any:
        """What a state file keeps."""
        return self.state

    def load_or_seed(self, seed_name: str) -> None:
        path = self.args.state_file
        if path and os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path, "rb") as fh:
                self.state = pickle.load(fh)
        else:
            self.seed(seed_name)
            self.save_now()

    def save_now(self) -> None:
        path = self.args.state_file
        if not path or self.state is None:
            return
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        # Write beside the file and rename, so a crash never leaves half a state.
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".state-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(self.persisted(), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        self._dirty = False

    def mark_changed(self) -> None:
        if not self.args.state_file:
            return
        self._dirty = True
        if self._saver is None or self._saver.done():
            self._saver = asyncio.get_event_loop().create_task(self._save_soon())

    async def _save_soon(self) -> None:
        # Coalesce bursts of writes into one save a quarter second later.
        await asyncio.sleep(0.25)
        if self._dirty:
            self.save_now()

    # ------------------------------------------------------------------ server
    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=16 * 1024 * 1024)
        app.router.add_get(CONTROL_PREFIX + "health", self._health)
        app.router.add_get(CONTROL_PREFIX + "state", self._state)
        app.router.add_get(CONTROL_PREFIX + "stats", self._stats)
        app.router.add_post(CONTROL_PREFIX + "stats/reset", self._stats_reset)
        app.router.add_post(CONTROL_PREFIX + "reset", self._reset)
        app.router.add_post(CONTROL_PREFIX + "config", self._config)
        self.add_routes(app)
        app.on_shutdown.append(self._on_shutdown)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        self.stats[self.stats_key(request)] += 1
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000.0)
        if self.fail_rate and self.random.random() < self.fail_rate:
            self.stats["injected_failures"] += 1
            return self.injected_failure(request, self.random.choice((500, 503)))
        if self.rate_limit:
            key = self.rate_limit_key(request)
            if key is not None:
                wait = self.buckets.take(key)
                if wait:
                    answer = self.rate_limited(request, max(1, int(wait + 0.999)))
                    if answer is not None:
                        self.stats["rate_limited"] += 1
                        return answer
        response = await handler(request)
        if self.is_write(request) and response.status < 400:
            self.mark_changed()
        return response

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "emulator": self.name})

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.summary())

    async def _stats(self, request: web.Request) -> web.Response:
        counts = dict(self.stats)
        total = sum(v for k, v in counts.items() if k not in ("injected_failures", "rate_limited"))
        return web.json_response({"requests": counts, "total": total})

    async def _stats_reset(self, request: web.Request) -> web.Response:
        self.stats.clear()
        return web.json_response({"total": 0})

    async def _reset(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        seed_name = body.get("seed", "empty")
        if "random_seed" in body:
            self.args.random_seed = int(body["random_seed"])
        try:
            self.seed(seed_name)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        self.random.seed(self.args.random_seed)
        self.stats.clear()
        self.save_now()
        return web.json_response(self.summary())

    async def _config(self, request: web.Request) -> web.Response:
        body = await request.json()
        unknown = sorted(set(body) - set(self.tunables))
        if unknown:
            return web.json_response({"error": f"unknown settings: {', '.join(unknown)}"}, status=400)
        self.configure(body)
        return web.json_response({key: getattr(self, key) for key in self.tunables})

    async def _on_shutdown(self, app: web.Application) -> None:
        self.save_now()

    def run(self) -> None:
        app = self.build_app()
        print(f"{self.name} emulator listening on http://{self.args.host}:{self.args.port}", flush=True)
        # run_app turns SIGINT and SIGTERM into a graceful shutdown, which saves the state.
        try:
            web.run_app(app, host=self.args.host, port=self.args.port, print=None, access_log=None)
        finally:
            self.save_now()


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    """A JSON answer whose Content-Type is exactly ``application/json`` (no charset),
    as both real services send and as the Dropbox SDK asserts."""
    response = web.Response(
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        status=status,
        headers=headers,
    )
    response.headers["Content-Type"] = "application/json"
    return response

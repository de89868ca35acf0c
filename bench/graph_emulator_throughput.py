"""Throughput of the Graph emulator on the routes a provisioning cycle reads.

Starts the emulator (``--seed demo`` unless told otherwise), takes an
application token from its token endpoint, then drives it with many
concurrent aiohttp clients for a while on authenticated routes
(``GET /v1.0/users?$top=100`` and ``GET /v1.0/users/{id}``) and prints
requests per second and latency percentiles. A second phase adds
``--latency-ms`` on the emulator to show hundreds of requests in flight.

    .venv/bin/python bench/graph_emulator_throughput.py
    .venv/bin/python bench/graph_emulator_throughput.py --duration 5 --phases plain
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import sys
import time

import aiohttp
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from emulators.demo import DEMO_CLIENT_ID, DEMO_TENANT_ID  # noqa: E402
from emulators.process import EmulatorProcess  # noqa: E402


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def app_token(url: str, secret: str) -> str:
    answer = requests.post(f"{url}/{DEMO_TENANT_ID}/oauth2/v2.0/token", data={
        "client_id": DEMO_CLIENT_ID, "client_secret": secret, "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default"}, timeout=30)
    answer.raise_for_status()
    return answer.json()["access_token"]


def user_ids(url: str, token: str) -> list[str]:
    answer = requests.get(f"{url}/v1.0/users?$top=999&$select=id", headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
    answer.raise_for_status()
    return [user["id"] for user in answer.json()["value"]]


async def drive(url: str, token: str, ids: list[str], duration: float, concurrency: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    in_flight = 0
    peak = 0
    deadline = time.perf_counter() + duration
    rng = random.Random(1)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal in_flight, peak
        while time.perf_counter() < deadline:
            if rng.random() < 0.5:
                path = "/v1.0/users?$top=100"
            else:
                path = f"/v1.0/users/{rng.choice(ids)}"
            started = time.perf_counter()
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                async with session.get(url + path, headers=headers) as answer:
                    await answer.read()
                    statuses[answer.status] = statuses.get(answer.status, 0) + 1
            finally:
                in_flight -= 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies), "seconds": elapsed, "rps": len(latencies) / elapsed, "statuses": statuses,
        "p50": percentile(latencies, 0.50), "p90": percentile(latencies, 0.90),
        "p99": percentile(latencies, 0.99), "max": latencies[-1] if latencies else float("nan"),
        "mean": statistics.fmean(latencies) if latencies else float("nan"), "peak_in_flight": peak,
    }


def run_phase(label: str, seed: str, latency_ms: float, duration: float, concurrency: int) -> dict:
    secret = secrets.token_urlsafe(24)
    args = ["--seed", seed, f"--client-secret={secret}", "--user-password=Bench-Passw0rd!"]
    if latency_ms:
        args += ["--latency-ms", str(latency_ms)]
    with EmulatorProcess("graph", *args) as emulator:
        token = app_token(emulator.url, secret)
        ids = user_ids(emulator.url, token)
        asyncio.run(drive(emulator.url, token, ids, 1.0, min(concurrency, 32)))  # warm up
        result = asyncio.run(drive(emulator.url, token, ids, duration, concurrency))
    print(f"\n== {label}: seed {seed}, emulator latency {latency_ms:g} ms, {concurrency} concurrent clients, "
          f"{duration:g} s")
    print(f"requests      {result['requests']}  ({result['statuses']})")
    print(f"throughput    {result['rps']:.0f} requests/second")
    print(f"latency       p50 {result['p50'] * 1000:.1f} ms   p90 {result['p90'] * 1000:.1f} ms   "
          f"p99 {result['p99'] * 1000:.1f} ms   max {result['max'] * 1000:.1f} ms")
    print(f"in flight     peak {result['peak_in_flight']}")
    return result


def print_seed_build_time(users: int = 200_000) -> None:
    """How long the synthetic seed of ``users`` takes to build (in this process)."""
    from emulators.graph import seed

    started = time.perf_counter()
    seed.build(f"synthetic:{users}", tenant_id="t", client_id="c", random_seed=1)
    print(f"seed synthetic:{users} built in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase (default: %(default)s)")
    parser.add_argument("--seed", default="demo", help="emulator seed (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=64,
                        help="concurrent clients without added latency (default: %(default)s)")
    parser.add_argument("--latency-ms", type=float, default=30.0,
                        help="latency added by the emulator in the second phase (default: %(default)s)")
    parser.add_argument("--latency-concurrency", type=int, default=400,
                        help="concurrent clients in the latency phase (default: %(default)s)")
    parser.add_argument("--phases", choices=("plain", "latency", "both"), default="both",
                        help="which phases to run (default: %(default)s)")
    args = parser.parse_args()
    print(f"Graph emulator throughput on {os.cpu_count()} CPUs")
    print_seed_build_time()
    if args.phases in ("plain", "both"):
        run_phase("no added latency", args.seed, 0, args.duration, args.concurrency)
    if args.phases in ("latency", "both"):
        run_phase("added latency", args.seed, args.latency_ms, args.duration, args.latency_concurrency)


if __name__ == "__main__":
    main()

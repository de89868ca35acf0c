"""How many team API calls a second the Dropbox emulator answers.

Starts the emulator on a generated team of a few thousand members and drives it
with many concurrent clients on the routes a provisioning cycle leans on:
``members/get_info_v2`` (half the calls), ``members/list_v2`` with ``limit``
100 and ``members/set_profile_v2`` (a quarter each). Prints requests per
second and latency percentiles; then the same with ``--latency-ms 30``, where
throughput comes from keeping hundreds of requests in flight.

    .venv/bin/python bench/dropbox_emulator_throughput.py [--seconds 10] [--members 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import time
from collections import Counter

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from emulators.process import EmulatorProcess


def requests_mix(members: int, rng: random.Random):
    """Endless (route, body) pairs in the benchmark's proportions."""
    def email() -> str:
        return f"user{rng.randrange(members):06d}@contoso.com"

    while True:
        pick = rng.random()
        if pick < 0.5:
            yield "team/members/get_info_v2", {"members": [{".tag": "email", "email": email()}]}
        elif pick < 0.75:
            yield "team/members/list_v2", {"limit": 100}
        else:
            yield "team/members/set_profile_v2", {
                "user": {".tag": "email", "email": email()},
                "new_given_name": rng.choice(("Alex", "Sam", "Kim", "Robin")),
            }


async def drive(url: str, token: str, *, members: int, seconds: float, concurrency: int) -> dict:
    rng = random.Random(7)
    mix = requests_mix(members, rng)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    in_flight = 0
    most_in_flight = 0
    deadline = time.monotonic() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal in_flight, most_in_flight
        while time.monotonic() < deadline:
            route, body = next(mix)
            data = json.dumps(body)
            started = time.perf_counter()
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
            try:
                async with session.post(f"{url}/2/{route}", data=data, headers=headers) as answer:
                    await answer.read()
                    statuses[f"{answer.status} {route}"] += 1
            except aiohttp.ClientError as exc:
                statuses[f"error {type(exc).__name__}"] += 1
                continue
            finally:
                in_flight -= 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    return {"latencies": latencies, "statuses": statuses, "elapsed": elapsed, "most_in_flight": most_in_flight}


def report(title: str, result: dict) -> None:
    latencies = sorted(result["latencies"])
    count = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(count - 1, int(p / 100 * count))] * 1000

    print(f"\n{title}")
    print(f"  {count} requests in {result['elapsed']:.1f} s: {count / result['elapsed']:.0f} requests/second")
    print(f"  latency ms: p50 {pct(50):.1f}  p90 {pct(90):.1f}  p99 {pct(99):.1f}  max {latencies[-1] * 1000:.1f}"
          f"  (mean {statistics.fmean(latencies) * 1000:.1f})")
    print(f"  most requests in flight: {result['most_in_flight']}")
    for key, value in sorted(result["statuses"].items()):
        print(f"    {value:7d}  {key}")


def run(label: str, *, members: int, seconds: float, concurrency: int, latency_ms: float) -> dict:
    token = "bench-" + secrets.token_urlsafe(24)
    with EmulatorProcess(
        "dropbox", "--seed", f"bulk:{members}", "--admin-token", token,
        "--latency-ms", str(latency_ms), "--app-secret", secrets.token_urlsafe(16),
        "--admin-password", secrets.token_urlsafe(12), "--member-password", secrets.token_urlsafe(12),
    ) as emulator:
        result = asyncio.run(drive(emulator.url, token, members=members, seconds=seconds, concurrency=concurrency))
    report(f"{label}: {members} generated members, {concurrency} concurrent clients, "
           f"--latency-ms {latency_ms:g}", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run (default: %(default)s)")
    parser.add_argument("--members", type=int, default=5000, help="generated team members (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="concurrent clients without injected latency (default: %(default)s)")
    parser.add_argument("--latency-concurrency", type=int, default=400,
                        help="concurrent clients for the --latency-ms 30 run (default: %(default)s)")
    parser.add_argument("--skip-latency-run", action="store_true", help="only run without injected latency")
    args = parser.parse_args()

    run("No injected latency", members=args.members, seconds=args.seconds, concurrency=args.concurrency,
        latency_ms=0)
    if not args.skip_latency_run:
        run("30 ms injected latency", members=args.members, seconds=args.seconds,
            concurrency=args.latency_concurrency, latency_ms=30)


if __name__ == "__main__":
    main()

"""Benchmark: how long a killed worker's cycle waits before another worker takes
it over, with the default lease and beat's default dispatch period.

    .venv/bin/python bench/takeover.py                  # 5,000 users, 30 ms latency, PostgreSQL and Redis
    .venv/bin/python bench/takeover.py --users 20000 --kill-after 4000

It sets up the tenant, the team and the application as bench/cycles.py does,
starts a real Celery worker and beat (the deployment's processes, default
PROVISIONING_LEASE_SECONDS and DISPATCH_SECONDS), turns provisioning On, and
SIGKILLs the worker once the cycle has linked ``--kill-after`` users; a second
worker is started at once. It prints the time from the kill until the second
worker begins the next cycle (the takeover), until that cycle ends, and how
many writes in flight at the kill it confirmed.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tenant import bench_tenant  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--kill-after", type=int, default=1500, help="linked users at the kill")
    parser.add_argument("--latency-ms", type=float, default=30)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_takeover")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args()

    with bench_tenant(args.database_url, args.users, latency_ms=args.latency_ms,
                      env={"CELERY_BROKER_URL": args.broker_url}) as tenant:
        measure(tenant.env, args)


def measure(env: dict, args) -> None:
    from kombu import Connection

    from provisioning.constants import CycleStatus
    from provisioning.models import ObjectLink, ProvisioningJob, ProvisioningLog, SyncCycle
    from tests.workers import CeleryProcess, wait_until

    with Connection(args.broker_url) as conn:
        conn.default_channel.queue_purge("celery")
    job = ProvisioningJob.objects.get()
    print(f"Takeover: {args.users:,} users, {args.latency_ms:.0f} ms latency, lease "
          f"{os.environ.get('PROVISIONING_LEASE_SECONDS', '60')} s, beat dispatching every "
          f"{os.environ.get('DISPATCH_SECONDS', '10')} s")
    with CeleryProcess("beat", "--schedule", str(ROOT / "var" / "bench" / "beat-schedule"), env=env):
        first = CeleryProcess("worker", "--concurrency", "2", env=env).start()
        started = time.perf_counter()
        ProvisioningJob.objects.filter(pk=job.pk).update(next_run_at=None)
        if not wait_until(lambda: ObjectLink.objects.filter(job=job).count() >= args.kill_after, timeout=600):
            raise SystemExit("the first cycle never got that far")
        first.kill()
        killed = time.perf_counter()
        print(f"  killed the worker {killed - started:.1f} s into the initial cycle, with "
              f"{ObjectLink.objects.filter(job=job).count():,} users linked")
        with CeleryProcess("worker", "--concurrency", "2", env=env):
            taken = wait_until(lambda: SyncCycle.objects.filter(job=job).count() >= 2, timeout=300, interval=0.2)
            took_over = time.perf_counter()
            done = wait_until(lambda: SyncCycle.objects.filter(job=job, status=CycleStatus.SUCCEEDED).first(),
                              timeout=1200, interval=0.5)
            finished = time.perf_counter()
    if not (taken and done):
        raise SystemExit("the job was not taken over")
    confirmed = ProvisioningLog.objects.filter(job=job, steps__icontains="Confirmed after the run").count()
    print(f"  takeover         {took_over - killed:.1f} s after the kill (target: under 90 s)")
    print(f"  cycle finished   {finished - killed:.1f} s after the kill")
    print(f"  writes in flight at the kill, confirmed by the takeover: {confirmed}")
    print(f"  users linked     {ObjectLink.objects.filter(job=job, object_type='user').count():,}")


if __name__ == "__main__":
    main()

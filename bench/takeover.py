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
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cycles import psql, setup_application  # noqa: E402

from emulators.demo import DEMO_CLIENT_ID, DEMO_DROPBOX_APP_KEY, DEMO_TENANT_ID  # noqa: E402
from emulators.process import EmulatorProcess  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--kill-after", type=int, default=1500, help="linked users at the kill")
    parser.add_argument("--latency-ms", type=float, default=30)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_takeover")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args()

    url = urlsplit(args.database_url)
    name, admin_url = url.path.lstrip("/"), urlunsplit(url._replace(path="/postgres"))
    psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    psql(admin_url, f'CREATE DATABASE "{name}"')
    client_secret, app_secret, password = (secrets.token_urlsafe(20) for _ in range(3))
    graph = EmulatorProcess("graph", "--seed", f"synthetic:{args.users}", f"--client-secret={client_secret}",
                            "--latency-ms", str(args.latency_ms))
    dropbox = EmulatorProcess("dropbox", "--seed", "empty", f"--app-secret={app_secret}",
                              f"--admin-password={password}", f"--member-password={password}x",
                              "--licenses", str(args.users * 2), "--latency-ms", str(args.latency_ms))
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "true", "DATABASE_URL": args.database_url,
        "CELERY_BROKER_URL": args.broker_url, "PORTAL_VAR_DIR": str(ROOT / "var" / "bench"), "LOG_LEVEL": "WARNING",
        "ENTRA_TENANT_ID": DEMO_TENANT_ID, "ENTRA_CLIENT_ID": DEMO_CLIENT_ID, "ENTRA_CLIENT_SECRET": client_secret,
        "DROPBOX_APP_KEY": DEMO_DROPBOX_APP_KEY, "DROPBOX_APP_SECRET": app_secret, "PYTHONPATH": str(ROOT),
    }
    with graph, dropbox:
        env.update(ENTRA_LOGIN_URL=graph.url, GRAPH_URL=graph.url, DROPBOX_API_URL=dropbox.url,
                   DROPBOX_WEB_URL=dropbox.url)
        os.environ.update({k: v for k, v in env.items() if isinstance(v, str)})
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        setup_application(dropbox, password)
        measure(env, args)
    from django.db import connections

    connections.close_all()
    psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')


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

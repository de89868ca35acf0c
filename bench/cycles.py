"""Benchmark: the initial cycle for a large tenant and an incremental cycle of
100 changes, against both emulators with injected latency, on PostgreSQL.

    .venv/bin/python bench/cycles.py                       # 100,000 users, 1,000 groups, 30 ms latency
    .venv/bin/python bench/cycles.py --users 20000         # a quicker run
    .venv/bin/python bench/cycles.py --database-url postgres://postgres@127.0.0.1:5432/bench_cycles
    .venv/bin/python bench/cycles.py --users 20000 --profile /tmp/cycle.txt   # with py-spy's samples

It creates a scratch PostgreSQL database (dropped at the end unless --keep),
starts the Graph emulator with ``--seed synthetic:N`` (N users in groups of 100,
every group assigned to Dropbox for Business) and the Dropbox emulator with an
empty team, authorizes through the emulator's OAuth pages, and runs
``manage.py provision`` in a child process, as a worker would run the cycle,
measuring its wall time and peak memory. It prints the figures, and for
comparison Microsoft's published estimate of 0.01 to 0.08 minutes per user,
group and membership for an initial cycle.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulators.demo import DEMO_CLIENT_ID, DEMO_DROPBOX_APP_KEY, DEMO_TENANT_ID  # noqa: E402
from emulators.process import EmulatorProcess  # noqa: E402


def psql(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(env: dict, *args: str, profile: str = "") -> tuple[float, float, float, str]:
    """Run manage.py in a child process: (seconds, peak RSS in MB, CPU seconds, output). With
    ``profile`` (a file name), py-spy samples it and writes the top functions there."""
    command = [sys.executable, "manage.py", *args]
    if profile:
        # py-spy (pip install py-spy) samples every thread; --gil counts only the thread holding the GIL
        command = ["py-spy", "record", "--format", "raw", "--output", profile, "--rate", "100",
                   *os.environ.get("BENCH_PYSPY", "--gil").split(), "--", *command]
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seconds, max(after.ru_maxrss, before.ru_maxrss) / 1024, cpu, done.stdout


def top_of_profile(path: str, count: int = 15) -> list[tuple[float, str]]:
    """The functions most often on the sampled stacks (inclusive), as shares of all samples."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        total += int(samples)
        for frame in set(stack.split(";")):
            inclusive[frame] = inclusive.get(frame, 0) + int(samples)
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])
    return [(n / total, frame) for frame, n in ranked[:count]] if total else []


def last_cycle() -> tuple[float, int]:
    """Seconds and Dropbox calls of the last cycle, as the portal recorded them."""
    from provisioning.models import SyncCycle

    cycle = SyncCycle.objects.order_by("-started_at").first()
    return cycle.duration.total_seconds(), cycle.target_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=30)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=32, help="most Dropbox writes in flight")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_cycles")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--profile", default="", metavar="FILE",
                        help="sample the initial cycle with py-spy into FILE and print its top functions")
    args = parser.parse_args()

    url = urlsplit(args.database_url)
    name = url.path.lstrip("/")
    admin_url = urlunsplit(url._replace(path="/postgres"))
    psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    psql(admin_url, f'CREATE DATABASE "{name}"')

    client_secret, app_secret, password = (secrets.token_urlsafe(20) for _ in range(3))
    graph = EmulatorProcess("graph", "--seed", f"synthetic:{args.users}", f"--client-secret={client_secret}",
                            "--latency-ms", str(args.latency_ms))
    dropbox = EmulatorProcess("dropbox", "--seed", "empty", f"--app-secret={app_secret}",
                              f"--admin-password={password}", f"--member-password={password}x",
                              "--licenses", str(args.users * 2), "--latency-ms", str(args.latency_ms),
                              "--async-job-seconds", "0.2")
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "true", "DATABASE_URL": args.database_url,
        "PORTAL_VAR_DIR": str(ROOT / "var" / "bench"), "LOG_LEVEL": "WARNING",
        "ENTRA_TENANT_ID": DEMO_TENANT_ID, "ENTRA_CLIENT_ID": DEMO_CLIENT_ID, "ENTRA_CLIENT_SECRET": client_secret,
        "DROPBOX_APP_KEY": DEMO_DROPBOX_APP_KEY, "DROPBOX_APP_SECRET": app_secret,
    }
    with graph, dropbox:
        env.update(ENTRA_LOGIN_URL=graph.url, GRAPH_URL=graph.url, DROPBOX_API_URL=dropbox.url,
                   DROPBOX_WEB_URL=dropbox.url)
        os.environ.update({k: v for k, v in env.items() if isinstance(v, str)})
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        setup_application(dropbox, password)

        print(f"Initial cycle: {args.users:,} users in {args.users // 100:,} groups (all assigned), "
              f"{args.latency_ms:.0f} ms latency on every call, PostgreSQL, {args.workers} writes in flight")
        emulators_cpu = cpu_seconds(graph.proc.pid) + cpu_seconds(dropbox.proc.pid)
        dropbox.reset_stats()
        seconds, peak_mb, cpu, output = child(env, "provision", "--workers", str(args.workers),
                                              profile=args.profile)
        emulators_cpu = cpu_seconds(graph.proc.pid) + cpu_seconds(dropbox.proc.pid) - emulators_cpu
        print(output.rstrip())
        cycle_seconds, _ = last_cycle()
        calls = sum(n for route, n in dropbox.stats()["requests"].items() if route.startswith("POST /2/"))
        floor = calls * args.latency_ms / 1000 / args.workers
        memberships = args.users
        objects = args.users + args.users // 100 + memberships
        print(f"  wall time        {seconds:.1f} s ({seconds / 60:.2f} min), of which the cycle {cycle_seconds:.1f} s")
        print(f"  Dropbox calls    {calls:,}; call floor (calls x latency / writes in flight) {floor:.1f} s; "
              f"cycle / floor {cycle_seconds / floor:.1f}")
        print(f"  CPU              cycle's process {cpu:.1f} s ({cpu / args.users * 1000:.2f} s per 1,000 users), "
              f"emulators {emulators_cpu:.1f} s")
        print(f"  peak memory      {peak_mb:.0f} MB (the cycle's process)")
        if args.profile:
            print(f"  profile          {args.profile} (py-spy raw); most often on the stack:")
            for share, frame in top_of_profile(args.profile):
                print(f"    {share:6.1%}  {frame[:110]}")
        print(f"  Microsoft's estimate for {objects:,} users, groups and memberships at 0.01-0.08 min each: "
              f"{objects * 0.01:,.0f} to {objects * 0.08:,.0f} minutes "
              f"({objects * 0.01 / 60:,.1f} to {objects * 0.08 / 60:,.1f} hours)")

        change_users(graph, client_secret, args.changes)
        dropbox.reset_stats()
        seconds, _, cpu, output = child(env, "provision", "--workers", str(args.workers))
        cycle_seconds, _ = last_cycle()
        calls = dropbox.stats()["requests"]
        dropbox_calls = sum(n for route, n in calls.items() if route.startswith("POST /2/"))
        print(f"\nIncremental cycle: {args.changes} users changed in Entra ID")
        print(output.rstrip())
        print(f"  wall time        {seconds:.2f} s (the process), of which the cycle {cycle_seconds:.2f} s")
        print(f"  CPU              {cpu:.1f} s (the process)")
        print(f"  Dropbox calls    {dropbox_calls} ({dropbox_calls / args.changes:.2f} per change)")
        for route, count in sorted(calls.items()):
            if route.startswith("POST /2/"):
                print(f"    {route:<50} {count}")
    from django.db import connections

    connections.close_all()
    if not args.keep:
        psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')


def setup_application(dropbox, password: str) -> None:
    """Add Dropbox for Business as the portal would, authorize it, turn it On."""
    import django

    django.setup()
    from urllib.parse import parse_qsl

    from emulators.dropbox.signin import sign_in_and_decide
    from provisioning import connections
    from provisioning.connectors.entra import EntraConnector
    from provisioning.credentials import describe_team
    from provisioning.targets.dropbox.oauth import authorize_flow
    from provisioning.defaults import create_job
    from provisioning.gallery import find
    from provisioning.models import Application

    entry = find("dropbox-business")
    sp, _ = EntraConnector.from_settings().ensure_service_principal(entry.app_id)
    application = Application.objects.create(display_name=entry.name, app_id=entry.app_id,
                                             service_principal_id=sp["id"])
    job = create_job(application)
    store: dict = {}
    flow = authorize_flow(redirect_uri="http://127.0.0.1:8000/applications/oauth/dropbox/callback/",
                          session_store=store, app_key=DEMO_DROPBOX_APP_KEY, api_url=dropbox.url,
                          web_url=dropbox.url)
    answer = sign_in_and_decide(flow.requests_session, flow.start(), "admin@contoso.com", password)
    token = flow.finish(dict(parse_qsl(urlsplit(answer.headers["Location"]).query))).refresh_token
    identity = describe_team(connections.target_for_secret(job, token))
    job.mode, job.enabled, job.target_refresh_token = "automatic", True, token
    job.target_admin_email, job.target_admin_id, job.target_team_name = (identity.admin_email, identity.admin_id,
                                                                        identity.team_name)
    job.deletion_threshold = 10 ** 9
    job.save()


def change_users(graph, client_secret: str, count: int) -> None:
    """Change the given name of ``count`` provisioned users in Entra ID."""
    from provisioning.connectors.entra import EntraConnector
    from provisioning.models import ObjectLink

    connector = EntraConnector.from_settings()
    for link in ObjectLink.objects.filter(object_type="user").order_by("id")[:count]:
        connector.request("PATCH", f"users/{link.source_id}", json={"givenName": f"Changed{link.pk}"})


if __name__ == "__main__":
    main()

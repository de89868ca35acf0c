"""Benchmark: many applications' initial cycles on one Celery worker, then on two, as on two
machines sharing PostgreSQL and Redis.

    .venv/bin/python bench/scale_out.py                    # 20 applications of 5,000 users, 1 then 2 workers
    .venv/bin/python bench/scale_out.py --apps 4 --users-per-app 2000 --workers 1,2,3

Each phase starts from nothing: a scratch PostgreSQL database, the Graph emulator with a
synthetic tenant, and the Dropbox emulator with one empty team per application (``--teams``:
each admin authorizes their own team, each token reaches its own), both with the same
injected latency. Each application is a new instance of the gallery template
(``applicationTemplates/{id}/instantiate``) with its own 50 groups of 100 users assigned, is
authorized through its team's OAuth pages and turned On. Then ``celery -A portal worker`` is
started N times (separate processes, ``--concurrency`` each), every job is triggered twice
(a duplicate trigger, as a second beat or a retried message would send), and the phase ends
when every job has a finished cycle. It prints the wall time, and checks that each initial
cycle ran once and completed, with every user provisioned in its own team.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tenant import psql  # noqa: E402
from emulators.demo import DEMO_CLIENT_ID, DEMO_DROPBOX_APP_KEY, DEMO_TENANT_ID  # noqa: E402
from emulators.process import EmulatorProcess  # noqa: E402

GROUP_SIZE = 100


def phase(args, workers: int) -> dict:
    url = urlsplit(args.database_url)
    name = url.path.lstrip("/")
    admin_url = urlunsplit(url._replace(path="/postgres"))
    psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    psql(admin_url, f'CREATE DATABASE "{name}"')
    client_secret, app_secret, password = (secrets.token_urlsafe(20) for _ in range(3))
    users = args.apps * args.users_per_app
    latency = str(args.latency_ms)
    with ExitStack() as stack:
        graph = stack.enter_context(EmulatorProcess(
            "graph", "--seed", f"synthetic:{users}", f"--client-secret={client_secret}", "--latency-ms", latency))
        dropbox = stack.enter_context(EmulatorProcess(
            "dropbox", "--seed", "empty", "--teams", str(args.apps), f"--app-secret={app_secret}",
            f"--admin-password={password}", f"--member-password={password}x", "--licenses",
            str(args.users_per_app * 2), "--latency-ms", latency, "--async-job-seconds", "0.2"))
        env = {
            # as workers run in production: DEBUG off (with it on, Django also times and keeps every query)
            **os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(40), "STATIC_MANIFEST": "false",
            "DATABASE_URL": args.database_url, "CELERY_BROKER_URL": args.broker_url,
            "PORTAL_VAR_DIR": str(ROOT / "var" / "bench"), "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "ENTRA_TENANT_ID": DEMO_TENANT_ID, "ENTRA_CLIENT_ID": DEMO_CLIENT_ID, "ENTRA_CLIENT_SECRET": client_secret,
            "ENTRA_LOGIN_URL": graph.url, "GRAPH_URL": graph.url, "DROPBOX_APP_KEY": DEMO_DROPBOX_APP_KEY,
            "DROPBOX_APP_SECRET": app_secret, "PYTHONPATH": str(ROOT),
            "DROPBOX_API_URL": dropbox.url, "DROPBOX_WEB_URL": dropbox.url,
        }
        os.environ.update({k: v for k, v in env.items() if isinstance(v, str)})
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([sys.executable, "-c", "from redis import Redis; import sys; Redis.from_url(sys.argv[1])"
                        ".flushdb()", args.broker_url], check=True)
        jobs = setup_applications(args, dropbox, password)
        processes = []
        try:
            for n in range(workers):
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO",
                     "--concurrency", str(args.concurrency), "--prefetch-multiplier", "1", "--without-gossip",
                     "--without-mingle", "--hostname", f"bench{n}@%h"],
                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                    start_new_session=True))
            for proc in processes:  # timed from the trigger, once every worker is ready
                wait_ready(proc)
            started = time.perf_counter()
            trigger(jobs)
            finished = wait_for_cycles(jobs, timeout=args.timeout)
            seconds = time.perf_counter() - started
        finally:
            for proc in processes:
                proc.terminate()
            for proc in processes:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        result = check(jobs, dropbox, args.users_per_app, finished)
        from django.db import connections

        connections.close_all()
    psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    return {"seconds": seconds, **result}


def setup_applications(args, dropbox, password: str) -> list[int]:
    """One instance of the gallery application per team, with its own groups assigned, authorized, On."""
    import django

    django.setup()
    from emulators.dropbox.signin import sign_in_and_decide
    from provisioning.connectors.entra import EntraConnector
    from provisioning.credentials import describe_team
    from provisioning.defaults import create_job
    from provisioning.gallery import find
    from provisioning.models import Application
    from provisioning.targets.dropbox.connector import DropboxConnector
    from provisioning.targets.dropbox.oauth import authorize_flow

    entry = find("dropbox-business")
    source = EntraConnector.from_settings()
    template_sp = source.find_service_principal(entry.app_id)
    groups = sorted({a["principalId"] for a in source.iter_assignments(template_sp["id"])})
    per_app = args.users_per_app // GROUP_SIZE
    jobs = []
    for n in range(args.apps):
        admin = "admin@contoso.com" if n == 0 else f"admin{n + 1}@contoso.com"
        sp = source.instantiate(entry.template_id, f"Dropbox (team {n + 1})")
        role = next(r["id"] for r in sp["appRoles"] if r["displayName"] == "User")
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda gid, sp=sp, role=role: source.add_assignment(sp["id"], gid, role),
                          groups[n * per_app:(n + 1) * per_app]))
        application = Application.objects.create(display_name=f"Dropbox (team {n + 1})", app_id=sp["appId"],
                                                 service_principal_id=sp["id"], gallery_app=entry.key)
        job = create_job(application)
        store: dict = {}
        flow = authorize_flow(redirect_uri="http://127.0.0.1:8000/applications/oauth/dropbox/callback/",
                              session_store=store, app_key=DEMO_DROPBOX_APP_KEY, api_url=dropbox.url,
                              web_url=dropbox.url)
        answer = sign_in_and_decide(flow.requests_session, flow.start(), admin, password)
        token = flow.finish(dict(parse_qsl(urlsplit(answer.headers["Location"]).query))).refresh_token
        identity = describe_team(DropboxConnector.from_settings(token))
        job.mode, job.enabled, job.target_refresh_token = "automatic", True, token
        job.target_admin_email, job.target_admin_id = identity.admin_email, identity.admin_id
        job.target_team_name, job.target_team_id = identity.team_name, identity.team_id
        job.deletion_threshold, job.interval_minutes = 10 ** 9, 1440
        job.save()
        jobs.append(job.pk)
    return jobs


def wait_ready(proc, timeout: float = 120) -> None:
    import threading

    ready = threading.Event()

    def pump():
        for line in proc.stdout:
            if "ready." in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(timeout):
        raise SystemExit("a worker did not start")


def trigger(jobs: list[int]) -> None:
    from django.utils import timezone

    from portal.celery import app
    from provisioning.models import ProvisioningJob

    ProvisioningJob.objects.filter(pk__in=jobs).update(next_run_at=timezone.now())
    for _ in range(2):  # every job twice: the second must find the job running or done, never run it again
        for pk in jobs:
            app.send_task("provisioning.tasks.run_job", args=[pk])


def wait_for_cycles(jobs: list[int], timeout: float) -> bool:
    from provisioning.constants import CycleStatus
    from provisioning.models import ProvisioningJob, SyncCycle

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = SyncCycle.objects.filter(job_id__in=jobs).exclude(status=CycleStatus.RUNNING).values("job_id")
        if len({row["job_id"] for row in done}) == len(jobs) and not ProvisioningJob.objects.filter(
                pk__in=jobs).exclude(lease_owner="").exists():
            return True
        time.sleep(0.5)
    return False


def check(jobs, dropbox, users_per_app: int, finished: bool) -> dict:
    """Each job ran one cycle, which completed; each team holds exactly its application's enabled users (and
    its own admin and member), linked by that application alone."""
    from provisioning.connectors.entra import EntraConnector
    from provisioning.models import Application, ObjectLink, SyncCycle

    source = EntraConnector.from_settings()

    cycles = {pk: list(SyncCycle.objects.filter(job_id=pk).values_list("status", flat=True)) for pk in jobs}
    ran_twice = [pk for pk, statuses in cycles.items() if len(statuses) > 1]
    not_completed = [pk for pk, statuses in cycles.items() if statuses != ["succeeded"]]
    short = []
    for number, pk in enumerate(jobs, start=1):
        sp_id = Application.objects.get(job__pk=pk).service_principal_id
        groups = [a["principalId"] for a in source.iter_assignments(sp_id)]
        with ThreadPoolExecutor(16) as pool:
            pages = pool.map(lambda gid: list(source.iter_collection(
                f"groups/{gid}/members", params={"$select": "userPrincipalName,accountEnabled"})), groups)
        expected = {u["userPrincipalName"].lower() for page in pages for u in page if u.get("accountEnabled")}
        own = {f"admin{'' if number == 1 else number}@contoso.com", f"member{'' if number == 1 else number}@contoso.com"}
        members = {m["email"].lower() for m in dropbox.control("GET", f"state?team={number}")["members"]
                   if m["status"] != "removed"} - own
        links = set(ObjectLink.objects.filter(job_id=pk, object_type="user").values_list("target_email", flat=True))
        if not (members == expected == {e.lower() for e in links}) or len(expected) < users_per_app * 0.9:
            short.append((pk, len(expected), len(members), len(links)))
    return {"finished": finished, "ran_twice": ran_twice, "not_completed": not_completed, "short": short}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--users-per-app", type=int, default=5000)
    parser.add_argument("--workers", default="1,2", help="worker processes per phase, comma-separated")
    parser.add_argument("--concurrency", type=int, default=1, help="--concurrency of each worker")
    parser.add_argument("--latency-ms", type=float, default=30)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_scale_out")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--one-phase", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_phase:  # a phase runs in a process of its own: Django reads its settings once per process
        print("RESULT " + json.dumps(phase(args, args.one_phase)))
        return
    if args.users_per_app % GROUP_SIZE:
        raise SystemExit(f"--users-per-app must be a multiple of {GROUP_SIZE}")
    print(f"{args.apps} applications of {args.users_per_app:,} users, each its own Dropbox team; "
          f"{args.latency_ms:.0f} ms latency; workers of --concurrency {args.concurrency}; {os.cpu_count()} CPUs")
    results = {}
    for workers in (int(n) for n in args.workers.split(",")):
        done = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--one-phase", str(workers)], cwd=ROOT,
                              capture_output=True, text=True)
        line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
        if done.returncode or line is None:
            raise SystemExit(f"the phase with {workers} workers failed:\n{done.stdout}\n{done.stderr}")
        result = results[workers] = json.loads(line[len("RESULT "):])
        ok = result["finished"] and not (result["ran_twice"] or result["not_completed"] or result["short"])
        print(f"  {workers} worker{'s' if workers > 1 else ''}: {result['seconds']:.1f} s for every initial cycle; "
              f"{'each job ran once and completed, every user provisioned' if ok else 'PROBLEMS: ' + str(result)}")
    first = results.get(1)
    for workers, result in results.items():
        if first and workers > 1:
            print(f"  {workers} workers / 1 worker: {result['seconds'] / first['seconds']:.2f} (target at most 0.7 "
                  "for 2)")


if __name__ == "__main__":
    main()

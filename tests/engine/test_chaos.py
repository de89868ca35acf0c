"""Chaos: a 2,000-user tenant provisioned by a real worker that is SIGKILLed at
random points, loses its PostgreSQL connection, reads empty groups from Graph,
or meets 429 storms with 5% server errors. Each ends with every write that
reached the Dropbox team accounted for: the exact team, one link per user, one
successful log row per write (counted against the emulator's journal of the
writes it received), no cycle left running, no lease held, nothing pending.

The kill points are drawn at random; the seed is printed on failure
(``CHAOS_SEED=<n>`` replays a run)."""

from __future__ import annotations

import os
import random
import time
from collections import Counter, defaultdict

import pytest
from django.db import connection

from portal.celery import app as celery_app
from provisioning import jobs
from provisioning.constants import Action, CycleStatus, LogStatus
from provisioning.models import ObjectLink, PendingWrite, ProvisioningJob, ProvisioningLog, SyncCycle
from provisioning.tasks import dispatch_due_jobs
from tests.conftest import require
from tests.services import synthetic_job
from tests.workers import CeleryProcess, wait_until

from .test_resilience import assert_exact_team

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

USERS = 2000
SEED = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(10 ** 6))
#: the log row each write the team received should have
WRITE_ACTIONS = {"members/add": Action.CREATE, "members/suspend": Action.DISABLE,
                 "members/unsuspend": Action.ENABLE, "members/remove": Action.DELETE}


@pytest.fixture
def chaos(services, worker_environment):
    """(graph, dropbox, job, sp, start a worker): a synthetic tenant, a job as the tutorial leaves it,
    and workers on a short lease so takeovers come in seconds (the default lease is benchmarked).
    On PostgreSQL and Redis, as in production."""
    yield from chaos_tenant(services, worker_environment, USERS)


def chaos_tenant(services, worker_environment, users: int, **settings: str):
    """The chaos fixture's body, for a tenant of ``users`` and workers with these extra settings."""
    require(connection.vendor == "postgresql" and worker_environment.get("CELERY_BROKER_URL", "").startswith("redis"),
            "PostgreSQL and Redis (DATABASE_URL=postgres://..., CELERY_BROKER_URL=redis://...)")
    graph, dbx = services
    job, sp = synthetic_job(graph, dbx, users)
    dbx.configure(licenses=users * 2)
    env = {**worker_environment, "PROVISIONING_LEASE_SECONDS": "2", **settings}
    workers: list[CeleryProcess] = []

    def start() -> CeleryProcess:
        worker = CeleryProcess("worker", "--pool", "prefork", "--concurrency", "2", "-Q", "chaos", env=env).start()
        workers.append(worker)
        return worker

    yield graph, dbx, job, sp, start
    for worker in workers:
        worker.stop()
    dbx.configure(latency_ms=0, rate_limit=0, write_rate_limit=0, fail_rate=0)
    graph.configure(rate_limit=0, fail_rate=0, empty_group_members=False)


def trigger(job) -> None:
    ProvisioningJob.objects.filter(pk=job.pk).update(next_run_at=None)
    celery_app.send_task("provisioning.tasks.run_job", args=[job.pk], queue="chaos")


def settle(job, since: int, timeout: float = 240) -> SyncCycle:
    """Do what beat's dispatcher does (a due job whose lease expired is started again, here on the chaos
    queue) until a cycle begun after ``since`` (a cycle pk) ends; that cycle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = SyncCycle.objects.filter(job=job, pk__gt=since).exclude(status__in=[
            CycleStatus.RUNNING, CycleStatus.INTERRUPTED]).order_by("-pk").first()
        if done is not None and not ProvisioningJob.objects.filter(pk=job.pk).exclude(lease_owner="").exists():
            return done
        dispatch_due_jobs(queue="chaos")
        time.sleep(1)
    raise AssertionError(f"no cycle settled in {timeout:.0f} s (CHAOS_SEED={SEED})")


def last_cycle_pk(job) -> int:
    return SyncCycle.objects.filter(job=job).order_by("-pk").values_list("pk", flat=True).first() or 0


def writes(dbx, route: str) -> int:
    return sum(1 for r, _ in dbx.journal() if r == route)


def kill_at(start, dbx, worker, points: list[int], route: str) -> CeleryProcess:
    """SIGKILL the worker each time the team has received ``points[i]`` writes of ``route``, and start
    another (which takes the job over once the dead one's lease expires, as beat dispatches it)."""
    for point in points:
        deadline, dispatched = time.monotonic() + 120, time.monotonic()
        while writes(dbx, route) < point:
            if time.monotonic() > deadline:
                raise AssertionError(f"never reached {point} {route} writes (CHAOS_SEED={SEED}):\n"
                                     + "".join(worker.output[-30:]))
            if time.monotonic() - dispatched > 1:
                dispatch_due_jobs(queue="chaos")
                dispatched = time.monotonic()
            time.sleep(0.05)
        # The kill first, the moment the point is reached: a cycle of this size takes seconds, about as
        # long as a worker takes to start, so a successor started first would often find the cycle done.
        worker.kill()
        worker = start()
    return worker


def assert_accounted(graph, dbx, job, sp_id) -> None:
    job = ProvisioningJob.objects.get(pk=job.pk)
    assert_exact_team(graph, dbx, job, sp_id)
    links = ObjectLink.objects.filter(job=job, object_type="user")
    assert links.values("target_id").distinct().count() == links.count(), "one link per Dropbox member"
    assert not SyncCycle.objects.filter(job=job, status=CycleStatus.RUNNING).exists()
    assert job.lease_owner == "" and job.lease_expires_at is None
    assert not PendingWrite.objects.filter(job=job).exists()
    received: dict[str, Counter] = defaultdict(Counter)
    for route, member in dbx.journal():
        if route.startswith("members/"):
            received[member][route] += 1
    logged: dict[str, Counter] = defaultdict(Counter)
    for target_id, action in ProvisioningLog.objects.filter(
            job=job, object_type="user", status=LogStatus.SUCCESS).values_list("target_id", "action"):
        logged[target_id][action] += 1
    for member, routes in received.items():
        for route, action in WRITE_ACTIONS.items():
            assert routes[route] == logged[member][action], \
                f"{member}: {routes[route]} × {route} but {logged[member][action]} {action} rows (CHAOS_SEED={SEED})"
        updates = logged[member][Action.UPDATE]
        assert updates <= routes["members/set_profile"] <= updates + logged[member][Action.ENABLE], \
            f"{member}: {routes['members/set_profile']} profile writes, {updates} Update rows (CHAOS_SEED={SEED})"
    assert max(Counter(ProvisioningLog.objects.filter(job=job).values_list("change_id", flat=True)).values()) == 1


def kills_during_an_initial_cycle(tenant, kills: int, users: int = USERS) -> SyncCycle:
    """SIGKILL the worker ``kills`` times at random points of the tenant's initial cycle; the cycle that
    completed it, once it has succeeded."""
    _graph, dbx, job, _sp, start = tenant
    rng = random.Random(SEED)
    dbx.configure(latency_ms=40)
    worker = start()
    trigger(job)
    kill_at(start, dbx, worker, sorted(rng.sample(range(100, users - 300), kills)), "members/add")
    done = settle(job, since=0)
    assert done.status == CycleStatus.SUCCEEDED, f"{done.error} (CHAOS_SEED={SEED})"
    return done


def test_five_kills_during_an_initial_cycle_lose_and_duplicate_nothing(chaos):
    graph, dbx, job, sp, _start = chaos
    kills_during_an_initial_cycle(chaos, 5)
    confirmed = ProvisioningLog.objects.filter(job=job, steps__icontains="Confirmed after the run")
    cycles = list(SyncCycle.objects.filter(job=job).order_by("pk").values_list("status", "counters"))
    assert confirmed.exists(), f"writes in flight at a kill were confirmed by the takeover (CHAOS_SEED={SEED}); " \
                               f"cycles: {cycles}"
    assert_accounted(graph, dbx, job, sp["id"])


def test_five_kills_during_an_incremental_cycle_with_writes_in_flight(chaos):
    graph, dbx, job, sp, start = chaos
    rng = random.Random(SEED)
    worker = start()
    trigger(job)
    assert settle(job, since=0).status == CycleStatus.SUCCEEDED
    linked = list(ObjectLink.objects.filter(job=job, object_type="user").exclude(
        target_email=job.target_admin_email).values_list("source_id", flat=True)[:300])
    for uid in linked:
        assert graph.graph("PATCH", f"/v1.0/users/{uid}", json={"givenName": f"Chaos{rng.randrange(10 ** 6)}"}
                           ).status_code == 204
    since = last_cycle_pk(job)
    before = writes(dbx, "members/set_profile")
    dbx.configure(latency_ms=120)
    trigger(job)
    kill_at(start, dbx, worker, [before + p for p in sorted(rng.sample(range(20, 280), 5))], "members/set_profile")
    done = settle(job, since=since)
    assert done.status == CycleStatus.SUCCEEDED, f"{done.error} (CHAOS_SEED={SEED})"
    assert_accounted(graph, dbx, job, sp["id"])


def test_a_terminated_database_connection_fails_the_cycle_cleanly(chaos):
    graph, dbx, job, sp, start = chaos
    start()
    trigger(job)
    assert settle(job, since=0).status == CycleStatus.SUCCEEDED
    linked = list(ObjectLink.objects.filter(job=job, object_type="user").exclude(
        target_email=job.target_admin_email).values_list("source_id", flat=True)[:388])
    for n, uid in enumerate(linked):
        graph.graph("PATCH", f"/v1.0/users/{uid}", json={"givenName": f"Renamed{n}"})
    since = last_cycle_pk(job)
    before = writes(dbx, "members/set_profile")
    dbx.configure(latency_ms=60)
    trigger(job)
    assert wait_until(lambda: writes(dbx, "members/set_profile") >= before + 100, timeout=120)
    with connection.cursor() as cursor:  # every connection of the worker, as a failover or an operator would
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
    failed = wait_until(lambda: SyncCycle.objects.filter(job=job, pk__gt=since, status=CycleStatus.FAILED).first(),
                        timeout=60)
    assert failed is not None and "lost its database connection" in failed.error
    job.refresh_from_db()
    assert wait_until(lambda: not ProvisioningJob.objects.filter(pk=job.pk).exclude(lease_owner="").exists(),
                      timeout=30), "the lease is released"
    assert job.next_run_at and (job.next_run_at - failed.finished_at).total_seconds() <= 5 * 60 + 5, \
        "retried with the normal backoff, not a whole interval"
    assert failed.target_calls > 100, "the failed cycle keeps its call counts"
    dbx.configure(latency_ms=0)
    ProvisioningJob.objects.filter(pk=job.pk).update(next_run_at=None)  # as if those minutes had passed
    done = settle(job, since=failed.pk)
    assert done.status == CycleStatus.SUCCEEDED, done.error
    failed.refresh_from_db()
    assert failed.count(Action.UPDATE, LogStatus.SUCCESS) >= 100, "its writes are counted once they are confirmed"
    assert_accounted(graph, dbx, job, sp["id"])
    renames = ProvisioningLog.objects.filter(job=job, action=Action.UPDATE, status=LogStatus.SUCCESS,
                                             source_id__in=linked)
    assert sorted(renames.values_list("source_id", flat=True)) == sorted(linked), "one Update row per rename"


def test_graph_answering_every_group_as_empty_removes_no_member(chaos):
    graph, dbx, job, sp, start = chaos
    start()
    trigger(job)
    assert settle(job, since=0).status == CycleStatus.SUCCEEDED
    written = len(dbx.journal())
    graph.configure(empty_group_members=True)
    since = last_cycle_pk(job)
    jobs.restart(ProvisioningJob.objects.get(pk=job.pk), jobs.SYSTEM)  # a full cycle reads every group again
    trigger(job)
    done = settle(job, since=since)
    changes = dbx.journal()[written:]
    assert done.status == CycleStatus.STAGED and "Nothing was disabled" in done.error, done.error
    assert not [c for c in changes if c[0] in ("groups/members/remove", "members/suspend", "members/remove",
                                               "groups/delete")], changes[:10]
    graph.configure(empty_group_members=False)
    jobs.restart(ProvisioningJob.objects.get(pk=job.pk), jobs.SYSTEM)
    trigger(job)
    assert settle(job, since=done.pk).status == CycleStatus.SUCCEEDED
    assert_accounted(graph, dbx, job, sp["id"])


def test_429_storms_and_five_percent_server_errors_converge(chaos):
    graph, dbx, job, sp, start = chaos
    from provisioning.models import Escrow

    graph.configure(rate_limit=40, fail_rate=0.05)
    dbx.configure(rate_limit=40, write_rate_limit=15, fail_rate=0.05)
    start()
    statuses, since = [], 0
    for _ in range(6):
        trigger(job)
        done = settle(job, since=since, timeout=300)
        statuses.append(done.status)
        since = done.pk
        if done.status == CycleStatus.SUCCEEDED and not Escrow.objects.filter(job=job).exists():
            break
        Escrow.objects.filter(job=job).update(not_before=done.started_at)  # let the next cycle retry them now
    graph.configure(rate_limit=0, fail_rate=0)
    dbx.configure(rate_limit=0, write_rate_limit=0, fail_rate=0)
    assert statuses[-1] == CycleStatus.SUCCEEDED, statuses
    assert_accounted(graph, dbx, job, sp["id"])

"""The embedded broker (one SQLite file) never loses a task. 2,000 tasks are sent
from 4 processes while a worker consumes them; the worker is SIGKILLed twice
(with tasks in flight) and started again. Every task runs at least once, and a
provisioning cycle that was running when the worker died is taken over and
ends with the exact team."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from provisioning.constants import CycleStatus
from provisioning.models import ProvisioningJob, SyncCycle
from tests.engine.test_resilience import assert_exact_team
from tests.services import synthetic_job
from tests.workers import ROOT, CeleryProcess, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SENDERS, PER_SENDER = 4, 500
TOTAL = SENDERS * PER_SENDER
CONCURRENCY, PREFETCH = 4, 8
#: a kill can catch each process's task and every message the worker had taken ahead
IN_FLIGHT = CONCURRENCY * (PREFETCH + 1)


def runs(path) -> list[int]:
    try:
        with sqlite3.connect(path, timeout=60) as db:
            return [n for (n,) in db.execute("SELECT number FROM ran")]
    except sqlite3.OperationalError:  # no task has run yet
        return []


def start_senders(env: dict, record: str) -> list[subprocess.Popen]:
    code = "import django; django.setup(); import sys; from tests.broker_tasks import send; " \
           "send(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))"
    return [subprocess.Popen([sys.executable, "-c", code, record, str(i * PER_SENDER), str(PER_SENDER)],
                             cwd=ROOT, env=env) for i in range(SENDERS)]


def test_no_task_is_lost_when_the_worker_is_killed_twice(services, worker_environment, tmp_path):
    graph, dbx = services
    job, sp = synthetic_job(graph, dbx, 300)
    dbx.configure(latency_ms=15)
    broker, record = str(tmp_path / "broker.sqlite3"), str(tmp_path / "runs.sqlite3")
    env = {**worker_environment, "CELERY_BROKER_URL": "sqlite://", "CELERY_SQLITE_PATH": broker,
           "PROVISIONING_LEASE_SECONDS": "4"}
    from kombu import Connection

    from portal.celery import app

    def send_task(name: str, *args) -> None:
        with Connection("sqlite://", transport_options={"path": broker}) as conn:
            app.send_task(name, args=list(args), connection=conn)

    worker = lambda: CeleryProcess("worker", "--pool", "prefork", "--concurrency", str(CONCURRENCY),  # noqa: E731
                                   "--prefetch-multiplier", str(PREFETCH), "--include", "tests.broker_tasks",
                                   env=env).start()
    send_task("provisioning.tasks.run_job", job.pk)
    senders = start_senders(env, record)
    current = worker()
    try:
        for kill_after in (300, 1000):
            assert wait_until(lambda: len(runs(record)) >= kill_after, timeout=120), "".join(current.output[-30:])
            current.kill()
            current = worker()
        for sender in senders:
            assert sender.wait(timeout=120) == 0
        # As beat's dispatcher does: a cycle whose worker died is started again once its lease expires.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if len(set(runs(record))) == TOTAL and SyncCycle.objects.filter(
                    job=job, status=CycleStatus.SUCCEEDED).exists():
                break
            send_task("provisioning.tasks.dispatch_due_jobs")
            time.sleep(2)
    finally:
        current.stop()
        dbx.configure(latency_ms=0)
    ran = runs(record)
    assert set(ran) == set(range(TOTAL)), f"{TOTAL - len(set(ran))} tasks never ran"
    assert len(ran) - TOTAL <= 2 * IN_FLIGHT, "only tasks in flight at one of the two kills run again"
    assert SyncCycle.objects.filter(job=job, status=CycleStatus.SUCCEEDED).exists()
    assert_exact_team(graph, dbx, ProvisioningJob.objects.get(pk=job.pk), sp["id"])

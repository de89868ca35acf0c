"""Rough weather: 429 storms, a 5% failure rate, and a worker killed with
SIGKILL in the middle of an initial cycle. Each ends with the exact team."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from portal.celery import app as celery_app
from provisioning.constants import Action, CycleStatus, LogStatus
from provisioning.models import Escrow, ObjectLink, ProvisioningJob, ProvisioningLog, SyncCycle
from tests.services import synthetic_job
from tests.workers import CeleryProcess

from .conftest import expected_in_scope, team

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def assert_exact_team(graph, dbx, job, sp_id):
    expected = expected_in_scope(graph, sp_id)
    members = team(dbx)
    assert set(expected) <= set(members)
    all_emails = [m["email"].lower() for m in dbx.state()["members"]]
    duplicates = [email for email, n in Counter(all_emails).items() if n > 1]
    assert duplicates == []
    links = ObjectLink.objects.filter(job=job, object_type="user")
    assert sorted(links.values_list("target_email", flat=True)) == sorted(expected)
    for email, user in expected.items():
        if email != job.target_admin_email:
            assert members[email]["given_name"] == user["givenName"], email


def test_429_storms_converge_to_the_exact_team(job, run_cycle, services, demo_sp):
    graph, dbx = services
    graph.configure(rate_limit=15)
    dbx.configure(rate_limit=12, write_rate_limit=4)
    cycle = run_cycle(job, timeout=300)
    assert cycle.status == CycleStatus.SUCCEEDED, cycle.error
    assert cycle.rate_limit_waited_seconds > 0
    dbx.configure(rate_limit=0, write_rate_limit=0)
    graph.configure(rate_limit=0)
    assert_exact_team(graph, dbx, job, demo_sp["id"])


def test_a_five_percent_failure_rate_converges_to_the_exact_team(job, run_cycle, services, demo_sp):
    graph, dbx = services
    graph.configure(fail_rate=0.05)
    dbx.configure(fail_rate=0.05)
    statuses = []
    for _ in range(4):
        cycle = run_cycle(job, timeout=300)
        statuses.append(cycle.status)
        if cycle.status == CycleStatus.SUCCEEDED and not Escrow.objects.filter(job=job).exists():
            break
        # Escrowed objects wait a little before their retry: let the next cycle take them.
        Escrow.objects.filter(job=job).update(not_before=cycle.started_at)
    graph.configure(fail_rate=0)
    dbx.configure(fail_rate=0)
    assert statuses[-1] == CycleStatus.SUCCEEDED, statuses
    assert_exact_team(graph, dbx, job, demo_sp["id"])


def test_a_worker_killed_mid_cycle_is_taken_over_with_no_duplicates(services, worker_environment):
    graph, dbx = services
    job, sp = synthetic_job(graph, dbx, 400)
    dbx.configure(latency_ms=40)
    env = {**worker_environment, "PROVISIONING_LEASE_SECONDS": "4"}
    first = CeleryProcess("worker", "--pool", "solo", "-Q", "killtest", env=env).start()
    try:
        celery_app.send_task("provisioning.tasks.run_job", args=[job.pk], queue="killtest")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and ObjectLink.objects.filter(job=job).count() < 60:
            time.sleep(0.05)
        assert ObjectLink.objects.filter(job=job).count() >= 60, "".join(first.output[-40:])
    finally:
        first.kill()
    interrupted = SyncCycle.objects.get(job=job)
    assert interrupted.status == CycleStatus.RUNNING  # the dead worker could not say otherwise
    halfway = ObjectLink.objects.filter(job=job).count()
    assert halfway < 400

    dbx.configure(latency_ms=0)
    second = CeleryProcess("worker", "--pool", "solo", "-Q", "killtest", env=env).start()
    try:
        # What beat's dispatcher does: try again; the run waits for the dead worker's lease to expire.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            celery_app.send_task("provisioning.tasks.run_job", args=[job.pk], queue="killtest")
            time.sleep(2)
            finished = SyncCycle.objects.filter(job=job, status=CycleStatus.SUCCEEDED).first()
            if finished:
                break
        else:
            raise AssertionError("".join(second.output[-40:]))
    finally:
        second.stop()
    interrupted.refresh_from_db()
    assert interrupted.status == CycleStatus.INTERRUPTED
    assert_exact_team(graph, dbx, ProvisioningJob.objects.get(pk=job.pk), sp["id"])
    creates = Counter(ProvisioningLog.objects.filter(job=job, object_type="user", action=Action.CREATE,
                                                     status=LogStatus.SUCCESS).values_list("source_id", flat=True))
    assert creates and max(creates.values()) == 1, "no duplicate log for the same change"
    change_ids = Counter(ProvisioningLog.objects.filter(job=job).values_list("change_id", flat=True))
    assert max(change_ids.values()) == 1

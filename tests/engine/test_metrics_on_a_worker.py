"""/metrics against real cycles on a real worker: scraped while a cycle runs and after it, the
counters agree with the cycle's own counters (SyncCycle's fields) and with what the emulators were
asked. The worker logs in JSON (LOG_FORMAT=json): every line it writes is one JSON object, and those
written while the cycle ran name it.

The worker here is this module's own, on a queue of its own, so no other test's worker takes its
tasks and no other process adds to the counters while a test compares them."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from django.utils import timezone

from portal.celery import app as celery_app
from provisioning.constants import CycleStatus
from provisioning.metrics import calls
from provisioning.models import ProvisioningJob, SyncCycle
from tests.portal.test_metrics import TOKEN, samples
from tests.workers import CeleryProcess

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUEUE = "metrics-test"


@pytest.fixture(scope="module")
def json_worker(worker_environment):
    env = {**worker_environment, "LOG_FORMAT": "json"}
    with CeleryProcess("worker", "--pool", "prefork", "--concurrency", "1", "--queues", QUEUE, env=env) as worker:
        yield worker


@pytest.fixture
def scraper(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_ADDRESSES = TOKEN, []

    def scrape() -> dict:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        return samples(response.content)

    return scrape


def start_cycle(job) -> int:
    """Send the job's run to this module's worker; the pk of the last cycle before it."""
    before = SyncCycle.objects.filter(job=job).order_by("-pk").values_list("pk", flat=True).first() or 0
    ProvisioningJob.objects.filter(pk=job.pk).update(next_run_at=timezone.now())
    celery_app.send_task("provisioning.tasks.run_job", args=[job.pk], queue=QUEUE)
    return before


def finished_cycle(job, before: int, worker, timeout: float = 120) -> SyncCycle:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cycle = SyncCycle.objects.filter(job=job, pk__gt=before).exclude(status=CycleStatus.RUNNING).first()
        if cycle is not None and not ProvisioningJob.objects.filter(pk=job.pk).exclude(lease_owner="").exists():
            return cycle
        time.sleep(0.05)
    raise AssertionError("the cycle did not finish in time:\n" + "".join(worker.output[-40:]))


def of(scrape: dict, name: str, **labels) -> dict[tuple, float]:
    """The samples of ``name`` whose labels include ``labels``."""
    return {key: v for key, v in scrape.items()
            if key[0] == name and all(dict(key[1]).get(k) == want for k, want in labels.items())}


def delta(after: dict, before: dict, name: str, group_by: tuple[str, ...], **labels) -> Counter:
    """How much the samples of ``name`` grew, summed by the labels ``group_by``."""
    grown: Counter = Counter()
    for key, v in of(after, name, **labels).items():
        grown[tuple(dict(key[1])[g] for g in group_by)] += v - before.get(key, 0.0)
    return +grown


def cycle_objects(cycle: SyncCycle) -> Counter:
    return +Counter({(action, status): n for action, statuses in cycle.counters.items()
                     for status, n in statuses.items()})


def test_scrapes_during_and_after_a_cycle_agree_with_its_counters(json_worker, job, graph, dbx, scraper):
    calls.flush(force=True)  # what this test process itself asked of the emulators, stored before the baseline
    before = scraper()
    # Slow writes, so the cycle is seen running with some of its objects recorded.
    dbx.configure(latency_ms=150)
    last = start_cycle(job)

    seen_running = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cycle = SyncCycle.objects.filter(job=job, pk__gt=last).first()
        if cycle is not None and cycle.status != CycleStatus.RUNNING:
            break
        if cycle is not None and cycle_objects(cycle):
            recorded_then = cycle_objects(cycle)
            during = scraper()
            seen_running = cycle
            break
        time.sleep(0.02)
    assert seen_running is not None, "the cycle ended before any of its objects were seen recorded"
    labels = {"job_id": job.job_id}
    assert of(during, "portal_cycle_running", **labels) == {("portal_cycle_running", (("job_id", job.job_id),)): 1}
    # The counters are committed with the log rows, before the cycle's own counters are: never behind them.
    objects_during = delta(during, before, "portal_objects_total", ("action", "status"), **labels)
    assert all(objects_during[key] >= n for key, n in recorded_then.items()), (objects_during, recorded_then)
    assert not delta(during, before, "portal_cycles_total", ("status",), **labels)

    cycle = finished_cycle(job, last, json_worker)
    dbx.configure(latency_ms=0)
    assert cycle.status == CycleStatus.SUCCEEDED, cycle.error
    after = scraper()

    assert delta(after, before, "portal_cycles_total", ("kind", "status"), **labels) == {
        (cycle.kind, cycle.status): 1}
    assert delta(after, before, "portal_objects_total", ("action", "status"), **labels) == cycle_objects(cycle)
    assert all(objects_during[key] <= n for key, n in cycle_objects(cycle).items())
    assert sum(delta(after, before, "portal_objects_total", ("object_type",), **labels).values()) \
        == cycle.objects_processed
    duration = (cycle.finished_at - cycle.started_at).total_seconds()
    assert delta(after, before, "portal_cycle_duration_seconds_count", ("kind",), **labels) == {(cycle.kind,): 1}
    assert sum(delta(after, before, "portal_cycle_duration_seconds_sum", (), **labels).values()) \
        == pytest.approx(duration, abs=0.01)
    assert of(after, "portal_seconds_since_last_successful_cycle", **labels)[
        ("portal_seconds_since_last_successful_cycle", (("job_id", job.job_id),))] < 30

    # Requests: as many as the connectors counted for the cycle (the tokens' requests aside).
    graph_calls = delta(after, before, "portal_api_calls_total", ("route", "answer"), service="graph")
    assert sum(graph_calls.values()) == cycle.source_calls > 0
    dropbox_calls = delta(after, before, "portal_api_calls_total", ("route", "answer"), service="dropbox")
    assert sum(n for (route, _), n in dropbox_calls.items() if not route.startswith("oauth2")) \
        == cycle.target_calls > 0
    assert dropbox_calls[("2/team/members/add_v2", "2xx")] >= 1
    assert delta(after, before, "portal_api_call_duration_seconds_count", ("service",), service="dropbox") == {
        ("dropbox",): sum(dropbox_calls.values())}
    # The writes slowed down by 150 ms each sit in the buckets above 0.1 s.
    add_buckets = {dict(k[1])["le"]: v for k, v in of(after, "portal_api_call_duration_seconds_bucket",
                                                        service="dropbox", route="2/team/members/add_v2").items()}
    assert add_buckets["0.1"] == 0 and add_buckets["+Inf"] >= 1

    # No label carries a user's id, name or email.
    people = [u for u in graph.get_all("/v1.0/users?$select=id,userPrincipalName,mail,displayName&$top=999")]
    values = {v for (_, labels_) in after for _, v in labels_}
    assert not any("@" in v for v in values)
    assert not values & {str(u.get(k)) for u in people for k in ("id", "userPrincipalName", "mail", "displayName")}


def test_every_line_of_the_json_worker_is_one_object_naming_the_cycle(json_worker, job, graph, dbx):
    mark = len(json_worker.output)
    cycle = finished_cycle(job, start_cycle(job), json_worker)
    assert cycle.status == CycleStatus.SUCCEEDED, cycle.error
    assert json_worker.wait_for_output("provisioning.tasks.run_job[", timeout=10)
    lines = [line for line in json_worker.output if line.strip()]
    records = [json.loads(line) for line in lines]  # every line, the start-up lines included
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record)
    assert any("ready." in r["message"] for r in records)
    ours = [r for r in records[mark:] if r.get("cycle_id") == str(cycle.cycle_id)]
    assert ours, "no line of the cycle names it:\n" + "".join(json_worker.output[mark:])
    assert all(r["task"] == "provisioning.tasks.run_job" and r["task_id"] for r in ours)
    assert not any(job.target_refresh_token in line for line in lines)

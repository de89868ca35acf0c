"""/metrics: Prometheus' text format, off unless a token or an address allowlist is set, and each
family read from the database and the broker at scrape time. The counters against a real cycle on
a real worker are in tests/engine/test_metrics_on_a_worker.py."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu import Connection, Exchange, Producer, Queue
from prometheus_client.parser import text_string_to_metric_families

from portal.celery import app as celery_app
from provisioning import jobs
from provisioning.constants import CycleKind, CycleStatus, ObjectType
from provisioning.metrics import QUARANTINE_REASONS, calls, collector
from provisioning.metrics.counters import Key, add, cycle_ended
from provisioning.models import Escrow, MetricCounter, ServiceHeartbeat, SyncCycle
from provisioning.schedules import ensure_periodic_tasks

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-" + "k" * 24


def samples(body: bytes | str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a scrape, parsed by prometheus-client's own parser."""
    text = body.decode() if isinstance(body, bytes) else body
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scrape: dict, name: str, **labels) -> float:
    return scrape[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []
    return TOKEN


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return samples(response.content)


# ---------------------------------------------------------------------------- protection
def test_it_is_off_without_a_token_or_allowed_addresses(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_ADDRESSES = "", []
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", f"Bearer {TOKEN}x", f"Basic {TOKEN}",
                                    f"Bearer {TOKEN[:-1]}", "Bearer \u00e9t\u00e9-not-ascii", f"Token {TOKEN}"])
def test_a_wrong_or_missing_token_is_refused_with_a_bearer_challenge(client, token, header):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"portal_" not in response.content


def test_the_right_token_reads_the_metrics_in_text_format_0_0_4(client, token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"bearer  {TOKEN} ")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response["Cache-Control"].startswith("max-age=0")
    families = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {"portal_cycles", "portal_cycle_duration_seconds", "portal_objects", "portal_api_calls",
            "portal_api_call_duration_seconds", "portal_escrowed_objects", "portal_staged_actions",
            "portal_quarantined", "portal_seconds_since_last_successful_cycle", "portal_celery_queue_length",
            "portal_heartbeat_age_seconds", "portal_broker_up"} <= families


def test_an_address_outside_the_allowlist_is_refused(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_ADDRESSES = "", ["10.0.0.0/8", "2001:db8::/32"]
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="not-an-address").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="2001:db8::5").status_code == 200


def test_behind_a_proxy_the_forwarded_client_address_is_checked(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_ADDRESSES = "", ["10.0.0.0/8"]
    settings.TRUSTED_PROXY_COUNT = 1
    assert client.get("/metrics", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.0.0.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="garbage, <>").status_code == 403


def test_with_both_an_allowed_address_needs_the_token_too(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_ADDRESSES = TOKEN, ["127.0.0.1/32"]
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_without_its_database_the_scrape_fails_plainly(client, token, monkeypatch):
    from django.db import OperationalError

    from portal.views import metrics as view

    def no_database():
        raise OperationalError("connection to server at 10.0.0.5 refused")

    monkeypatch.setattr(view, "render", no_database)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 503
    assert b"10.0.0.5" not in response.content


def test_only_get_and_head_are_answered(client, token):
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
    assert client.head("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


# ---------------------------------------------------------------------------- families read at scrape time
def test_quarantine_is_one_series_per_reason_of_the_fixed_set(client, token, application):
    job = application.job
    jobs.quarantine(job, "DropboxInvalidAccessToken", "Dropbox rejected the credentials of a@example.org",
                    reason_key="credentials", subject="Provisioning is quarantined")
    result = scrape(client)
    reasons = {dict(labels)["reason"]: v for (name, labels), v in result.items()
               if name == "portal_quarantined" and dict(labels)["job_id"] == job.job_id}
    assert reasons == {reason: float(reason == "credentials") for reason in QUARANTINE_REASONS}
    assert value(result, "portal_quarantine_level", job_id=job.job_id) == 1
    jobs.cycle_succeeded(job)
    result = scrape(client)
    assert all(value(result, "portal_quarantined", job_id=job.job_id, reason=r) == 0 for r in QUARANTINE_REASONS)


def test_a_quarantine_from_before_the_reason_was_stored_is_told_by_its_code(application):
    job = application.job
    job.quarantine_level, job.quarantine_code, job.quarantine_kind = 2, "HighFailureRate", ""
    assert collector.quarantine_reason(job) == "failures"
    job.quarantine_code = "SomethingNew"
    assert collector.quarantine_reason(job) == "other"


def test_escrowed_objects_and_staged_actions_are_counted_per_job(client, token, application):
    job = application.job
    for n in range(3):
        Escrow.objects.create(job=job, object_type=ObjectType.USER, source_id=f"u{n}", not_before=timezone.now())
    staged = SyncCycle.objects.create(job=job, kind=CycleKind.FULL, status=CycleStatus.STAGED,
                                      counters={"StagedDelete": {"Skipped": 4}, "StagedDisable": {"Skipped": 2},
                                                "Create": {"Success": 9}})
    jobs.quarantine(job, "StagedDeletions", "8 deletions staged", reason_key="staged", subject="Staged",
                    staged_cycle=staged)
    result = scrape(client)
    assert value(result, "portal_escrowed_objects", job_id=job.job_id, object_type="user") == 3
    assert value(result, "portal_escrowed_objects", job_id=job.job_id, object_type="group") == 0
    assert value(result, "portal_staged_actions", job_id=job.job_id, action="StagedDelete") == 4
    assert value(result, "portal_staged_actions", job_id=job.job_id, action="StagedDisable") == 2
    assert value(result, "portal_quarantined", job_id=job.job_id, reason="staged") == 1


def test_seconds_since_the_last_successful_cycle(client, token, application):
    job = application.job
    job.created_at = timezone.now() - timedelta(hours=5)
    job.save(update_fields=["created_at"])
    # Never completed a cycle: counted from when the job was made.
    assert 5 * 3600 - 5 < value(scrape(client), "portal_seconds_since_last_successful_cycle", job_id=job.job_id) \
        < 5 * 3600 + 60
    two_hours_ago = timezone.now() - timedelta(hours=2)
    SyncCycle.objects.create(job=job, kind=CycleKind.FULL, status=CycleStatus.SUCCEEDED, finished_at=two_hours_ago)
    SyncCycle.objects.create(job=job, kind=CycleKind.FULL, status=CycleStatus.FAILED, finished_at=timezone.now())
    assert 7200 - 5 < value(scrape(client), "portal_seconds_since_last_successful_cycle", job_id=job.job_id) < 7260


def test_heartbeat_ages_of_the_worker_and_beat(client, token):
    result = scrape(client)
    assert value(result, "portal_heartbeat_age_seconds", service="worker") == math.inf
    ensure_periodic_tasks()
    ServiceHeartbeat.objects.update_or_create(name="worker",
                                              defaults={"last_seen": timezone.now() - timedelta(seconds=42)})
    from django_celery_beat.models import PeriodicTask

    from provisioning.schedules import HEARTBEAT_TASK_NAME

    PeriodicTask.objects.filter(name=HEARTBEAT_TASK_NAME).update(last_run_at=timezone.now() - timedelta(seconds=7))
    result = scrape(client)
    assert 42 <= value(result, "portal_heartbeat_age_seconds", service="worker") < 60
    assert 7 <= value(result, "portal_heartbeat_age_seconds", service="beat") < 25


def test_queue_length_is_read_from_the_broker(client, token, monkeypatch):
    name = "metrics-test-queue"
    monkeypatch.setattr(collector, "queue_names", lambda: [name])
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with Connection(celery_app.conf.broker_url, transport_options=celery_app.conf.broker_transport_options or {}) \
            as conn:
        channel = conn.channel()
        queue(channel).declare()
        queue(channel).purge()
        try:
            producer = Producer(channel, exchange=queue.exchange, routing_key=name)
            for n in range(3):
                producer.publish({"n": n}, declare=[queue])
            result = scrape(client)
            assert value(result, "portal_broker_up") == 1
            assert value(result, "portal_celery_queue_length", queue=name) == 3
        finally:
            queue(channel).purge()


def test_an_unreachable_broker_is_said_and_the_scrape_still_answers(client, token, monkeypatch):
    for name in ("broker_read_url", "broker_url"):  # (see test_readiness: the read URL first)
        monkeypatch.setattr(celery_app.conf, name, "redis://:s3cret@127.0.0.1:1/0")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    result = samples(response.content)
    assert value(result, "portal_broker_up") == 0
    assert not [key for key in result if key[0] == "portal_celery_queue_length"]
    assert b"s3cret" not in response.content


# ---------------------------------------------------------------------------- counters
def test_cycle_counters_survive_the_purge_of_their_cycles(client, token, application):
    job = application.job
    start = timezone.now() - timedelta(seconds=90)
    for status in (CycleStatus.SUCCEEDED, CycleStatus.SUCCEEDED, CycleStatus.FAILED):
        cycle = SyncCycle.objects.create(job=job, kind=CycleKind.INCREMENTAL, status=status)
        SyncCycle.objects.filter(pk=cycle.pk).update(started_at=start)
        cycle.refresh_from_db()
        cycle.finished_at = start + timedelta(seconds=90)
        cycle_ended(cycle, job.job_id)
    before = scrape(client)
    SyncCycle.objects.filter(job=job).delete()
    after = scrape(client)
    labels = {"job_id": job.job_id, "kind": "incremental"}
    assert value(after, "portal_cycles_total", status="succeeded", **labels) == 2
    assert value(after, "portal_cycles_total", status="failed", **labels) == 1
    assert value(after, "portal_cycle_duration_seconds_count", **labels) == 3
    assert value(after, "portal_cycle_duration_seconds_sum", **labels) == pytest.approx(270)
    # 90 s falls in the 120 s bucket: cumulative buckets below it are empty, from it on they hold all three.
    assert value(after, "portal_cycle_duration_seconds_bucket", le="60.0", **labels) == 0
    assert value(after, "portal_cycle_duration_seconds_bucket", le="120.0", **labels) == 3
    assert value(after, "portal_cycle_duration_seconds_bucket", le="+Inf", **labels) == 3
    # The last success outlives its cycle row too.
    since = value(after, "portal_seconds_since_last_successful_cycle", job_id=job.job_id)
    assert since == pytest.approx(value(before, "portal_seconds_since_last_successful_cycle", job_id=job.job_id),
                                  abs=30)
    assert since < 60


def test_adding_to_a_counter_adds_and_never_replaces():
    key = Key("portal_objects", job="j", object_type="user", action="Create", status="Success")
    add({key: 2})
    add({key: 3, Key("portal_objects", job="j", object_type="user", action="Create", status="Failure"): 1})
    assert MetricCounter.objects.get(name="portal_objects", status="Success").value == 5
    assert MetricCounter.objects.get(name="portal_objects", status="Failure").value == 1


def stored_calls() -> dict[tuple, float]:
    return {(row.service, row.route, row.answer): row.value
            for row in MetricCounter.objects.filter(name="portal_api_calls")}


def grown(after: dict, before: dict) -> dict:
    return {key: n - before.get(key, 0) for key, n in after.items() if n != before.get(key, 0)}


def test_calls_are_counted_in_memory_and_stored_only_when_flushed(client, token):
    calls.flush(force=True)  # what earlier tests of this process asked of the emulators
    before_rows, before = stored_calls(), scrape(client)

    class Answer:
        def __init__(self, status_code):
            self.status_code = status_code

    for status in (200, 200, 404, 429, 503):
        calls.observe("https://graph.microsoft.com/v1.0/users/6f1c2d3e-0000-4000-8000-000000000001/memberOf"
                      "?$select=id", lambda s=status: Answer(s))
    with pytest.raises(ConnectionError):
        calls.observe("https://api.dropboxapi.com/2/team/members/add_v2", _refused)
    assert stored_calls() == before_rows
    calls.flush(force=True)
    route = ("graph", "users/{id}/memberOf")
    assert grown(stored_calls(), before_rows) == {
        (*route, "2xx"): 2, (*route, "4xx"): 1, (*route, "429"): 1, (*route, "5xx"): 1,
        ("dropbox", "2/team/members/add_v2", "error"): 1}
    result = scrape(client)
    labels = {"service": "graph", "route": "users/{id}/memberOf"}
    assert value(result, "portal_api_call_duration_seconds_count", **labels) \
        - before.get(("portal_api_call_duration_seconds_count", tuple(sorted(labels.items()))), 0) == 5
    assert value(result, "portal_api_calls_total", service="dropbox", route="2/team/members/add_v2",
                 answer="error") == stored_calls()[("dropbox", "2/team/members/add_v2", "error")]


def _refused():
    raise ConnectionError("refused")


@pytest.mark.parametrize(("url", "expected"), [
    ("https://graph.microsoft.com/v1.0/users?$top=999&$filter=mail eq 'ann@example.org'", ("graph", "users")),
    ("https://graph.microsoft.com/v1.0/users/ann@example.org", ("graph", "users/{id}")),
    ("https://graph.microsoft.com/v1.0/users(userPrincipalName='ann@example.org')", ("graph", "{id}")),
    ("https://graph.microsoft.com/v1.0/users/delta()?$deltatoken=abc", ("graph", "users/delta")),
    ("https://graph.microsoft.com/v1.0/servicePrincipals/9a8b/appRoleAssignedTo/AbC-123",
     ("graph", "servicePrincipals/{id}/appRoleAssignedTo/{id}")),
    ("https://graph.microsoft.com/v1.0/$batch", ("graph", "$batch")),
    ("https://login.microsoftonline.com/0b1c2d3e-aaaa-bbbb-cccc-000000000000/oauth2/v2.0/token",
     ("entra_login", "{id}/oauth2/v2.0/token")),
    ("https://api.dropboxapi.com/2/team/members/set_profile_v2", ("dropbox", "2/team/members/set_profile_v2")),
    ("https://api.dropboxapi.com/2/team/ann@example.org/dbmid:AAH4f", ("dropbox", "2/team/{id}/{id}")),
    ("https://api.dropboxapi.com/oauth2/token", ("dropbox", "oauth2/token")),
    ("https://elsewhere.example.org/users/ann@example.org", ("other", "")),
])
def test_routes_are_bounded_and_carry_no_identity(url, expected):
    assert calls.service_and_route(url) == expected


def test_a_flush_without_a_database_keeps_the_counts(monkeypatch):
    calls.flush(force=True)
    before = stored_calls()
    calls.observe("https://api.dropboxapi.com/2/team/members/list_v2", lambda: type("A", (), {"status_code": 200}))

    def no_database(_counts, **_kwargs):
        from django.db import OperationalError

        raise OperationalError("the database went away")

    monkeypatch.setattr(calls, "add", no_database)
    assert calls.flush(force=True) is False
    assert sum(calls.pending().values()) > 0
    monkeypatch.undo()
    assert calls.flush(force=True) is True
    assert calls.pending() == {}
    assert grown(stored_calls(), before) == {("dropbox", "2/team/members/list_v2", "2xx"): 1}


def test_flushes_outside_a_cycle_wait_a_few_seconds(monkeypatch):
    calls.flush(force=True)
    calls.observe("https://api.dropboxapi.com/2/team/members/list_v2", lambda: type("A", (), {"status_code": 200}))
    calls.flush_soon()
    assert calls.pending(), "flushed at once, though the last flush was just now"
    monkeypatch.setattr(calls, "FLUSH_SECONDS", 0.0)
    calls.flush_soon()
    assert not calls.pending()


def test_cycles_a_dead_worker_left_running_are_counted_once_when_they_end(client, token, application):
    from provisioning.tasks import record_lost_cycle

    job = application.job
    left = SyncCycle.objects.create(job=job, kind=CycleKind.FULL)  # its worker was killed
    lost = SyncCycle.objects.create(job=job, kind=CycleKind.FULL, status=CycleStatus.INTERRUPTED)
    running = jobs.begin_cycle(job, kind=CycleKind.INCREMENTAL, initiated_by="")
    record_lost_cycle(running.pk, "The cycle lost its database connection.")
    record_lost_cycle(left.pk, "The cycle lost its database connection.")  # interrupted first: counted then
    record_lost_cycle(lost.pk, "The cycle lost its database connection.")  # ended before the counters: not now
    result = scrape(client)
    counted = {(dict(k)["kind"], dict(k)["status"]): v for (name, k), v in result.items()
               if name == "portal_cycles_total" and dict(k)["job_id"] == job.job_id}
    assert counted == {("full", "interrupted"): 1, ("incremental", "failed"): 1}

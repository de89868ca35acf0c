"""Log streaming with real processes: a real cycle run by the engine's worker writes the rows, and
a streaming worker of this module's own (on its own queue, so it can be killed) delivers them to a
syslog listener over TLS and an HTTPS webhook receiver, both started here with a certificate from a
CA made here and verified by the portal through the destination's CA file.

Killed with SIGKILL in the middle of a delivery, the worker loses nothing: the next one sends what
was not confirmed, so after deduplication on (type, id) every row has arrived exactly once, in the
order it was written. A receiver that keeps answering 500 fills the dead letters, which the portal
shows; once it is fixed, Retry delivers them."""

from __future__ import annotations

import re
import time

import pytest
from django.db import connection
from django.urls import reverse

from provisioning.models import AuditEvent, ProvisioningLog, StreamEntry
from provisioning.tasks import deliver_streams
from tests.conftest import require
from tests.services import synthetic_job
from tests.workers import CeleryProcess

from .conftest import syslog_destination, webhook_destination
from .receivers import SyslogListener, WebhookReceiver

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUEUE = "streaming-test"
USERS = 600


@pytest.fixture
def streaming_workers(worker_environment):
    """start() -> a new streaming worker on this module's queue (stopped at the end of the test)."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    env = {**worker_environment, "STREAM_ROWS_PER_REQUEST": "25", "STREAM_ENTRIES_PER_CLAIM": "2",
           "STREAM_RETRY_BASE_SECONDS": "0.2", "STREAM_TIMEOUT_SECONDS": "10"}
    workers: list[CeleryProcess] = []

    def start() -> CeleryProcess:
        worker = CeleryProcess("worker", "--pool", "prefork", "--concurrency", "2", "--queues", QUEUE, env=env)
        workers.append(worker.start())
        return worker

    yield start
    for worker in workers:
        worker.stop()


def dispatch_until(done, timeout: float = 120, what: str = "") -> None:
    """Do what beat does every few seconds (one delivery task per destination with entries due, here on
    this module's queue) until ``done()``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        deliver_streams(queue=QUEUE)
        time.sleep(0.3)
    raise AssertionError(f"not done in {timeout} s: {what}")


def first_arrivals(bodies: list[dict], kind: str) -> tuple[list[int], int]:
    """The ids of one type of row in the order they first arrived, and how many arrived again."""
    seen, order = set(), []
    for body in bodies:
        if body["type"] == kind and body["id"] not in seen:
            seen.add(body["id"])
            order.append(body["id"])
    return order, sum(1 for body in bodies if body["type"] == kind) - len(order)


def assert_every_row_once_in_order(bodies: list[dict], log_ids: list[int], audit_ids: list[int]) -> int:
    """After deduplication every row arrived, none is extra, each type in the order it was written;
    returns the number of duplicates."""
    logs, log_again = first_arrivals(bodies, "provisioning_log")
    audits, audit_again = first_arrivals(bodies, "audit_event")
    assert sorted(logs) == log_ids, f"missing {set(log_ids) - set(logs)}, extra {set(logs) - set(log_ids)}"
    assert logs == log_ids  # in the order they were written
    assert audits == audit_ids
    return log_again + audit_again


def test_a_worker_killed_mid_delivery_loses_nothing_and_duplicates_are_only_redeliveries(
        services, run_cycle, streaming_workers, certificates):
    graph, dbx = services
    job, _ = synthetic_job(graph, dbx, USERS)
    # Slow receivers, so the kill lands in the middle of the deliveries.
    with WebhookReceiver(certificates.server_context(), delay=0.15) as webhook, \
            SyslogListener(certificates.server_context(), read_delay=0.004) as syslog:
        audit_before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        hook = webhook_destination(webhook, certificates)
        syslog_destination(syslog, certificates)
        first_worker = streaming_workers()

        cycle = run_cycle(job)
        log_ids = list(ProvisioningLog.objects.filter(job=job).order_by("id").values_list("id", flat=True))
        assert cycle.status == "succeeded" and len(log_ids) > USERS * 0.9

        dispatch_until(lambda: len(webhook.lines()) >= 100, what="the first rows reach the webhook")
        first_worker.kill()
        received_before_kill = len(webhook.lines())
        assert received_before_kill < len(log_ids)
        assert StreamEntry.objects.filter(destination=hook).exists(), "the kill came after the last delivery"

        streaming_workers()
        dispatch_until(lambda: not StreamEntry.objects.exists(), what="every entry delivered after the restart")

        audit_ids = list(AuditEvent.objects.filter(id__gt=audit_before).order_by("id").values_list("id", flat=True))
        duplicates = assert_every_row_once_in_order(webhook.lines(), log_ids, audit_ids)
        assert_every_row_once_in_order(syslog.bodies(), log_ids, audit_ids)
    print(f"killed after {received_before_kill} rows reached the webhook; {duplicates} arrived twice")
    # what arrived twice is what the killed worker had sent but not yet confirmed: at most one claim
    assert duplicates <= 2 * 500
    sample = next(line for line in webhook.lines() if line["id"] == log_ids[0])
    row = ProvisioningLog.objects.get(pk=log_ids[0])
    assert sample["change_id"] == str(row.change_id) and sample["action"] == row.action
    assert sample["source_upn"] == row.source_upn and sample["job_id"] == job.job_id


def test_a_refusing_receiver_fills_the_dead_letters_and_retry_delivers_them(
        job, run_cycle, streaming_workers, certificates, alice_client):
    with WebhookReceiver(certificates.server_context(), status=500) as webhook:
        answer = alice_client.post(reverse("portal:add_stream_destination"), {
            "name": "Splunk", "kind": "splunk_hec", "enabled": "on", "send_logs": "on", "send_audit": "on",
            "url": webhook.url, "ca_file": str(certificates.ca_file), "token": "hec-0123456789abcdef",
            "max_attempts": "3"})
        assert answer.status_code == 302, answer.content.decode()
        streaming_workers()
        run_cycle(job)
        log_ids = list(ProvisioningLog.objects.filter(job=job).order_by("id").values_list("id", flat=True))

        dispatch_until(lambda: StreamEntry.objects.exists() and not StreamEntry.objects.filter(
            dead_at__isnull=True).exists(), what="every entry dead after 3 refusals")
        assert set(StreamEntry.objects.values_list("attempts", flat=True)) == {3}

        page = alice_client.get(reverse("portal:stream_dead_letters")).content.decode()
        dead = [int(pk) for pk in re.findall(r'id="dead-letter-(\d+)"', page)]
        assert dead == list(StreamEntry.objects.order_by("id").values_list("id", flat=True))
        assert "The receiver answered HTTP 500" in page and "hec-0123456789abcdef" not in page

        webhook.status = 200
        for pk in dead:
            assert alice_client.post(reverse("portal:retry_stream_entry", args=[pk])).status_code == 302
        assert AuditEvent.objects.filter(activity="Retry dead-lettered log stream entry").count() == len(dead)
        dispatch_until(lambda: not StreamEntry.objects.exists(), what="the retried entries delivered")

        events = webhook.lines()
        assert all(headers["Authorization"] == "Splunk hec-0123456789abcdef" for _, headers, _ in webhook.requests)
        logs, _ = first_arrivals([event["event"] for event in events], "provisioning_log")
        assert logs == log_ids
        page = alice_client.get(reverse("portal:stream_dead_letters")).content.decode()
        assert "No dead letters" in page

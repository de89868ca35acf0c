"""Delivery to each kind of receiver, run in the test's process against receivers the test
started: what arrives, in which order, what a failure leaves behind, and that certificates are
verified against the destination's CA file."""

from __future__ import annotations

import json
import threading
import uuid

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from provisioning import audit
from provisioning.constants import AuditActivity, StreamKind
from provisioning.models import ProvisioningLog, StreamDestination, StreamEntry
from provisioning.streaming.delivery import Lane, deliver, deliver_once, due_destinations
from provisioning.streaming.records import LOG_TYPE
from tests.conftest import require
from tests.workers import database_url

from .conftest import record_logs, syslog_destination, webhook_destination
from .receivers import SyslogListener, WebhookReceiver, make_certificates

pytestmark = pytest.mark.django_db


def _ids(change_ids) -> list[int]:
    by_change = dict(ProvisioningLog.objects.filter(change_id__in=change_ids).values_list("change_id", "id"))
    return [by_change[uuid.UUID(c)] for c in change_ids]


def test_it_posts_json_lines_to_a_webhook_it_verifies_with_the_ca_file(application, webhook, certificates):
    destination = webhook_destination(webhook, certificates)
    first, second = record_logs(application.job, 3), record_logs(application.job, 2)
    assert StreamEntry.objects.filter(destination=destination).count() == 2

    assert deliver(destination.pk) == 5

    lines = webhook.lines()
    assert [line["id"] for line in lines] == _ids(first + second)
    assert {line["type"] for line in lines} == {LOG_TYPE}
    assert lines[0]["change_id"] == first[0] and lines[0]["source_upn"] == "user0@contoso.com"
    assert lines[0]["job_id"] == application.job.job_id and lines[0]["application_id"] == str(application.pk)
    path, headers, _ = webhook.requests[0]
    assert path == "/collect"
    assert headers["Authorization"] == "Bearer webhook-token-0123456789"
    assert headers["Content-Type"] == "application/x-ndjson"
    assert not StreamEntry.objects.exists()
    destination.refresh_from_db()
    assert destination.last_delivered_at is not None and destination.last_error == ""


def test_it_sends_splunk_hec_events_with_the_hec_token(application, webhook, certificates):
    destination = webhook_destination(webhook, certificates, kind=StreamKind.SPLUNK_HEC, token="hec-token-abc")
    change_ids = record_logs(application.job, 2)

    deliver(destination.pk)

    _, headers, events = webhook.requests[0]
    assert headers["Authorization"] == "Splunk hec-token-abc"
    assert [event["event"]["change_id"] for event in events] == change_ids
    assert {event["sourcetype"] for event in events} == {"provisioning:log"}
    assert all(event["source"] == "provisioning-portal" and event["host"] and event["time"] > 0 for event in events)


def test_it_sends_rfc5424_messages_over_tls(application, syslog_tls, certificates):
    destination = syslog_destination(syslog_tls, certificates)
    change_ids = record_logs(application.job, 4)
    audit.record(AuditActivity.UPDATE_SETTINGS, target=application, detail="Interval changed.")

    deliver(destination.pk)

    headers = [header for header, _ in syslog_tls.messages]
    bodies = syslog_tls.bodies()
    assert [b["change_id"] for b in bodies[:4]] == change_ids
    assert bodies[4]["type"] == "audit_event" and bodies[4]["activity"] == AuditActivity.UPDATE_SETTINGS
    pri, stamp, host, app, procid, msgid, sd = headers[0]
    assert pri == b"134"  # local0.info
    assert stamp.endswith(b"Z") and host and app == b"provisioning-portal" and procid == b"-" and sd == b"-"
    assert msgid == b"provisioning-log" and headers[4][5] == b"audit-event"
    assert not StreamEntry.objects.exists()


def test_it_sends_over_plain_tcp_too(application):
    with SyslogListener() as listener:
        destination = syslog_destination(listener)
        change_ids = record_logs(application.job, 3)
        deliver(destination.pk)
        assert [b["change_id"] for b in listener.bodies()] == change_ids


def test_it_appends_json_lines_to_a_file(application, settings, tmp_path):
    settings.STREAM_FILE_DIR = str(tmp_path / "streams")
    destination = StreamDestination.objects.create(name="File", kind=StreamKind.FILE, path="siem/portal.jsonl")
    first = record_logs(application.job, 2)
    deliver(destination.pk)
    second = record_logs(application.job, 1)
    deliver(destination.pk)

    lines = (tmp_path / "streams" / "siem" / "portal.jsonl").read_text().splitlines()
    assert [json.loads(line)["change_id"] for line in lines] == first + second


def test_it_refuses_a_receiver_whose_certificate_another_ca_signed(application, webhook, tmp_path, fast_retries):
    other_ca = make_certificates(tmp_path / "other").ca_file
    destination = webhook_destination(webhook, make_certificates(tmp_path / "unused"), ca_file=str(other_ca))
    record_logs(application.job, 2)

    assert deliver(destination.pk) == 0

    entry = StreamEntry.objects.get()
    assert entry.attempts == 1 and "certificate" in entry.last_error
    assert webhook.requests == []


def test_it_verifies_the_host_name_too(application, tmp_path, fast_retries):
    wrong_name = make_certificates(tmp_path / "tls", host="127.0.0.2")
    with SyslogListener(wrong_name.server_context()) as listener:
        destination = syslog_destination(listener, wrong_name)
        record_logs(application.job, 1)
        deliver(destination.pk)
    assert "TLS" in StreamEntry.objects.get().last_error and listener.messages == []


def test_it_keeps_the_order_behind_a_failing_entry_and_backs_off(application, webhook, certificates, settings):
    settings.STREAM_RETRY_BASE_SECONDS = 60
    destination = webhook_destination(webhook, certificates)
    first, second = record_logs(application.job, 2), record_logs(application.job, 2)
    webhook.status = 500

    assert deliver(destination.pk) == 0
    oldest, later = StreamEntry.objects.order_by("id")
    assert oldest.attempts == 1 and "HTTP 500" in oldest.last_error and later.attempts == 0
    assert oldest.next_attempt_at > timezone.now()
    # while the oldest waits out its backoff, nothing behind it goes either
    webhook.status = 200
    assert deliver(destination.pk) == 0 and due_destinations() == []

    StreamEntry.objects.filter(pk=oldest.pk).update(next_attempt_at=timezone.now())
    assert deliver(destination.pk) == 4
    assert [line["change_id"] for line in webhook.lines()] == first + second


def test_backoff_doubles_up_to_the_maximum(settings):
    from provisioning.streaming.delivery import backoff

    settings.STREAM_RETRY_BASE_SECONDS, settings.STREAM_RETRY_MAX_SECONDS = 10, 100
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 80, 100]


def test_it_makes_a_dead_letter_after_the_last_attempt_and_moves_on(application, webhook, certificates,
                                                                    fast_retries):
    destination = webhook_destination(webhook, certificates, max_attempts=3)
    record_logs(application.job, 2)
    webhook.status = 500
    for _ in range(3):
        deliver_once(destination.pk)
    dead = StreamEntry.objects.get()
    assert dead.dead_at is not None and dead.attempts == 3

    webhook.status = 200
    later = record_logs(application.job, 1)
    deliver(destination.pk)
    assert [line["change_id"] for line in webhook.lines()] == later
    assert list(StreamEntry.objects.all()) == [dead]


def test_it_never_logs_or_stores_the_token(application, certificates, fast_retries, caplog):
    with WebhookReceiver(certificates.server_context(), status=500) as receiver:
        destination = webhook_destination(receiver, certificates, token="sl.very-secret-token-value-123456")
        record_logs(application.job, 1)
        deliver(destination.pk)
    entry = StreamEntry.objects.get()
    assert "very-secret" not in entry.last_error and "very-secret" not in caplog.text
    assert "Log streaming to 'SIEM webhook' failed" in caplog.text
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM provisioning_streamdestination")
        assert cursor.fetchone()[0].startswith("fernet:")


def test_it_sends_rows_redacted(application, webhook, certificates):
    destination = webhook_destination(webhook, certificates)
    record_logs(application.job, 1, reason="Refused: Authorization Bearer abcdefghijklmnopqrstu")
    deliver(destination.pk)
    assert "abcdefghijkl" not in json.dumps(webhook.lines())


def test_it_writes_entries_only_for_enabled_destinations_that_want_the_kind(application, webhook, certificates):
    record_logs(application.job, 2)
    assert not StreamEntry.objects.exists()  # no destination: nothing is written
    webhook_destination(webhook, certificates, enabled=False)
    audit_only = webhook_destination(webhook, certificates, send_logs=False)
    record_logs(application.job, 2)
    assert not StreamEntry.objects.exists()
    audit.record(AuditActivity.UPDATE_SETTINGS, target=application)
    assert list(StreamEntry.objects.values_list("destination", "kind")) == [(audit_only.pk, StreamEntry.AUDIT)]


def test_rows_and_their_entries_are_written_together_or_not_at_all(application, webhook, certificates):
    from django.db import transaction

    webhook_destination(webhook, certificates)
    with pytest.raises(RuntimeError), transaction.atomic():
        record_logs(application.job, 2)
        audit.record(AuditActivity.UPDATE_SETTINGS, target=application)
        raise RuntimeError("the transaction is rolled back")
    assert not ProvisioningLog.objects.exists() and not StreamEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_second_worker_skips_a_destination_being_delivered(application, webhook, certificates):
    # Row locks that a second worker skips are PostgreSQL's; on SQLite (the demo) the claims are
    # IMMEDIATE transactions, so a second worker waits its turn and order holds all the same.
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    destination = webhook_destination(webhook, certificates)
    record_logs(application.job, 2)
    holding, release = threading.Event(), threading.Event()

    def hold():
        with psycopg.connect(database_url(connection.settings_dict)) as other, other.transaction():
            other.execute("SELECT id FROM provisioning_streamdestination WHERE id = %s FOR UPDATE", [destination.pk])
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        assert deliver_once(destination.pk) is None
        assert webhook.requests == [] and StreamEntry.objects.count() == 1
    finally:
        release.set()
        thread.join()
    assert deliver(destination.pk) == 2


def test_one_delivery_keeps_its_connection_to_a_webhook_from_claim_to_claim(application, webhook, certificates,
                                                                           settings):
    settings.STREAM_ENTRIES_PER_CLAIM = 1
    destination = webhook_destination(webhook, certificates)
    batches = [record_logs(application.job, 2) for _ in range(3)]

    assert deliver(destination.pk) == 6

    assert [line["id"] for line in webhook.lines()] == _ids([c for batch in batches for c in batch])
    assert len(webhook.requests) == 3 and webhook.connections == 1, "three claims, one TLS handshake"
    assert not StreamEntry.objects.exists()


def test_syslog_closes_its_connection_after_each_claim_as_that_is_its_confirmation(application, settings):
    settings.STREAM_ENTRIES_PER_CLAIM = 1
    with SyslogListener() as listener:
        destination = syslog_destination(listener)
        batches = [record_logs(application.job, 2) for _ in range(3)]
        assert deliver(destination.pk) == 6
        assert [body["id"] for body in listener.bodies()] == _ids([c for batch in batches for c in batch])
        assert listener.connections == 3
    assert not StreamEntry.objects.exists()


def test_a_destination_changed_since_its_connection_was_opened_gets_a_new_one(application, webhook, certificates):
    destination = webhook_destination(webhook, certificates)
    lane = Lane()
    try:
        first = lane.open(destination)
        assert lane.open(StreamDestination.objects.get(pk=destination.pk)) is first
        destination.token = "rotated-token-0123456789"
        destination.save()
        second = lane.open(destination)
        assert second is not first
        assert second.session.headers["Authorization"] == "Bearer rotated-token-0123456789"
    finally:
        lane.close()


def test_an_entry_naming_something_else_than_a_row_fails_as_its_own_error(application, webhook, certificates,
                                                                         fast_retries):
    destination = webhook_destination(webhook, certificates)
    record_logs(application.job, 1)
    StreamEntry.objects.update(refs=["not-a-change-id}"])

    assert deliver(destination.pk) == 0

    entry = StreamEntry.objects.get()
    assert entry.attempts == 1 and "badly formed" in entry.last_error and webhook.requests == []

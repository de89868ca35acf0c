"""The shapes on the wire, without a receiver: RFC 5424 messages and their framing, Splunk HEC events."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from provisioning.streaming.records import AUDIT_TYPE, LOG_TYPE, Record, hec_event, octet_counted, syslog_message

WHEN = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=timezone(timedelta(hours=2)))


def record(kind: str = LOG_TYPE, failed: bool = False) -> Record:
    return Record(kind, 42, WHEN, failed, {"type": kind, "id": 42, "source_display_name": "Zoë Müller"})


@pytest.mark.parametrize(("kind", "failed", "start"), [
    (LOG_TYPE, False, b"<134>1 2026-03-04T03:06:07.890123Z host provisioning-portal - provisioning-log - "),
    (LOG_TYPE, True, b"<132>1 2026-03-04T03:06:07.890123Z host provisioning-portal - provisioning-log - "),
    (AUDIT_TYPE, False, b"<134>1 2026-03-04T03:06:07.890123Z host provisioning-portal - audit-event - "),
    (AUDIT_TYPE, True, b"<132>1 2026-03-04T03:06:07.890123Z host provisioning-portal - audit-event - "),
])
def test_it_writes_rfc5424_headers_in_utc_with_a_severity_for_failures(kind, failed, start):
    message = syslog_message(record(kind, failed), hostname="host")
    assert message.startswith(start)
    body = message[len(start):]
    assert body.startswith("\ufeff".encode())  # UTF-8 MSG starts with a BOM (RFC 5424 section 6.4)
    assert json.loads(body[3:])["source_display_name"] == "Zoë Müller"


def test_it_frames_messages_by_their_length_in_octets():
    message = syslog_message(record(), hostname="host")
    framed = octet_counted(message)
    length, _, rest = framed.partition(b" ")
    assert int(length) == len(rest) == len(message) and rest == message


def test_it_wraps_rows_in_hec_events():
    event = json.loads(hec_event(record(AUDIT_TYPE), hostname="portal-1"))
    assert event == {"time": WHEN.timestamp(), "host": "portal-1", "source": "provisioning-portal",
                     "sourcetype": "provisioning:audit", "event": record(AUDIT_TYPE).body}


@pytest.mark.django_db
def test_a_log_row_is_sent_with_its_steps_and_changes_as_json_not_as_text(application):
    import uuid

    from django.utils import timezone as dj_timezone

    from provisioning.models import ProvisioningLog, StreamEntry
    from provisioning.streaming.records import records

    steps = [{"name": "Import user", "status": "Success", "description": "Retrieved Zoë \"Z\" Müller.",
              "details": {"accountEnabled": True, "groups": ["Sales", "日本"], "none": None}}]
    changes = [{"name": "givenName", "old": None, "new": "Zoë"}]
    row = ProvisioningLog.objects.create(job=application.job, activity_time=dj_timezone.now(), change_id=uuid.uuid4(),
                                         action="Update", status="Failure", steps=steps, modified_properties=changes)
    [sent] = records(StreamEntry(kind=StreamEntry.LOG, refs=[str(row.change_id)]))
    body = json.loads(sent.json())
    assert body["steps"] == steps and body["modified_properties"] == changes
    assert body["id"] == row.pk and body["job_id"] == application.job.job_id and sent.failed
    assert list(body)[:3] == ["type", "id", "change_id"], "the columns in their usual order"
    assert body["change_id"] == str(row.change_id) and body["application_id"] == str(application.pk)
    assert body["activity_time"] == row.activity_time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert sent.time == row.activity_time


@pytest.mark.django_db
def test_a_log_row_made_by_the_database_is_the_object_python_makes_of_it(application):
    """PostgreSQL writes the rows' JSON text; on another database Python makes the same object."""
    import uuid

    from django.utils import timezone as dj_timezone

    from provisioning.models import ProvisioningLog, StreamEntry
    from provisioning.streaming.records import _dumps, log_rows, unredacted

    rows = [ProvisioningLog.objects.create(
        job=application.job, activity_time=dj_timezone.now(), change_id=uuid.uuid4(), action="Create",
        status=status, source_display_name="Zoë \"Z\" Müller\t日本", recommendation="Try again.", duration_ms=12,
        steps=[{"name": "Export", "details": {"n": 1.5, "ok": False}}], modified_properties=[])
        for status in ("Success", "Failure")]
    refs = [str(row.change_id) for row in rows]

    made = [(kind, rid, when, failed, json.loads(text)) for kind, rid, when, failed, text
            in unredacted(StreamEntry(kind=StreamEntry.LOG, refs=refs))]
    by_python = [(LOG_TYPE, rid, when, failed, json.loads(_dumps(body)))
                 for rid, when, failed, body in log_rows(refs)]
    for values in made + by_python:
        values[4]["activity_time"] = datetime.fromisoformat(values[4]["activity_time"])
    assert made == by_python
    assert [values[3] for values in made] == [False, True]
    assert list(made[0][4]) == list(by_python[0][4]), "the same keys in the same order"


@pytest.mark.django_db
def test_the_rows_of_an_entry_are_redacted_together_exactly_as_each_would_be_alone(application):
    """One pass of redaction over all of an entry's rows gives each row's text as redacting it alone would,
    with secrets at the start and the end of the texts, across rows, and in non-ASCII rows."""
    import uuid

    from django.utils import timezone as dj_timezone

    from provisioning.audit import redact_text
    from provisioning.models import ProvisioningLog, StreamEntry
    from provisioning.streaming.records import records, unredacted

    texts = ["Bearer abcdefghijklmnop", "ok", "the answer was password=hunter2222", "sl.ABCDEFGHIJKLMNOPQRSTUV",
             "Zoë: eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", "refresh_token", ": x", "nothing secret at all", "bearer",
             "  plain words here  ", "client_secret\"", "=leaked-value"]
    rows = [ProvisioningLog.objects.create(
        job=application.job, activity_time=dj_timezone.now(), change_id=uuid.uuid4(), action="Update",
        status="Failure", error_reason=text, recommendation=texts[-1 - n], source_display_name=text)
        for n, text in enumerate(texts)]
    entry = StreamEntry(kind=StreamEntry.LOG, refs=[str(row.change_id) for row in rows])
    sent = records(entry)

    assert [r.id for r in sent] == [row.pk for row in rows]
    assert [r.json() for r in sent] == [redact_text(found[4]).encode() for found in unredacted(entry)]
    wire = b"\n".join(r.json() for r in sent)
    for secret in (b"abcdefghijklmnop", b"hunter2222", b"ABCDEFGHIJKLMNOP", b"c2lnbmF0dXJl"):
        assert secret not in wire
    assert [json.loads(r.json())["error_reason"] for r in sent][1] == "ok"

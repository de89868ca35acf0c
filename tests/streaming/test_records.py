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

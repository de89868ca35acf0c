"""What is sent: each row as one JSON object, and the envelopes around it (an RFC 5424 syslog
message, a Splunk HEC event). Pure functions of the rows' values."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from django.db.models import TextField
from django.db.models.functions import Cast

from ..audit import redact_text
from ..models import AuditEvent, ProvisioningLog
from .models import StreamEntry

LOG_TYPE = "provisioning_log"
AUDIT_TYPE = "audit_event"
APP_NAME = "provisioning-portal"
#: syslog facility local0 (RFC 5424 section 6.2.1)
FACILITY = 16
SEVERITY_WARNING, SEVERITY_INFO = 4, 6
BOM = "\ufeff"

_LOG_FIELDS = ("id", "change_id", "activity_time", "cycle_id", "initiated_by", "object_type", "action", "status",
               "error_code", "error_reason", "recommendation", "source_id", "source_display_name", "source_upn",
               "target_id", "target_email", "steps", "modified_properties", "duration_ms")
_AUDIT_FIELDS = ("id", "created_at", "actor_display", "activity", "category", "result", "application_id",
                 "target_type", "target_id", "target_display", "before", "after", "detail", "ip_address")


@dataclass(frozen=True)
class Record:
    """One row as sent: its type and id (what a receiver deduplicates on), its time, whether it
    tells of a failure, and the JSON object itself."""

    type: str
    id: int
    time: datetime
    failed: bool
    body: dict

    def json(self) -> bytes:
        return _redacted(self.body)


def _redacted(value) -> bytes:
    """JSON text with any secret that slipped into free text removed. Rows are redacted when written
    (audit events key by key); one pass over the text as it is sent keeps them so, at a fraction of
    the cost of walking each row again."""
    text = orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS).decode()
    return redact_text(text).encode()


#: a log row's JSON columns, read as the database's JSON text and sent as it is (parsing each row's steps to
#: write them again was a third of a delivery's time)
_LOG_JSON = ("steps", "modified_properties")


def records(entry: StreamEntry) -> list[Record]:
    """The rows an outbox entry names, oldest first; rows deleted since (retention) are left out."""
    if entry.kind == StreamEntry.LOG:
        as_text = {f"{name}_text": Cast(name, TextField()) for name in _LOG_JSON}
        rows = (ProvisioningLog.objects.filter(change_id__in=entry.refs).order_by("id")
                .values(*(f for f in _LOG_FIELDS if f not in _LOG_JSON), "job__job_id", "job__application_id",
                        **as_text))
        return list(_log_records(rows))
    rows = AuditEvent.objects.filter(pk__in=entry.refs).order_by("id").values(*_AUDIT_FIELDS)
    return list(_audit_records(rows))


def _log_records(rows: Iterable[dict]) -> Iterator[Record]:
    for row in rows:
        body = {"type": LOG_TYPE}
        for name in _LOG_FIELDS:
            body[name] = orjson.Fragment(row[f"{name}_text"]) if name in _LOG_JSON else row[name]
        body["job_id"], body["application_id"] = row["job__job_id"], row["job__application_id"]
        yield Record(LOG_TYPE, row["id"], row["activity_time"], row["status"] == "Failure", body)


def _audit_records(rows: Iterable[dict]) -> Iterator[Record]:
    for row in rows:
        body = {"type": AUDIT_TYPE, **row}
        yield Record(AUDIT_TYPE, row["id"], row["created_at"], row["result"] == "failure", body)


# ---------------------------------------------------------------------------- syslog (RFC 5424)
def _hostname() -> str:
    # HOSTNAME is 1-255 printable US-ASCII characters, no spaces
    name = "".join(c for c in socket.gethostname() if 33 <= ord(c) <= 126)
    return name[:255] or "-"


def syslog_message(record: Record, hostname: str | None = None) -> bytes:
    """``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`` with MSG the row's JSON in UTF-8
    (which RFC 5424 section 6.4 says starts with a BOM)."""
    severity = SEVERITY_WARNING if record.failed else SEVERITY_INFO
    stamp = record.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    msgid = "provisioning-log" if record.type == LOG_TYPE else "audit-event"
    header = f"<{FACILITY * 8 + severity}>1 {stamp} {hostname or _hostname()} {APP_NAME} - {msgid} -"
    return header.encode("ascii") + b" " + BOM.encode() + record.json()


def octet_counted(message: bytes) -> bytes:
    """RFC 6587 section 3.4.1 (and RFC 5425) framing: the message's length in octets, a space, the message."""
    return str(len(message)).encode("ascii") + b" " + message


# ---------------------------------------------------------------------------- Splunk HEC
def hec_event(record: Record, hostname: str | None = None) -> bytes:
    """A Splunk HTTP Event Collector event: ``{"time", "host", "source", "sourcetype", "event"}``."""
    sourcetype = "provisioning:log" if record.type == LOG_TYPE else "provisioning:audit"
    return _redacted({"time": round(record.time.timestamp(), 6), "host": hostname or _hostname(),
                      "source": APP_NAME, "sourcetype": sourcetype, "event": record.body})

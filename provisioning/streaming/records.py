"""What is sent: each row as one JSON object, and the envelopes around it (an RFC 5424 syslog
message, a Splunk HEC event). Pure functions of the rows' values."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from django.db import connection

from ..audit import might_hold_secret, redact_lines, redact_text
from ..constants import LogStatus
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
    tells of a failure, and the JSON object itself (``body``, or its text in ``line``)."""

    type: str
    id: int
    time: datetime
    failed: bool
    body: dict | None = None
    #: the row as redacted JSON text, when it was made with the other rows of its entry (see :func:`records`)
    line: bytes = b""

    def json(self) -> bytes:
        return self.line or _redacted(self.body)


def _redacted(value) -> bytes:
    """JSON text with any secret that slipped into free text removed. Rows are redacted when written
    (audit events key by key); one pass over the text as it is sent keeps them so, at a fraction of
    the cost of walking each row again."""
    return redact_text(_dumps(value)).encode()


def _dumps(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS).decode()


def records(entry: StreamEntry) -> list[Record]:
    """The rows an outbox entry names, oldest first; rows deleted since (retention) are left out."""
    return _with_lines(unredacted(entry))


def unredacted(entry: StreamEntry) -> list[tuple]:
    """(type, id, time, failed, JSON text) of the rows an entry names, before redaction."""
    if entry.kind == StreamEntry.LOG:
        if connection.vendor == "postgresql":
            return _log_texts(entry.refs)
        return [(LOG_TYPE, *values[:3], _dumps(values[3])) for values in log_rows(entry.refs)]
    rows = AuditEvent.objects.filter(pk__in=entry.refs).order_by("id").values(*_AUDIT_FIELDS)
    return [(AUDIT_TYPE, row["id"], row["created_at"], row["result"] == "failure",
             _dumps({"type": AUDIT_TYPE, **row})) for row in rows]


def _change_ids(refs: list[str]) -> list[str]:
    """The entry's change ids, each checked: an entry naming anything but a UUID fails as that entry's error."""
    return [str(uuid.UUID(str(ref))) for ref in refs]


def _log_texts(refs: list[str]) -> list[tuple]:
    """(type, id, time, failed, JSON text) of the log rows by change id, the text made by PostgreSQL
    (making each row's object in Python, and psycopg's values for it, were half of a delivery's time).
    One array parameter (``= ANY``) rather than an ``IN`` list of 500; the columns in their usual order,
    the time in UTC as ``...T12:34:56.789012Z``."""
    log, job = ProvisioningLog._meta, ProvisioningLog._meta.get_field("job").related_model._meta
    fields = []
    for name in _LOG_FIELDS:
        column = f'l."{log.get_field(name).column}"'
        if name == "activity_time":
            column = f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        fields.append(f"'{name}', {column}")
    fields += ["'job_id', j.\"job_id\"", "'application_id', j.\"application_id\""]
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT l."id", l."activity_time", l."status" = %s, '
            f"json_build_object('type', '{LOG_TYPE}', {', '.join(fields)})::text "
            f'FROM "{log.db_table}" l '
            f'JOIN "{job.db_table}" j ON j."{job.pk.column}" = l."{log.get_field("job").column}" '
            # the ids as one array literal (quoting 500 values one by one was a twentieth of a delivery)
            f'WHERE l."change_id" = ANY(%s::uuid[]) ORDER BY l."id"',
            [LogStatus.FAILURE, "{" + ",".join(_change_ids(refs)) + "}"])
        return [(LOG_TYPE, *row) for row in cursor.fetchall()]


def log_rows(refs: list[str]) -> Iterator[tuple]:
    """(id, time, failed, body) of the log rows by change id, each object made in Python (on a database other
    than PostgreSQL)."""
    rows = (ProvisioningLog.objects.filter(change_id__in=_change_ids(refs)).order_by("id")
            .values_list(*_LOG_FIELDS, "job__job_id", "job__application_id"))
    when, status, job_at = _LOG_FIELDS.index("activity_time"), _LOG_FIELDS.index("status"), len(_LOG_FIELDS)
    for row in rows:
        body = {"type": LOG_TYPE, **dict(zip(_LOG_FIELDS, row[:job_at], strict=True)), "job_id": row[job_at],
                "application_id": row[job_at + 1]}
        yield row[0], row[when], row[status] == LogStatus.FAILURE, body


def _with_lines(found: list[tuple]) -> list[Record]:
    """Records of (type, id, time, failed, JSON text), each text redacted as it would be alone, but looked
    at together (a look per row cost more than making the text): only rows that may hold a secret are
    redacted."""
    texts = [values[4] for values in found]
    joined = "\n".join(texts)  # JSON text has no raw line break: one line per row
    if might_hold_secret(joined):
        texts = redact_lines(texts)
    return [Record(*values[:4], line=text.encode()) for values, text in zip(found, texts, strict=True)]


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
    # the row's own redacted text as the event; the envelope around it holds nothing secret
    return orjson.dumps({"time": round(record.time.timestamp(), 6), "host": hostname or _hostname(),
                         "source": APP_NAME, "sourcetype": sourcetype, "event": orjson.Fragment(record.json())})

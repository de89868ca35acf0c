"""What is sent: each row as one JSON object, and the envelopes around it (an RFC 5424 syslog
message, a Splunk HEC event). Pure functions of the rows' values."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from django.db import connection

from ..audit import might_hold_secret, redact_lines, redact_text
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
    #: the body as redacted JSON text, when it was made with the other rows of its entry (see :func:`records`)
    line: bytes = b""

    def json(self) -> bytes:
        return self.line or _redacted(self.body)


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
        found = _log_records(_log_rows(entry.refs))
    else:
        found = _audit_records(AuditEvent.objects.filter(pk__in=entry.refs).order_by("id").values(*_AUDIT_FIELDS))
    return _with_lines(list(found))


def _log_rows(change_ids: list[str]) -> Iterator[tuple]:
    """The log rows by change id, as plain tuples: ``_LOG_FIELDS``, then the job's id and application.
    One array parameter (``= ANY``) rather than an ``IN`` list of 500 (building that query, and the
    ORM's rows, were a third of a delivery's time); JSON columns as the database's own text."""
    log, job = ProvisioningLog._meta, ProvisioningLog._meta.get_field("job").related_model._meta
    columns = ", ".join(f'l."{name}"::text' if name in _LOG_JSON else f'l."{log.get_field(name).column}"'
                        for name in _LOG_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {columns}, j."job_id", j."application_id" FROM "{log.db_table}" l '
            f'JOIN "{job.db_table}" j ON j."{job.pk.column}" = l."{log.get_field("job").column}" '
            # the ids as one array literal (quoting 500 values one by one was a twentieth of a delivery), each
            # checked first: an entry naming anything but a UUID fails as that entry's error
            f'WHERE l."change_id" = ANY(%s::uuid[]) ORDER BY l."id"',
            ["{" + ",".join(str(uuid.UUID(str(ref))) for ref in change_ids) + "}"])
        yield from cursor.fetchall()


def _log_records(rows: Iterable[tuple]) -> Iterator[tuple]:
    named = tuple(enumerate(_LOG_FIELDS))
    json_columns = {i for i, name in named if name in _LOG_JSON}
    when, status, job_at = _LOG_FIELDS.index("activity_time"), _LOG_FIELDS.index("status"), len(_LOG_FIELDS)
    for row in rows:
        body = {"type": LOG_TYPE}
        for i, name in named:
            value = row[i]
            body[name] = orjson.Fragment(value) if i in json_columns and value is not None else value
        body["job_id"], body["application_id"] = row[job_at], row[job_at + 1]
        yield LOG_TYPE, row[0], row[when], row[status] == "Failure", body


def _audit_records(rows: Iterable[dict]) -> Iterator[tuple]:
    for row in rows:
        body = {"type": AUDIT_TYPE, **row}
        yield AUDIT_TYPE, row["id"], row["created_at"], row["result"] == "failure", body


def _with_lines(found: list[tuple]) -> list[Record]:
    """Records of (type, id, time, failed, body), each with its JSON text, redacted as each row's text alone
    would be, but looked at together (a look per row cost more than making the text): only rows that may
    hold a secret are redacted."""
    texts = [orjson.dumps(values[4], option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS) for values in found]
    joined = b"\n".join(texts).decode()  # the JSON text has no raw line break: one line per row
    if might_hold_secret(joined):
        texts = [line.encode() for line in redact_lines(joined.split("\n"))]
    return [Record(*values, line=line) for values, line in zip(found, texts, strict=True)]


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

"""Downloads of the provisioning logs, as Entra offers them: a JSON array of
objects shaped like Graph's ``provisioningObjectSummary``, or a zip of three CSV
files joined on the change ID (the logs, their provisioning steps, their
modified properties).

Both are generators of bytes for a streaming response: rows are read from the
database in chunks and written out as they come, so a download of a million rows
never holds more than a chunk in memory.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .constants import LogStatus
from .models import Application, ProvisioningLog

#: Rows fetched from the database at a time.
CHUNK_ROWS = 2000
#: Bytes gathered before they are handed to the response.
FLUSH_BYTES = 64 * 1024

SOURCE_SYSTEM = "Microsoft Entra ID"
SYNC_FABRIC = "Microsoft.Azure.SyncFabric"

LOGS_FILE = "ProvisioningLogs.csv"
STEPS_FILE = "ProvisioningLogs_ProvisioningSteps.csv"
PROPERTIES_FILE = "ProvisioningLogs_ModifiedProperties.csv"

LOG_COLUMNS = [
    "Change ID", "Date (UTC)", "Cycle ID", "Job ID", "Initiated By", "Object Type", "Action", "Status",
    "Error Code", "Error Reason", "Recommendation", "Source System", "Source ID", "Source Display Name",
    "Source UPN", "Target System", "Target ID", "Target Email", "Duration (ms)",
]
STEP_COLUMNS = ["Change ID", "Step", "Name", "Type", "Status", "Description", "Details"]
PROPERTY_COLUMNS = ["Change ID", "Name", "Old Value", "New Value"]


# ---------------------------------------------------------------------- shapes
def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _camel(value: str) -> str:
    return value[:1].lower() + value[1:] if value else value


def step_type(name: str) -> str:
    """Graph's provisioningStepType for one of the engine's step names."""
    lowered = name.lower()
    if lowered.startswith("import"):
        return "import"
    if "in scope" in lowered:
        return "scoping"
    if lowered.startswith("match"):
        return "matching"
    if lowered.startswith("perform"):
        return "export"
    return "processing"


def _initiator(initiated_by: str) -> dict:
    if not initiated_by or initiated_by == SYNC_FABRIC:
        return {"id": "", "displayName": initiated_by or SYNC_FABRIC, "initiatorType": "system"}
    return {"id": "", "displayName": initiated_by, "initiatorType": "user" if "@" in initiated_by else "application"}


def graph_summary(log: ProvisioningLog, *, application: Application, job_id: str) -> dict:
    """One row as Graph's provisioningObjectSummary, as far as the stored fields allow."""
    failed = log.status != LogStatus.SUCCESS and (log.error_code or log.error_reason)
    return {
        "id": str(log.change_id),
        "activityDateTime": _utc(log.activity_time),
        "tenantId": settings.ENTRA_TENANT_ID,
        "jobId": job_id,
        "cycleId": str(log.cycle_id) if log.cycle_id else None,
        "changeId": str(log.change_id),
        "provisioningAction": _camel(log.action),
        "durationInMilliseconds": log.duration_ms,
        "initiatedBy": _initiator(log.initiated_by),
        "servicePrincipal": {"id": application.service_principal_id, "displayName": application.display_name},
        "sourceSystem": {"id": None, "displayName": SOURCE_SYSTEM, "details": {}},
        "targetSystem": {
            "id": application.app_id or None, "displayName": application.display_name,
            "details": {"ApplicationId": application.app_id, "ServicePrincipalId": application.service_principal_id,
                        "ServicePrincipalDisplayName": application.display_name},
        },
        "sourceIdentity": {
            "id": log.source_id, "displayName": log.source_display_name, "identityType": log.object_type.title(),
            "details": {"UserPrincipalName": log.source_upn} if log.source_upn else {},
        },
        "targetIdentity": {
            "id": log.target_id, "displayName": log.target_email or log.source_display_name,
            "identityType": log.object_type.title(),
            "details": {"Email": log.target_email} if log.target_email else {},
        },
        "modifiedProperties": [
            {"displayName": prop.get("name", ""), "oldValue": _text(prop.get("old")),
             "newValue": _text(prop.get("new"))}
            for prop in log.modified_properties or []
        ],
        "provisioningSteps": [
            {"name": step.get("name", ""), "provisioningStepType": step_type(step.get("name", "")),
             "status": _camel(step.get("status", "")), "description": step.get("description", ""),
             "details": step.get("details") or {}}
            for step in log.steps or []
        ],
        "provisioningStatusInfo": {
            "status": _camel(log.status),
            "errorInformation": {
                "errorCode": log.error_code, "reason": log.error_reason, "recommendedAction": log.recommendation,
                "additionalDetails": None,
                "errorCategory": "NonServiceFailure" if log.status == LogStatus.FAILURE else None,
            } if failed else None,
        },
    }


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@contextmanager
def _snapshot():
    """On PostgreSQL, one read-only REPEATABLE READ transaction around a download.

    ``.iterator()`` reads through a server-side cursor. Outside a transaction
    Django declares it WITH HOLD, and PostgreSQL then computes the whole result
    before handing over the first row (seconds, and a temporary file, for a
    million rows); inside one, rows flow as the index is walked. Repeatable read
    also lets the three passes of the CSV download see the same rows. SQLite
    reads lazily without this, and a transaction there would take the write lock
    (the portal opens them IMMEDIATE), so it is left alone.
    """
    if connection.vendor != "postgresql":
        yield
        return
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


# ---------------------------------------------------------------------- JSON
def json_stream(logs: QuerySet[ProvisioningLog], application: Application, job_id: str) -> Iterator[bytes]:
    """``[`` + one object per row + ``]``, in chunks of about ``FLUSH_BYTES``."""
    buffer: list[str] = ["["]
    size = 1
    first = True
    with _snapshot():
        for log in logs.iterator(chunk_size=CHUNK_ROWS):
            text = json.dumps(graph_summary(log, application=application, job_id=job_id), ensure_ascii=False,
                              separators=(",", ":"))
            buffer.append(text if first else "," + text)
            first = False
            size += len(text) + 1
            if size >= FLUSH_BYTES:
                yield "".join(buffer).encode()
                buffer, size = [], 0
    buffer.append("]")
    yield "".join(buffer).encode()


# ---------------------------------------------------------------------- CSV in a zip
_FORMULA = re.compile(r"^[=+\-@\t\r]")


def safe_cell(value) -> str:
    """A text cell that a spreadsheet will not run as a formula (names come from the directory)."""
    if value is None:
        return ""
    text = _text(value) or ""
    return "'" + text if _FORMULA.match(text) else text


def log_row(log: ProvisioningLog, *, application: Application, job_id: str) -> list:
    return [
        str(log.change_id), _utc(log.activity_time), str(log.cycle_id or ""), job_id, safe_cell(log.initiated_by),
        log.object_type, log.action, log.status, safe_cell(log.error_code), safe_cell(log.error_reason),
        safe_cell(log.recommendation), SOURCE_SYSTEM, log.source_id, safe_cell(log.source_display_name),
        safe_cell(log.source_upn), safe_cell(application.display_name), log.target_id, safe_cell(log.target_email),
        log.duration_ms,
    ]


def step_rows(log: ProvisioningLog) -> Iterator[list]:
    for number, step in enumerate(log.steps or [], start=1):
        details = step.get("details") or {}
        yield [str(log.change_id), number, safe_cell(step.get("name", "")), step_type(step.get("name", "")),
               step.get("status", ""), safe_cell(step.get("description", "")),
               safe_cell(json.dumps(details, ensure_ascii=False, sort_keys=True)) if details else ""]


def property_rows(log: ProvisioningLog) -> Iterator[list]:
    for prop in log.modified_properties or []:
        yield [str(log.change_id), safe_cell(prop.get("name", "")), safe_cell(prop.get("old")), safe_cell(prop.get("new"))]


class _Sink:
    """A write-only, unseekable file for :mod:`zipfile`: what the archive writes
    is kept until the generator hands it to the response."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self.size = 0

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        self.size = 0
        return data


def _csv_entry(archive: zipfile.ZipFile, sink: _Sink, name: str, header: list[str],
               rows: Iterable[list]) -> Iterator[bytes]:
    info = zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    # The byte-order mark tells spreadsheets the file is UTF-8 (names are not all ASCII).
    text.write("\ufeff")
    writer.writerow(header)
    # force_zip64: the size is not known in advance and may pass 4 GiB.
    with archive.open(info, "w", force_zip64=True) as entry:
        for row in rows:
            writer.writerow(row)
            if text.tell() >= FLUSH_BYTES:
                entry.write(text.getvalue().encode())
                text.seek(0)
                text.truncate()
                if sink.size:
                    yield sink.take()
        entry.write(text.getvalue().encode())
    yield sink.take()


#: The columns the logs file reads (not the steps and properties, which can be large).
_LOG_FIELDS = [
    "change_id", "activity_time", "cycle_id", "initiated_by", "object_type", "action", "status", "error_code",
    "error_reason", "recommendation", "source_id", "source_display_name", "source_upn", "target_id",
    "target_email", "duration_ms",
]


def csv_zip_stream(logs: QuerySet[ProvisioningLog], application: Application, job_id: str) -> Iterator[bytes]:
    """A zip of the three CSV files, written as it is sent.

    The three files are written one after the other, each from its own pass over
    the rows; the passes are pinned to the rows that existed when the download
    started (ids only grow; on PostgreSQL the passes also share one snapshot),
    so a cycle writing meanwhile cannot make the files disagree.
    """
    sink = _Sink()
    with _snapshot():
        newest = ProvisioningLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
        pinned = logs.filter(id__lte=newest)

        def each(fields: list[str]) -> Iterator[ProvisioningLog]:
            return pinned.only(*fields).iterator(chunk_size=CHUNK_ROWS)

        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            yield from _csv_entry(archive, sink, LOGS_FILE, LOG_COLUMNS,
                                  (log_row(log, application=application, job_id=job_id)
                                   for log in each(_LOG_FIELDS)))
            yield from _csv_entry(archive, sink, STEPS_FILE, STEP_COLUMNS,
                                  (row for log in each(["change_id", "activity_time", "steps"])
                                   for row in step_rows(log)))
            yield from _csv_entry(archive, sink, PROPERTIES_FILE, PROPERTY_COLUMNS,
                                  (row for log in each(["change_id", "activity_time", "modified_properties"])
                                   for row in property_rows(log)))
    yield sink.take()


def download_name(application: Application, extension: str) -> str:
    """``ProvisioningLogs_<application>_<date>.<extension>``, safe as a file name."""
    name = re.sub(r"[^\w.-]+", "-", application.display_name).strip("-.") or "application"
    day = timezone.localdate().isoformat()
    return f"ProvisioningLogs_{name}_{day}.{extension}"


"""The portal's records in Graph's resource shapes: ``synchronizationJob`` and ``directoryAudit``
(``provisioningObjectSummary`` is provisioning.log_export.graph_summary, shared with the downloads)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from provisioning.constants import Action, CycleStatus, JobState, LogStatus, ObjectType, ProvisioningMode
from provisioning.log_export import _utc
from provisioning.models import AuditEvent, ProvisioningJob, SyncCycle
from provisioning.targets import package_of

from .configuration import OBJECT_NAMES, duration

#: Graph's synchronizationQuarantineReason for each of the portal's reasons (provisioning.metrics)
QUARANTINE_REASONS = {"credentials": "EncounteredQuarantineException", "configuration":
                      "EncounteredQuarantineException", "staged": "TooManyDeletes",
                      "failures": "EncounteredEscrowProportionThreshold", "other": "Unknown"}
_EXECUTION_STATES = {CycleStatus.SUCCEEDED: "Succeeded", CycleStatus.COMPLETED_WITH_FAILURES: "EntryLevelErrors",
                     CycleStatus.STAGED: "Succeeded"}


def _time(moment: datetime | None) -> str | None:
    return _utc(moment) if moment else None


def _execution(cycle: SyncCycle | None) -> dict | None:
    """A finished cycle as Graph's synchronizationTaskExecution."""
    if cycle is None:
        return None
    exported = sum(count for action, by_status in (cycle.counters or {}).items() if action != Action.SKIP
                   for status, count in by_status.items() if status == LogStatus.SUCCESS)
    escrowed = sum(by_status.get(LogStatus.FAILURE, 0) for by_status in (cycle.counters or {}).values())
    failed = cycle.status not in _EXECUTION_STATES
    return {
        "activityIdentifier": str(cycle.cycle_id),
        "countEntitled": cycle.objects_in_scope,
        "countEntitledForProvisioning": cycle.objects_in_scope,
        "countEscrowed": escrowed,
        "countEscrowedRaw": escrowed,
        "countExported": exported,
        "countExports": exported,
        "countImported": cycle.objects_processed,
        "countImportedDeltas": cycle.objects_processed if cycle.kind == "incremental" else 0,
        "countImportedReferenceDeltas": 0,
        "state": "Failed" if failed else _EXECUTION_STATES[cycle.status],
        "error": {"code": cycle.status, "message": cycle.error, "tenantActionable": True} if failed else None,
        "timeBegan": _time(cycle.started_at),
        "timeEnded": _time(cycle.finished_at),
    }


def _status_code(job: ProvisioningJob, last: SyncCycle | None) -> str:
    """Graph's synchronizationStatusCode: NotConfigured, NotRun, Active, Paused, Quarantine."""
    if job.mode != ProvisioningMode.AUTOMATIC or not job.is_authorized:
        return "NotConfigured"
    if job.enabled and job.state == JobState.QUARANTINED:
        return "Quarantine"
    if job.enabled:
        return "Active"
    return "Paused" if last is not None else "NotRun"


def _quarantine(job: ProvisioningJob) -> dict | None:
    if not job.quarantine_level:
        return None
    kind = getattr(job, "quarantine_kind", "") or "other"
    return {
        "currentBegan": _time(job.quarantined_at),
        "nextAttempt": _time(job.next_run_at),
        "reason": QUARANTINE_REASONS.get(kind, "Unknown"),
        "seriesBegan": _time(job.quarantined_at),
        "seriesCount": job.quarantine_level,
        "error": {"code": job.quarantine_code, "message": job.quarantine_reason, "tenantActionable": True},
    }


def synchronization_job(job: ProvisioningJob) -> dict:
    """A job as Graph's synchronizationJob."""
    cycles = SyncCycle.objects.filter(job=job)
    current = cycles.filter(status=CycleStatus.RUNNING).first()
    finished = cycles.exclude(status__in=[CycleStatus.RUNNING, CycleStatus.INTERRUPTED])
    last = finished.first()
    last_success = finished.filter(status__in=[CycleStatus.SUCCEEDED, CycleStatus.COMPLETED_WITH_FAILURES]).first()
    with_exports = next((c for c in finished.filter(status__in=[CycleStatus.SUCCEEDED,
                                                                 CycleStatus.COMPLETED_WITH_FAILURES])[:20]
                         if any(a != Action.SKIP for a in (c.counters or {}))), None)
    failures = 0
    for cycle in finished[:50]:
        if cycle.status not in (CycleStatus.FAILED, CycleStatus.STOPPED):
            break
        failures += 1
    links = dict(job.links.values_list("object_type").annotate(n=Count("id")).values_list("object_type", "n"))
    steady = finished.filter(status=CycleStatus.SUCCEEDED, kind="incremental").first()
    first_steady = finished.filter(status=CycleStatus.SUCCEEDED, kind="incremental").order_by("started_at").first()
    package = package_of(job)
    return {
        "id": job.job_id,
        "templateId": package.job_template,
        "schedule": {
            "expiration": None,
            "interval": duration(job.interval_minutes),
            "state": "Active" if job.enabled else ("Paused" if last is not None else "Disabled"),
        },
        "status": {
            "code": _status_code(job, last),
            "countSuccessiveCompleteFailures": failures,
            "escrowsPruned": False,
            "lastExecution": _execution(last),
            "lastSuccessfulExecution": _execution(last_success),
            "lastSuccessfulExecutionWithExports": _execution(with_exports),
            "progress": [{
                "completedUnits": current.objects_processed, "totalUnits": current.objects_in_scope,
                "units": "Objects", "progressObservationDateTime": _time(timezone.now()),
            }] if current else [],
            "quarantine": _quarantine(job),
            "steadyStateFirstAchievedTime": _time(first_steady.finished_at if first_steady else None),
            "steadyStateLastAchievedTime": _time(steady.finished_at if steady else None),
            "synchronizedEntryCountByType": [{"key": OBJECT_NAMES[object_type], "value": links.get(object_type, 0)}
                                             for object_type in (ObjectType.USER, ObjectType.GROUP)],
            "troubleshootingUrl": None,
        },
        "synchronizationJobSettings": [
            {"name": "Provisioning Mode", "value": job.get_mode_display()},
            {"name": "Scope", "value": job.get_scope_display()},
            {"name": "Prevent accidental deletion", "value": str(job.prevent_accidental_deletion)},
            {"name": "Accidental deletion threshold", "value": str(job.deletion_threshold)},
        ],
    }


def directory_audit(event: AuditEvent) -> dict:
    """One of the portal's audit events as Graph's directoryAudit."""
    return {
        "id": str(event.pk),
        "activityDateTime": _time(event.created_at),
        "activityDisplayName": event.activity,
        "category": event.category,
        "correlationId": None,
        "loggedByService": "Provisioning portal",
        "operationType": "Update",
        "result": event.result,
        "resultReason": event.detail,
        "initiatedBy": {"user": {"id": str(event.actor_id) if event.actor_id else None,
                                 "displayName": event.actor_display or "System",
                                 "userPrincipalName": event.actor_display or None,
                                 "ipAddress": event.ip_address}},
        "targetResources": [{
            "id": event.target_id, "displayName": event.target_display, "type": event.target_type,
            "modifiedProperties": [{"displayName": name, "oldValue": _text(old), "newValue": _text(new)}
                                   for name, old, new in event.changes()],
        }],
        "additionalDetails": [{"key": "applicationId", "value": str(event.application_id)}]
        if event.application_id else [],
    }


def _text(value) -> str | None:
    import json

    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)

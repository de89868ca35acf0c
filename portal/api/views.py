"""The API's resources, as Microsoft Graph v1.0 names them: a script written for Graph's synchronization
API needs only another base URL and token. Views validate and call the services the portal's pages call
(provisioning.jobs for every change of a job); nothing here writes job state itself."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from provisioning import audit, jobs
from provisioning.connectors import errors as connector_errors
from provisioning.constants import AuditActivity, AuditResult
from provisioning.log_export import graph_summary
from provisioning.logs import Cursor, LogPage, older_than
from provisioning.models import AuditEvent, OnDemandRun, ProvisioningJob, ProvisioningLog
from provisioning.numbers import is_whole_number

from ..permissions import READER_REFUSED, is_reader, visible_applications
from . import configuration, operations, shapes
from .errors import GraphError
from .models import ConfigurationVersion
from .odata import AUDIT_PROPERTIES, FilterError, parse_filter
from .permissions import can_write, refusal
from .versions import differences

TAG_JOBS = ["synchronizationJob"]
TAG_SCHEMA = ["synchronizationSchema"]
TAG_LOGS = ["auditLogs"]
DEFAULT_TOP = 50


def _base(request: Request) -> str:
    return request.build_absolute_uri("/api/v1.0")


def _jobs_of(request: Request, service_principal_id: str):
    """The jobs of the service principal's applications that the caller may see (a 404 for the others, as
    for an id that does not exist: the answer does not tell which)."""
    jobs_ = ProvisioningJob.objects.select_related("application").filter(
        application__service_principal_id=service_principal_id, application__deleted_at__isnull=True,
        application__in=visible_applications(request.user))
    if not service_principal_id or not jobs_.exists():
        raise GraphError(404, f"Resource '{service_principal_id}' does not exist or one of its queried reference-"
                              "property objects are not present.")
    return jobs_


def _job(request: Request, service_principal_id: str, job_id: str, *, write: bool = False) -> ProvisioningJob:
    """The job, if the caller may see it; with ``write``, only if the caller may change it."""
    job = _jobs_of(request, service_principal_id).filter(job_id=job_id).first()
    if job is None:
        raise GraphError(404, f"The synchronization job '{job_id}' does not exist in service principal "
                              f"'{service_principal_id}'.")
    if write and not can_write(request, job.application):
        raise GraphError(403, refusal(request, job.application))
    return job


def _actor(request: Request) -> jobs.Actor:
    return jobs.Actor.of(request)


def _body(request: Request) -> dict:
    data = request.data
    if data in (None, "") or data == {}:
        return {}
    if not isinstance(data, dict):
        raise GraphError(400, "The body must be a JSON object.")
    return data


def _refused(exc: jobs.JobError) -> GraphError:
    return GraphError(409, str(exc))


# ---------------------------------------------------------------------------- jobs
@extend_schema(tags=TAG_JOBS, summary="List the synchronization jobs of a service principal",
               operation_id="servicePrincipals_synchronization_jobs_list",
               responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
@api_view(["GET"])
def job_list(request: Request, sp_id: str) -> Response:
    found = _jobs_of(request, sp_id)
    return Response({
        "@odata.context": f"{_base(request)}/$metadata#servicePrincipals('{sp_id}')/synchronization/jobs",
        "value": [shapes.synchronization_job(job) for job in found.order_by("application__created_at")],
    })


@extend_schema(tags=TAG_JOBS, summary="Get a synchronization job", responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
def job_detail(request: Request, sp_id: str, job_id: str) -> Response:
    job = _job(request, sp_id, job_id)
    return Response({"@odata.context": f"{_base(request)}/$metadata#servicePrincipals('{sp_id}')/synchronization/"
                                       "jobs/$entity", **shapes.synchronization_job(job)})


@extend_schema(tags=TAG_JOBS, summary="Start the job (Provisioning Status On; a cycle now)", request=None,
               responses={204: None, 409: OpenApiTypes.OBJECT})
@api_view(["POST"])
def job_start(request: Request, sp_id: str, job_id: str) -> Response:
    job = _job(request, sp_id, job_id, write=True)
    try:
        jobs.start(job, _actor(request))
    except jobs.JobError as exc:
        raise _refused(exc) from None
    return Response(status=204)


@extend_schema(tags=TAG_JOBS, summary="Pause the job (Provisioning Status Off)", request=None,
               responses={204: None})
@api_view(["POST"])
def job_pause(request: Request, sp_id: str, job_id: str) -> Response:
    job = _job(request, sp_id, job_id, write=True)
    jobs.stop(job, _actor(request))
    return Response(status=204)


def _reset_scope(body: dict) -> set[str]:
    criteria = body.get("criteria")
    if criteria is None:
        return set()
    if not isinstance(criteria, dict):
        raise GraphError(400, "criteria must be an object with resetScope.", target="criteria")
    scope = criteria.get("resetScope") or ""
    if not isinstance(scope, str):
        raise GraphError(400, "resetScope is a comma-separated list of flags.", target="criteria.resetScope")
    try:
        return operations.parse_reset_scope(scope)
    except operations.OperationError as error:
        raise GraphError(400, str(error), target="criteria.resetScope") from None


@extend_schema(tags=TAG_JOBS, summary="Restart provisioning (criteria.resetScope)", request=OpenApiTypes.OBJECT,
               responses={204: None, 400: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
               examples=[OpenApiExample("Restart provisioning", request_only=True, value={
                   "criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}}),
                   OpenApiExample("Run the staged deletions", request_only=True, value={
                       "criteria": {"resetScope": "ForceDeletes"}})])
@api_view(["POST"])
def job_restart(request: Request, sp_id: str, job_id: str) -> Response:
    """Empty, None, Watermark, Escrows, QuarantineState or Full: the portal's Restart provisioning (delta links,
    escrows and quarantine cleared; the next cycle reads everything). ForceDeletes: also let the next cycle run
    the deletions that accidental-deletion prevention staged."""
    job = _job(request, sp_id, job_id, write=True)
    flags = _reset_scope(_body(request))
    try:
        operations.restart(job, _actor(request), flags)
    except jobs.JobError as exc:
        raise GraphError(409, str(exc), target="criteria.resetScope" if "ForceDeletes" in flags else None) from None
    return Response(status=204)


def _subject(body: dict) -> tuple[str, str]:
    parameters = body.get("parameters")
    if not isinstance(parameters, list) or len(parameters) != 1 or not isinstance(parameters[0], dict):
        raise GraphError(400, "parameters must hold one synchronizationJobApplicationParameters.",
                         target="parameters")
    subjects = parameters[0].get("subjects")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise GraphError(400, "subjects must hold the one user or group to provision.",
                         target="parameters[0].subjects")
    subject = subjects[0]
    object_type = configuration.OBJECT_TYPES.get(subject.get("objectTypeName"))
    object_id = subject.get("objectId")
    if object_type is None:
        raise GraphError(400, "objectTypeName is User or Group.", target="parameters[0].subjects[0].objectTypeName")
    if not isinstance(object_id, str) or not object_id.strip() or len(object_id) > 64:
        raise GraphError(400, "objectId is the object id of the user or group in Microsoft Entra ID.",
                         target="parameters[0].subjects[0].objectId")
    return object_type, object_id.strip()


def _on_demand_result(request: Request, run: OnDemandRun) -> dict:
    return {
        "@odata.context": f"{_base(request)}/$metadata#microsoft.graph.stringKeyStringValuePair",
        "key": "Microsoft.Identity.Health.CPP.Common.DataContracts.SyncFabric.StatusInfo",
        "value": json.dumps({
            "runId": run.pk, "status": run.status, "error": run.error or None,
            "provisioningSteps": [{"name": step.get("name", ""), "identity": step.get("identity", ""),
                                   "status": step.get("status", ""), "description": step.get("description", ""),
                                   "details": step.get("details") or {}} for step in run.steps],
            "logIds": run.log_ids,
        }),
    }


@extend_schema(tags=TAG_JOBS, summary="Provision one user or group now", request=OpenApiTypes.OBJECT,
               responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
               examples=[OpenApiExample("One user", request_only=True, value={"parameters": [{
                   "subjects": [{"objectId": "<the user's object id>", "objectTypeName": "User"}],
                   "ruleId": "dropbox"}]})])
@api_view(["POST"])
def job_provision_on_demand(request: Request, sp_id: str, job_id: str) -> Response:
    """Graph's parameters shape; answers with the steps the portal's Provision on demand page shows, once the
    worker is done (up to API_ON_DEMAND_WAIT_SECONDS); a run still going then answers 202 with its id."""
    job = _job(request, sp_id, job_id, write=True)
    object_type, object_id = _subject(_body(request))
    rule = request.data.get("parameters")[0].get("ruleId")
    if rule not in (None, "", configuration.schema_body(job)["synchronizationRules"][0]["id"]):
        raise GraphError(400, f"ruleId {rule!r} is not a rule of this job's schema.", target="parameters[0].ruleId")
    try:
        run = jobs.provision_on_demand(job, _actor(request), object_type=object_type, source_id=object_id)
    except jobs.JobError as exc:
        raise _refused(exc) from None
    run = operations.wait_for(run, settings.API_ON_DEMAND_WAIT_SECONDS)
    return Response(_on_demand_result(request, run), status=200 if run.status != "running" else 202)


@extend_schema(tags=TAG_JOBS, summary="Test the stored credentials (Test Connection)", request=OpenApiTypes.OBJECT,
               responses={204: None, 400: OpenApiTypes.OBJECT},
               examples=[OpenApiExample("Saved credentials", request_only=True, value={"useSavedCredentials": True})])
@api_view(["POST"])
def job_validate_credentials(request: Request, sp_id: str, job_id: str) -> Response:
    job = _job(request, sp_id, job_id, write=True)
    body = _body(request)
    if body.get("credentials"):
        raise GraphError(400, "Credentials are not sent through the API: authorize the portal on the Provisioning "
                              "page, then validate with useSavedCredentials.", target="credentials")
    if body.get("useSavedCredentials") is False:
        raise GraphError(400, "Only the saved credentials can be validated: set useSavedCredentials to true.",
                         target="useSavedCredentials")
    if not job.is_authorized:
        raise GraphError(400, "No credentials are saved: authorize the portal on the Provisioning page first.",
                         code="CredentialValidationUnavailable")
    try:
        result = jobs.test_connection(job)
    except connector_errors.ConfigurationError as exc:  # the portal's own settings: nothing tested, nor recorded
        raise GraphError(400, f"{exc.message} {exc.recommendation}".strip(),
                         code="CredentialValidationUnavailable") from None
    audit.record(AuditActivity.UPDATE_SETTINGS, request=request, application=job.application,
                 target=job.application, result=AuditResult.SUCCESS if result.ok else AuditResult.FAILURE,
                 detail=f"Test Connection (validateCredentials): {result.message}")
    if not result.ok:
        raise GraphError(400, f"{result.message} {result.recommendation}".strip(),
                         code="CredentialValidationUnavailable")
    return Response(status=204)


# ---------------------------------------------------------------------------- schema
def _invalid(error: configuration.ConfigurationError) -> GraphError:
    first = error.errors[0] if error.errors else configuration.Problem("", str(error))
    return GraphError(400, f"{first.target}: {first.message}" if first.target else first.message,
                      target=first.target or None,
                      details=[{"code": "InvalidValue", "target": p.target, "message": p.message}
                               for p in error.errors])


@extend_schema(tags=TAG_SCHEMA, methods=["GET"], summary="The job's synchronizationSchema",
               responses={200: OpenApiTypes.OBJECT})
@extend_schema(tags=TAG_SCHEMA, methods=["PUT"], summary="Replace the attribute mappings, scoping filters and object "
               "actions (checked as the mapping editor checks them; all saved or none)",
               request=OpenApiTypes.OBJECT, responses={204: None, 400: OpenApiTypes.OBJECT})
@api_view(["GET", "PUT"])
def job_schema(request: Request, sp_id: str, job_id: str) -> Response:
    job = _job(request, sp_id, job_id, write=request.method != "GET")
    if request.method == "GET":
        return Response({"@odata.context": f"{_base(request)}/$metadata#servicePrincipals('{sp_id}')/synchronization/"
                                           f"jobs('{job_id}')/schema/$entity", **configuration.schema_of(job)})
    try:
        plan = configuration.check_schema(job, request.data)
    except configuration.ConfigurationError as error:
        raise _invalid(error) from None
    configuration.apply(job.application, plan, request, detail="Replaced through the API (PUT .../schema)")
    return Response(status=204)


# ---------------------------------------------------------------------------- logs
def _top(request: Request) -> int:
    text = request.query_params.get("$top", "")
    if text == "":
        return DEFAULT_TOP
    if not is_whole_number(text) or not 1 <= int(text) <= 999:
        raise GraphError(400, f"Invalid page size specified: '{text}'. Must be between 1 and 999 inclusive.",
                         target="$top")
    return int(text)


def _next_link(request: Request, path: str, token: str) -> str:
    query = [(key, request.query_params[key]) for key in ("$filter", "$top") if key in request.query_params]
    return request.build_absolute_uri(f"{path}?{urlencode([*query, ('$skiptoken', token)])}")


def _page_across_jobs(job_ids: list[int], query: Q, *, after: Cursor | None, size: int):
    """The newest ``size`` rows of every job that match ``query`` (after ``after``), newest first.

    One keyset query per job, merged here: each is answered by the ``(job, ..., -activity_time, -id)``
    index of its filter, as the Provisioning logs page's are, where one query over all jobs could only walk
    the time index and test every row (slow for a rare status). A portal serves a handful of applications."""
    rows: list[ProvisioningLog] = []
    for job_id in job_ids:
        logs = ProvisioningLog.objects.filter(job_id=job_id).filter(query)
        if after is not None:
            logs = logs.filter(older_than(after))
        rows += logs.select_related("job__application").order_by("-activity_time", "-id")[: size + 1]
    rows.sort(key=lambda log: (log.activity_time, log.pk), reverse=True)
    more = len(rows) > size
    rows = rows[:size]
    return LogPage(rows, Cursor.of(rows[-1]) if more and rows else None, None)


def _filter(request: Request, properties=None) -> Q:
    try:
        if properties is None:
            return parse_filter(request.query_params.get("$filter", ""))
        return parse_filter(request.query_params.get("$filter", ""), properties)
    except FilterError as error:
        raise GraphError(400, f"Invalid filter clause: {error}", target="$filter") from None


@extend_schema(tags=TAG_LOGS, summary="Provisioning logs (provisioningObjectSummary)",
               parameters=[OpenApiParameter("$filter", str), OpenApiParameter("$top", int),
                           OpenApiParameter("$skiptoken", str)],
               responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
@api_view(["GET"])
def provisioning_logs(request: Request) -> Response:
    top, query = _top(request), _filter(request)
    after = None
    if request.query_params.get("$skiptoken"):
        try:
            after = Cursor.decode(request.query_params["$skiptoken"])
        except ValueError:
            raise GraphError(400, "$skiptoken is not one this API made.", target="$skiptoken") from None
    jobs_ = ProvisioningJob.objects.all()
    if not is_reader(request.user):  # roles on single applications: their rows only
        jobs_ = jobs_.filter(application__in=visible_applications(request.user))
    page = _page_across_jobs(list(jobs_.values_list("pk", flat=True)), query, after=after, size=top)
    body = {"@odata.context": f"{_base(request)}/$metadata#auditLogs/provisioning",
            "value": [graph_summary(log, application=log.job.application, job_id=log.job.job_id)
                      for log in page.rows]}
    if page.next is not None:
        body["@odata.nextLink"] = _next_link(request, request.path, page.next.encode())
    return Response(body)


@extend_schema(tags=TAG_LOGS, summary="The portal's audit events (directoryAudit)",
               parameters=[OpenApiParameter("$filter", str), OpenApiParameter("$top", int),
                           OpenApiParameter("$skiptoken", str)],
               responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
@api_view(["GET"])
def directory_audits(request: Request) -> Response:
    if not is_reader(request.user):  # the portal-wide audit log is for the global roles, as its page
        raise GraphError(403, READER_REFUSED)
    top, query = _top(request), _filter(request, AUDIT_PROPERTIES)
    events = AuditEvent.objects.filter(query).order_by("-id")
    token = request.query_params.get("$skiptoken", "")
    if token:
        if not is_whole_number(token):
            raise GraphError(400, "$skiptoken is not one this API made.", target="$skiptoken")
        events = events.filter(id__lt=int(token))
    rows = list(events[: top + 1])
    body = {"@odata.context": f"{_base(request)}/$metadata#auditLogs/directoryAudits",
            "value": [shapes.directory_audit(event) for event in rows[:top]]}
    if len(rows) > top:
        body["@odata.nextLink"] = _next_link(request, request.path, str(rows[top - 1].pk))
    return Response(body)


# ---------------------------------------------------------------------------- configuration (the portal's own)
TAG_CONFIGURATION = ["configuration (portal extension)"]


def _version_summary(version) -> dict:
    return {"version": version.number, "createdDateTime": shapes._time(version.created_at),
            "initiatedBy": version.actor_display or "System", "reason": version.reason}


def _import(request: Request, job: ProvisioningJob, document, *, reason: str) -> Response:
    current = configuration.export_configuration(job.application)
    dry_run = request.query_params.get("dryRun", "").lower() in ("true", "1")
    try:
        if dry_run:
            configuration.check_configuration(job.application, document)
            changed = None
        else:
            changed = configuration.import_configuration(job.application, document, request, reason=reason).changed
    except configuration.ConfigurationError as error:
        raise _invalid(error) from None
    body = {"changes": differences(current, document)}
    if changed is not None:
        body["changed"] = changed
    return Response(body)


@extend_schema(tags=TAG_CONFIGURATION, methods=["GET"], summary="Export the job's whole configuration (settings, "
               "schedule, schema; never credentials)", responses={200: OpenApiTypes.OBJECT})
@extend_schema(tags=TAG_CONFIGURATION, methods=["PUT"], summary="Import a configuration (?dryRun=true: only the "
               "differences); all saved or none", request=OpenApiTypes.OBJECT,
               parameters=[OpenApiParameter("dryRun", bool)], responses={200: OpenApiTypes.OBJECT,
                                                                         400: OpenApiTypes.OBJECT})
@api_view(["GET", "PUT"])
def job_configuration(request: Request, sp_id: str, job_id: str) -> Response:
    job = _job(request, sp_id, job_id, write=request.method == "PUT")
    if request.method == "GET":
        return Response(configuration.export_configuration(job.application))
    source = (request.data.get("exportedFrom") or {}).get("displayName") if isinstance(request.data, dict) else ""
    return _import(request, job, request.data,
                   reason=f"Imported a configuration exported from {source or 'a file'} (through the API)")


@extend_schema(tags=TAG_CONFIGURATION, summary="The versions of the job's configuration, newest first",
               operation_id="servicePrincipals_synchronization_jobs_configuration_versions_list",
               responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
def job_configuration_versions(request: Request, sp_id: str, job_id: str) -> Response:
    job = _job(request, sp_id, job_id)
    versions = ConfigurationVersion.objects.filter(application=job.application).defer("configuration")
    return Response({"value": [_version_summary(v) for v in versions]})


def _version_of(job: ProvisioningJob, number: int) -> ConfigurationVersion:
    found = ConfigurationVersion.objects.filter(application=job.application, number=number).first()
    if found is None:
        raise GraphError(404, f"Version {number} of this job's configuration does not exist.")
    return found


@extend_schema(tags=TAG_CONFIGURATION, summary="One version (?compare=<version>|current: with the differences)",
               parameters=[OpenApiParameter("compare", str)], responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
def job_configuration_version(request: Request, sp_id: str, job_id: str, number: int) -> Response:
    job = _job(request, sp_id, job_id)
    version = _version_of(job, number)
    body = {**_version_summary(version), "configuration": version.configuration}
    compare = request.query_params.get("compare", "")
    if compare == "current":
        body["changes"] = differences(version.configuration, configuration.export_configuration(job.application))
    elif compare:
        if not is_whole_number(compare):
            raise GraphError(400, "compare is a version number or current.", target="compare")
        body["changes"] = differences(_version_of(job, int(compare)).configuration, version.configuration)
    return Response(body)


@extend_schema(tags=TAG_CONFIGURATION, summary="Roll back to this version (itself kept as a new version)",
               request=None, responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
@api_view(["POST"])
def job_configuration_restore(request: Request, sp_id: str, job_id: str, number: int) -> Response:
    job = _job(request, sp_id, job_id, write=True)
    version = _version_of(job, number)
    return _import(request, job, version.configuration, reason=f"Rolled back to version {number}")

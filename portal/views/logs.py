"""Provisioning logs: every action on every identity, with its steps, the
troubleshooting advice and the modified properties; filtered, paged and
downloaded as Entra does. Readers see and download everything; nothing here
changes anything."""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from provisioning import log_export
from provisioning.constants import Action, LogStatus
from provisioning.logs import filter_logs, page_of
from provisioning.models import Application, ProvisioningJob, ProvisioningLog

from ..log_filters import FILTER_FIELDS, ProvisioningLogFilterForm
from ..permissions import get_application_for_reader

DOWNLOAD_FORMATS = {"json": ("application/json", "json"), "csv": ("application/zip", "zip")}


def _job(application: Application) -> ProvisioningJob | None:
    try:
        return application.job
    except ProvisioningJob.DoesNotExist:
        return None


def _filters_query(request: HttpRequest) -> str:
    """The filters of the request as a query string, without the page cursor."""
    pairs = [(key, value) for key in FILTER_FIELDS for value in request.GET.getlist(key) if value != ""]
    return urlencode(pairs)


def _list_context(request: HttpRequest, application: Application, form: ProvisioningLogFilterForm) -> dict:
    filters = _filters_query(request)
    return {
        "application": application,
        "section": "provisioning_logs",
        "form": form,
        "filters": filters,
        "retention_days": settings.PROVISIONING_LOG_RETENTION_DAYS,
        "source_system": log_export.SOURCE_SYSTEM,
        "download_url": reverse("portal:provisioning_logs_download", args=[application.pk]),
    }


def _refused(request: HttpRequest, application: Application, form: ProvisioningLogFilterForm) -> HttpResponse:
    """The page with the reasons next to the filters, and no rows."""
    context = {**_list_context(request, application, form), "rows": [], "refused": True}
    return render(request, "portal/blade/provisioning_logs.html", context, status=400)


@require_safe
def provisioning_logs(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_reader(request, app_id, deleted=True)
    form = ProvisioningLogFilterForm(request.GET)
    if not form.is_valid():
        return _refused(request, application, form)
    logs = filter_logs(_job(application), form.log_query())
    page = page_of(logs, after=form.cleaned_data["after"], before=form.cleaned_data["before"])
    context = _list_context(request, application, form)
    filters = context["filters"]
    joiner = "&" if filters else ""
    context.update(
        rows=page.rows,
        on_first_page=not (form.cleaned_data["after"] or form.cleaned_data["before"]),
        next_query=f"{filters}{joiner}after={page.next.encode()}" if page.next else "",
        previous_query=f"{filters}{joiner}before={page.previous.encode()}" if page.previous else "",
        # The detail links carry the whole query string, so "Back" returns to this very page.
        here_query=request.GET.urlencode(),
    )
    return render(request, "portal/blade/provisioning_logs.html", context)


@require_safe
def provisioning_log_detail(request: HttpRequest, app_id: UUID, log_id: int) -> HttpResponse:
    application = get_application_for_reader(request, app_id, deleted=True)
    log = get_object_or_404(ProvisioningLog.objects.select_related("job"), pk=log_id, job__application=application)
    back = reverse("portal:provisioning_logs", args=[application.pk])
    if request.GET:
        back += "?" + request.GET.urlencode()
    context = {
        "application": application,
        "section": "provisioning_logs",
        "log": log,
        "back_url": back,
        "source_system": log_export.SOURCE_SYSTEM,
        # Entra shows this tab only when something did not go through.
        "troubleshooting": log.status in (LogStatus.FAILURE, LogStatus.SKIPPED) or log.action == Action.SKIP,
        "steps": [
            {**step, "details": list((step.get("details") or {}).items())} for step in (log.steps or [])
        ],
    }
    if request.headers.get("X-Requested-With") == "fetch":
        return render(request, "portal/partials/provisioning_log_detail.html", context)
    return render(request, "portal/blade/provisioning_log_detail.html", context)


@require_safe
def download(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_reader(request, app_id, deleted=True)
    form = ProvisioningLogFilterForm(request.GET)
    valid = form.is_valid()
    chosen = request.GET.get("format", "json")
    if chosen not in DOWNLOAD_FORMATS:
        form.add_error(None, "Choose JSON or CSV as the download format.")
        valid = False
    if not valid:
        return _refused(request, application, form)
    job = _job(application)
    logs = filter_logs(job, form.log_query())
    job_id = job.job_id if job else ""
    content_type, extension = DOWNLOAD_FORMATS[chosen]
    if chosen == "json":
        stream = log_export.json_stream(logs, application, job_id)
    else:
        stream = log_export.csv_zip_stream(logs, application, job_id)
    response = StreamingHttpResponse(stream, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=log_export.download_name(application, extension))
    # Personal data: no shared cache keeps a copy.
    response["Cache-Control"] = "private, no-store"
    return response

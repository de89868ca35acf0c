"""Provision on demand: pick a user (or a small group), provision it now, and
watch the engine's four steps as they complete."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from provisioning import audit
from provisioning.connectors.errors import ConnectorError
from provisioning.constants import AuditActivity, ObjectType
from provisioning.models import OnDemandRun
from provisioning.tasks import provision_on_demand

from ..permissions import get_application_for_administrator, get_application_for_reader
from .assignments import source_connector


@require_safe
def page(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    runs = OnDemandRun.objects.filter(job=application.job)[:10]
    return render(request, "portal/blade/on_demand.html",
                  {"application": application, "section": "on_demand", "runs": runs})


@require_safe
def search(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    query = request.GET.get("q", "").strip()
    results, error = [], None
    if query:
        try:
            results = source_connector().search_directory(query, limit=10)
        except ConnectorError as exc:
            error = exc.message
    return render(request, "portal/partials/on_demand_results.html",
                  {"application": application, "results": results, "query": query, "error": error})


@require_POST
def provision(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    job = application.job
    object_type = request.POST.get("object_type")
    source_id = request.POST.get("source_id", "").strip()
    if object_type not in (ObjectType.USER, ObjectType.GROUP) or not source_id:
        messages.error(request, "Choose a user or a group to provision.")
        return redirect("portal:on_demand", application.id)
    if not job.is_authorized:
        messages.error(request, "Authorize the portal against Dropbox (Provisioning page) before provisioning.")
        return redirect("portal:on_demand", application.id)
    name = request.POST.get("display_name", "")[:300]
    with transaction.atomic():
        run = OnDemandRun.objects.create(job=job, object_type=object_type, source_id=source_id, display_name=name,
                                         requested_by=request.user.email)
        audit.record(AuditActivity.PROVISION_ON_DEMAND, request=request, application=application,
                     target_type=object_type.capitalize(), target_id=source_id, target_display=name)
        transaction.on_commit(lambda: provision_on_demand.delay(run.pk))
    return redirect("portal:on_demand_run", application.id, run.pk)


@require_safe
def run_detail(request: HttpRequest, app_id: UUID, run_id: int) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    run = get_object_or_404(OnDemandRun, pk=run_id, job=application.job)
    context = {"application": application, "section": "on_demand", "run": run}
    if request.headers.get("X-Requested-With"):
        return render(request, "portal/partials/on_demand_run.html", context)
    return render(request, "portal/blade/on_demand_run.html", context)

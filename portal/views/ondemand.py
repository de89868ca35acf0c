"""Provision on demand: pick a user (or a small group), provision it now, and
watch the engine's four steps as they complete."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from provisioning import jobs
from provisioning.constants import ObjectType
from provisioning.models import OnDemandRun

from ..permissions import get_application_for_administrator, get_application_for_reader
from .assignments import directory_results
from .overview import REFUSED, attempt


@require_safe
def page(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    runs = OnDemandRun.objects.filter(job=application.job)[:10]
    return render(request, "portal/blade/on_demand.html",
                  {"application": application, "section": "on_demand", "runs": runs})


@require_safe
def search(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    return render(request, "portal/partials/on_demand_results.html",
                  {"application": application, **directory_results(request)})


@require_POST
def provision(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    job = application.job
    object_type = request.POST.get("object_type")
    source_id = request.POST.get("source_id", "").strip()
    if object_type not in (ObjectType.USER, ObjectType.GROUP) or not source_id:
        messages.error(request, "Choose a user or a group to provision.")
        return redirect("portal:on_demand", application.id)
    run = attempt(request, jobs.provision_on_demand, job, object_type=object_type, source_id=source_id,
                  display_name=request.POST.get("display_name", ""))
    if run is REFUSED:
        return redirect("portal:on_demand", application.id)
    return redirect("portal:on_demand_run", application.id, run.pk)


@require_safe
def run_detail(request: HttpRequest, app_id: UUID, run_id: int) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    run = get_object_or_404(OnDemandRun, pk=run_id, job=application.job)
    context = {"application": application, "section": "on_demand", "run": run}
    if request.headers.get("X-Requested-With"):
        return render(request, "portal/partials/on_demand_run.html", context)
    return render(request, "portal/blade/on_demand_run.html", context)

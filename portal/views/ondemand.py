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
from .overview import start_and_show


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
    object_type = request.POST.get("object_type")
    source_id = request.POST.get("source_id", "").strip()
    if object_type not in (ObjectType.USER, ObjectType.GROUP) or not source_id:
        messages.error(request, "Choose a user or a group to provision.")
        return redirect("portal:on_demand", application.id)
    return start_and_show(request, application, jobs.provision_on_demand, back="portal:on_demand",
                          show="portal:on_demand_run", object_type=object_type, source_id=source_id,
                          display_name=request.POST.get("display_name", ""))


@require_safe
def run_detail(request: HttpRequest, app_id: UUID, run_id: int) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    run = get_object_or_404(OnDemandRun, pk=run_id, job=application.job)
    context = {"application": application, "section": "on_demand", "run": run}
    if request.headers.get("X-Requested-With"):
        return render(request, "portal/partials/on_demand_run.html", context)
    return render(request, "portal/blade/on_demand_run.html", context)

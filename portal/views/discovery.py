"""Account discovery (menu: Manage): start one, watch it, read what it found
by category, search it, download it as CSV."""

from __future__ import annotations

from uuid import UUID

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from provisioning import jobs
from provisioning.constants import DiscoveryCategory
from provisioning.discovery import csv_lines
from provisioning.models import AccountDiscovery

from ..permissions import get_application_for_administrator, get_application_for_reader
from .overview import REFUSED, attempt

PAGE_SIZE = 100


@require_safe
def page(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """The latest discovery of the application, or an invitation to run one."""
    application = get_application_for_reader(request, app_id)
    latest = application.job.discoveries.first()
    if latest is not None:
        return redirect("portal:discovery", application.id, latest.pk)
    return render(request, "portal/blade/discovery.html",
                  {"application": application, "section": "discovery", "discovery": None})


@require_POST
def start(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    record = attempt(request, jobs.request_discovery, application.job)
    if record is REFUSED:
        return redirect("portal:discovery_page", application.id)
    return redirect("portal:discovery", application.id, record.pk)


def _filtered(request: HttpRequest, record: AccountDiscovery):
    category = request.GET.get("category", "")
    if category not in DiscoveryCategory.values:
        category = ""
    query = request.GET.get("q", "").strip()[:200]
    rows = record.accounts.all()
    if category:
        rows = rows.filter(category=category)
    if query:
        rows = rows.filter(Q(email__icontains=query) | Q(display_name__icontains=query)
                           | Q(source_upn__icontains=query) | Q(source_display_name__icontains=query))
    return rows, category, query


@require_safe
def detail(request: HttpRequest, app_id: UUID, discovery_id: int) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    record = get_object_or_404(AccountDiscovery, pk=discovery_id, job=application.job)
    rows, category, query = _filtered(request, record)
    page_ = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    cards = [(value, label, record.counts.get(value, 0)) for value, label in DiscoveryCategory.choices]
    template = "portal/partials/discovery_body.html" if request.headers.get("X-Requested-With") else \
        "portal/blade/discovery.html"
    return render(request, template, {
        "application": application, "section": "discovery", "discovery": record, "page": page_, "cards": cards,
        "category": category, "category_label": DiscoveryCategory(category).label if category else "",
        "query": query, "total": sum(record.counts.values()),
    })


@require_safe
def download(request: HttpRequest, app_id: UUID, discovery_id: int) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    record = get_object_or_404(AccountDiscovery, pk=discovery_id, job=application.job, status="done")
    rows, category, _ = _filtered(request, record)
    response = StreamingHttpResponse(csv_lines(rows.iterator(chunk_size=2000)), content_type="text/csv; charset=utf-8")
    name = f"account-discovery-{record.created_at:%Y%m%d-%H%M%S}{'-' + category if category else ''}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

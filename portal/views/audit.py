"""Audit logs: who changed what and when, with before/after values."""

from __future__ import annotations

from uuid import UUID

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from provisioning.models import AuditEvent

from ..forms import AuditFilterForm
from ..permissions import get_application_for_reader, reader_required


def _filtered(request: HttpRequest, events):
    """Apply the filters in the query string (last 7 days unless told otherwise)."""
    data = request.GET.copy()
    data.setdefault("date", "7d")
    form = AuditFilterForm(data)
    if not form.is_valid():
        return form, events.none()
    start, end = form.time_bounds()
    if start:
        events = events.filter(created_at__gte=start)
    if end:
        events = events.filter(created_at__lt=end)
    if form.cleaned_data.get("actor"):
        events = events.filter(actor=form.cleaned_data["actor"])
    if form.cleaned_data.get("activity"):
        events = events.filter(activity=form.cleaned_data["activity"])
    return form, events


def _render(request: HttpRequest, events, template: str, context: dict) -> HttpResponse:
    form, events = _filtered(request, events.select_related("actor", "application"))
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, template, {**context, "form": form, "page": page, "querystring": query.urlencode()})


@require_safe
@reader_required
def audit_logs(request: HttpRequest) -> HttpResponse:
    return _render(request, AuditEvent.objects.all(), "portal/audit/list.html", {"section": "audit_logs"})


@require_safe
def application_audit_logs(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    return _render(
        request,
        AuditEvent.objects.filter(application=application),
        "portal/blade/audit_logs.html",
        {"application": application, "section": "audit_logs"},
    )

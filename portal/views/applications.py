from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from provisioning.models import Application

from ..permissions import any_role_required, visible_applications


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return redirect("portal:applications")


@require_safe
@any_role_required
def all_applications(request: HttpRequest) -> HttpResponse:
    """Enterprise applications | All applications, with a search box."""
    query = request.GET.get("q", "").strip()
    live = visible_applications(request.user, Application.objects.filter(deleted_at__isnull=True))
    applications = live
    if query:
        applications = applications.filter(
            Q(display_name__icontains=query) | Q(app_id__iexact=query) | Q(service_principal_id__iexact=query)
        )
    deleted = visible_applications(request.user, Application.objects.filter(deleted_at__isnull=False)).order_by(
        "-deleted_at")
    return render(
        request,
        "portal/applications/list.html",
        {"applications": applications, "query": query, "total": live.count(), "deleted": deleted,
         "retention_days": settings.PROVISIONING_LOG_RETENTION_DAYS},
    )

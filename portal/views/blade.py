"""An application's blade: the pages behind its left menu."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from ..permissions import get_application_for_reader


def _page(request: HttpRequest, app_id: UUID, template: str, section: str, **context) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    return render(request, template, {"application": application, "section": section, **context})


@require_safe
def overview(request: HttpRequest, app_id: UUID) -> HttpResponse:
    return _page(request, app_id, "portal/blade/overview.html", "overview")


@require_safe
def provision_on_demand(request: HttpRequest, app_id: UUID) -> HttpResponse:
    return _page(request, app_id, "portal/blade/on_demand.html", "on_demand")


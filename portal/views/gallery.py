"""Enterprise applications | Add: the gallery."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from provisioning import audit, gallery
from provisioning.connectors.errors import ConnectorError
from provisioning.defaults import create_job
from provisioning.constants import AuditActivity
from provisioning.models import Application

from ..forms import AddApplicationForm
from ..permissions import administrator_required
from .assignments import source_connector


@require_safe
@administrator_required
def browse(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    entries = gallery.search(query)
    template = "portal/applications/gallery_tiles.html" if request.headers.get("X-Requested-With") else "portal/applications/gallery.html"
    return render(request, template, _context(entries, query, AddApplicationForm()))


def _context(entries, query: str, form: AddApplicationForm) -> dict:
    return {"entries": entries, "all_entries": gallery.GALLERY, "query": query, "section": "applications", "form": form}


@require_POST
@administrator_required
def add(request: HttpRequest) -> HttpResponse:
    form = AddApplicationForm(request.POST)
    if not form.is_valid():
        return render(
            request, "portal/applications/gallery.html",
            _context(gallery.search(""), "", form), status=400,
        )
    entry = form.cleaned_data["entry"]
    # The service principal first: if the tenant cannot be reached, nothing is created.
    try:
        service_principal, created = source_connector().ensure_service_principal(entry.app_id)
    except ConnectorError as exc:
        messages.error(request, f"{entry.name} was not added: {exc.message}")
        return render(request, "portal/applications/gallery.html", _context(gallery.search(""), "", form), status=502)
    with transaction.atomic():
        application = Application.objects.create(
            display_name=form.cleaned_data["display_name"], gallery_app=entry.key, app_id=entry.app_id,
            service_principal_id=service_principal["id"],
        )
        create_job(application, settings.ENTRA_TENANT_ID)
        audit.record(
            AuditActivity.ADD_APPLICATION, request=request, target=application,
            after={"display_name": application.display_name, "gallery_app": entry.name, "app_id": entry.app_id,
                   "service_principal_id": service_principal["id"],
                   "service_principal": "created" if created else "found in the tenant"},
        )
    messages.success(request, f"{application.display_name} was added.")
    return redirect("portal:overview", application.id)

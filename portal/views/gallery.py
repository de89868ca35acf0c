"""Enterprise applications | Add: the gallery."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from provisioning import applications, connections, gallery, jobs
from provisioning.connectors.errors import ConnectorError

from ..forms import AddApplicationForm
from ..permissions import administrator_required


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
        service_principal, created = connections.source(interactive=True).ensure_service_principal(entry.app_id)
    except ConnectorError as exc:
        messages.error(request, f"{entry.name} was not added: {exc.message}")
        return render(request, "portal/applications/gallery.html", _context(gallery.search(""), "", form), status=502)
    application = applications.add_from_gallery(entry, form.cleaned_data["display_name"],
                                                service_principal=service_principal, created=created,
                                                actor=jobs.Actor.of(request))
    messages.success(request, f"{application.display_name} was added.")
    return redirect("portal:overview", application.id)

"""Enterprise applications | Add: the gallery."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from provisioning import applications, connections, gallery, jobs
from provisioning.models import Application
from provisioning.connectors.errors import ConnectorError

from ..forms import AddApplicationForm
from ..permissions import administrator_required


@require_safe
@administrator_required
def browse(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    entries = gallery.search(query)
    if request.headers.get("X-Requested-With"):
        return render(request, "portal/applications/gallery_tiles.html", _context(entries, query, AddApplicationForm()))
    return render(request, "portal/applications/gallery.html",
                  _context(entries, query, AddApplicationForm(), instances=_instances()))


def _context(entries, query: str, form: AddApplicationForm, instances: dict | None = None) -> dict:
    found = instances or {}
    dialogs = [{"entry": entry, "instances": found.get(entry.key, []), "listed": found.get(entry.key, []) is not None}
               for entry in gallery.GALLERY]
    return {"entries": entries, "dialogs": dialogs, "query": query, "section": "applications", "form": form}


def _instances() -> dict:
    """For each gallery entry, its enterprise applications already in the tenant that no application
    of the portal uses ({key: [sp...]}, or {key: None} when the tenant could not be read)."""
    used = set(Application.objects.values_list("service_principal_id", flat=True))
    found: dict = {}
    for entry in gallery.GALLERY:
        try:
            sps = connections.source(interactive=True).template_instances(entry.template_id)
        except ConnectorError:
            found[entry.key] = None
            continue
        found[entry.key] = [sp for sp in sps if sp["id"] not in used]
    return found


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
    chosen = form.cleaned_data["service_principal"]
    if chosen and Application.objects.filter(service_principal_id=chosen).exists():
        # Two applications on one enterprise application would share its assignments.
        form.add_error("service_principal", "Another application of the portal already uses this enterprise "
                                            "application; create a new one instead.")
        return render(request, "portal/applications/gallery.html",
                      _context(gallery.search(""), "", form, instances=_instances()), status=400)
    # The service principal first: if the tenant cannot be reached, nothing is created.
    source = connections.source(interactive=True)
    try:
        if chosen:
            service_principal = next((sp for sp in source.template_instances(entry.template_id)
                                      if sp["id"] == chosen), None)
            created = False
        else:
            service_principal, created = source.instantiate(entry.template_id, form.cleaned_data["display_name"]), True
    except ConnectorError as exc:
        messages.error(request, f"{entry.name} was not added: {exc.message}")
        return render(request, "portal/applications/gallery.html", _context(gallery.search(""), "", form), status=502)
    if service_principal is None:
        form.add_error("service_principal", f"This enterprise application is not a {entry.name} application of "
                                            "the tenant (any more): choose another, or create a new one.")
        return render(request, "portal/applications/gallery.html",
                      _context(gallery.search(""), "", form, instances=_instances()), status=400)
    application = applications.add_from_gallery(entry, form.cleaned_data["display_name"],
                                                service_principal=service_principal, created=created,
                                                actor=jobs.Actor.of(request))
    messages.success(request, f"{application.display_name} was added.")
    return redirect("portal:overview", application.id)

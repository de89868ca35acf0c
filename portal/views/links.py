"""Object links (menu: Manage): every link between a Microsoft Entra ID object
and its Dropbox member or group, searchable, each with its last action, its
provisioning logs, provision on demand, and Unlink (audited)."""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from provisioning import jobs
from provisioning.constants import LinkState, ObjectType
from provisioning.models import ObjectLink, ProvisioningLog

from ..permissions import get_application_for_administrator, get_application_for_reader
from .overview import REFUSED, attempt

PAGE_SIZE = 100


@require_safe
def links(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    job = application.job
    object_type = request.GET.get("type", "")
    object_type = object_type if object_type in ObjectType.values else ""
    state = request.GET.get("state", "")
    state = state if state in LinkState.values else ""
    query = request.GET.get("q", "").strip()[:200]
    rows = ObjectLink.objects.filter(job=job)
    if object_type:
        rows = rows.filter(object_type=object_type)
    if state:
        rows = rows.filter(state=state)
    if query:
        rows = rows.filter(Q(display_name__icontains=query) | Q(user_principal_name__icontains=query)
                           | Q(target_email__icontains=query) | Q(source_id=query) | Q(target_id=query))
    last = ProvisioningLog.objects.filter(job=job, source_id=OuterRef("source_id"),
                                          object_type=OuterRef("object_type")).order_by("-activity_time", "-id")
    rows = rows.annotate(last_action=Subquery(last.values("action")[:1]),
                         last_status=Subquery(last.values("status")[:1]),
                         last_time=Subquery(last.values("activity_time")[:1]),
                         last_log=Subquery(last.values("id")[:1])).order_by("object_type", "display_name", "id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/blade/links.html", {
        "application": application, "section": "links", "page": page, "type": object_type, "state": state,
        "query": query, "pager_query": urlencode({"type": object_type, "state": state, "q": query}) + "&",
        "types": ObjectType.choices, "states": LinkState.choices,
    })


@require_POST
def unlink(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    object_type = request.POST.get("object_type", "")
    source_id = request.POST.get("source_id", "").strip()
    if object_type not in ObjectType.values or not source_id:
        messages.error(request, "Choose a linked object to unlink.")
        return redirect("portal:links", application.id)
    link = attempt(request, jobs.unlink, application.job, object_type=object_type, source_id=source_id)
    if link is not REFUSED:
        messages.success(request, f"{link.display_name or source_id} is no longer linked to "
                                  f"{link.target_email or link.target_id}. Nothing changed in Dropbox; the next cycle "
                                  "matches it again by its matching attributes.")
    return redirect("portal:links", application.id)

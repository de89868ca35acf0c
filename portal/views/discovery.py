"""Account discovery (menu: Manage): start one, watch it, read what it found
by category, search it, download it as CSV."""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from provisioning import jobs
from provisioning.connectors.errors import ConnectorError
from provisioning.constants import DiscoveryCategory, ObjectType
from provisioning.discovery import LINKABLE, DiscoveryActionError, csv_lines, link_to_user, suspend_unlinked
from provisioning.models import AccountDiscovery
from provisioning.numbers import is_whole_number

from ..permissions import get_application_for_administrator, get_application_for_reader
from .overview import start_and_show

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
    return start_and_show(request, application, jobs.request_discovery, back="portal:discovery_page",
                          show="portal:discovery")


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
        "query": query, "pager_query": urlencode({"category": category, "q": query}) + "&",
        "total": sum(record.counts.values()), "linkable": LINKABLE,
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


def _selected(request: HttpRequest, record: AccountDiscovery) -> list:
    ids = [int(v) for v in request.POST.getlist("accounts") if is_whole_number(v)][:PAGE_SIZE]
    return list(record.accounts.filter(pk__in=ids))


def _back(request: HttpRequest, application, record) -> HttpResponse:
    url = reverse("portal:discovery", args=[application.id, record.pk])
    query = request.POST.get("return_query", "")
    return redirect(f"{url}?{query}" if query and len(query) < 500 else url)


@require_POST
def suspend(request: HttpRequest, app_id: UUID, discovery_id: int) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    record = get_object_or_404(AccountDiscovery, pk=discovery_id, job=application.job, status="done")
    try:
        done = suspend_unlinked(record, _selected(request, record), jobs.Actor.of(request))
    except DiscoveryActionError as exc:
        messages.error(request, str(exc))
        return _back(request, application, record)
    except ConnectorError as exc:
        messages.error(request, f"Dropbox could not be asked: {exc.message}")
        return _back(request, application, record)
    text = f"{done.suspended} member{pluralize(done.suspended)} suspended; each has its provisioning log row."
    if done.failed:
        messages.warning(request, f"{text} {done.failed} could not be suspended: {done.top_error}")
    else:
        messages.success(request, text)
    if done.left_out:
        messages.warning(request, "Left out, as they are now in Dropbox: " + ", ".join(done.left_out) + ".")
    return _back(request, application, record)


@require_POST
def unlink(request: HttpRequest, app_id: UUID, discovery_id: int) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    record = get_object_or_404(AccountDiscovery, pk=discovery_id, job=application.job, status="done")
    rows = [row for row in _selected(request, record) if row.source_id and row.category in ("linked", "drifted")]
    if not rows:
        messages.error(request, "Select linked members to unlink.")
        return _back(request, application, record)
    actor, done = jobs.Actor.of(request), 0
    for row in rows:
        try:
            jobs.unlink(application.job, actor, object_type=ObjectType.USER, source_id=row.source_id,
                        target_id=row.target_id)
            done += 1
        except jobs.JobError:
            continue
    record.accounts.filter(pk__in=[r.pk for r in rows]).update(category="orphan", source_id="", matched_by="",
                                                               note="Unlinked by hand.")
    messages.success(request, f"{done} member{pluralize(done)} unlinked. Nothing changed in Dropbox; the next "
                              "cycle matches them again by their matching attributes.")
    return _back(request, application, record)


@require_POST
def link(request: HttpRequest, app_id: UUID, discovery_id: int) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    record = get_object_or_404(AccountDiscovery, pk=discovery_id, job=application.job, status="done")
    row = record.accounts.filter(pk=request.POST.get("account") if is_whole_number(request.POST.get("account", ""))
                                 else None).first()
    if row is None:
        messages.error(request, "Choose the member to link.")
        return _back(request, application, record)
    try:
        made = link_to_user(record, row, request.POST.get("user", "")[:300], jobs.Actor.of(request))
    except DiscoveryActionError as exc:
        messages.error(request, str(exc))
        return _back(request, application, record)
    messages.success(request, f"{row.email} is now linked to {made.user_principal_name}. Provision on demand brings "
                              "it in step now; otherwise the next full cycle does.")
    return _back(request, application, record)

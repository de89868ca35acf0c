"""Overview: the current cycle with a live progress bar, statistics to date,
quarantine and staged-deletion banners, and the buttons that start, stop,
restart and preview provisioning."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from provisioning import audit
from provisioning.constants import Action, AuditActivity, CycleStatus, LinkState, ObjectType, ProvisioningMode
from provisioning.engine import runner
from provisioning.models import Application, CyclePreview, ObjectLink, SyncCycle
from provisioning.tasks import enqueue_run, preview_job

from .. import operations
from ..forms import RenameForm
from ..permissions import get_application_for_administrator, get_application_for_reader


def _statistics(application: Application) -> dict:
    job = application.job
    links = ObjectLink.objects.filter(job=job).aggregate(
        users=Count("id", filter=Q(object_type=ObjectType.USER)),
        users_active=Count("id", filter=Q(object_type=ObjectType.USER, state=LinkState.ACTIVE)),
        users_disabled=Count("id", filter=Q(object_type=ObjectType.USER, state=LinkState.DISABLED)),
        groups=Count("id", filter=Q(object_type=ObjectType.GROUP)),
    )
    last_completed = SyncCycle.objects.filter(job=job, finished_at__isnull=False).exclude(
        status=CycleStatus.INTERRUPTED).first()
    return {"links": links, "last_completed": last_completed}


def _status_context(application: Application) -> dict:
    job = application.job
    cycle = SyncCycle.objects.filter(job=job).first()
    running = cycle is not None and cycle.status == CycleStatus.RUNNING
    # Keep refreshing while a cycle runs, and while one is due to start any moment.
    due = job.enabled and (job.next_run_at is None or job.next_run_at <= timezone.now())
    return {"application": application, "job": job, "cycle": cycle, "running": running, "live": running or due}


@require_safe
def overview(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    job = application.job
    context = {
        **_status_context(application), **_statistics(application),
        "section": "overview",
        "rename_form": RenameForm(initial={"display_name": application.display_name}),
        "latest_preview": CyclePreview.objects.filter(job=job).first(),
        "staged_count": job.staged_cycle.count(Action.STAGED_DELETE) + job.staged_cycle.count(Action.STAGED_DISABLE)
        if job.staged_cycle else 0,
    }
    return render(request, "portal/blade/overview.html", context)


@require_safe
def cycle_status(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """The current cycle and the statistics, polled while a cycle runs or is due."""
    application = get_application_for_reader(request, app_id)
    return render(request, "portal/partials/overview_live.html",
                  {**_status_context(application), **_statistics(application)})


def _operation(request: HttpRequest, app_id: UUID):
    application = get_application_for_administrator(request, app_id)
    return application, application.job


@require_POST
def start(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application, job = _operation(request, app_id)
    if job.mode != ProvisioningMode.AUTOMATIC or not job.is_authorized:
        messages.error(request, "Set Provisioning Mode to Automatic and authorize the portal against Dropbox "
                                "(Provisioning page) before starting provisioning.")
        return redirect("portal:overview", application.id)
    with transaction.atomic():
        was_enabled = job.enabled
        job.enabled, job.stop_requested, job.next_run_at = True, False, timezone.now()
        job.save(update_fields=["enabled", "stop_requested", "next_run_at"])
        operations.started(request, job, was_enabled=was_enabled)
    messages.success(request, "Provisioning started: a cycle is starting now.")
    return redirect("portal:overview", application.id)


@require_POST
def stop(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application, job = _operation(request, app_id)
    with transaction.atomic():
        job.enabled = False
        job.save(update_fields=["enabled"])
        operations.stopped(request, job)
    messages.success(request, "Provisioning stopped. A running cycle stops after its current batch; everything "
                              "provisioned so far is kept.")
    return redirect("portal:overview", application.id)


@require_POST
def restart(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application, job = _operation(request, app_id)
    with transaction.atomic():
        runner.restart(job)
        audit.record(AuditActivity.RESTART, request=request, target=application, application=application,
                     detail="Delta links, escrows and quarantine cleared; links kept.")
        job.refresh_from_db()
        if job.enabled and job.mode == ProvisioningMode.AUTOMATIC:
            enqueue_run(job, force_full=True, initiated_by=request.user.email)
    messages.success(request, "Provisioning was restarted: the next cycle reads everything again.")
    return redirect("portal:overview", application.id)


@require_POST
def allow_deletes(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application, job = _operation(request, app_id)
    if not job.staged_cycle_id:
        messages.info(request, "No deletions are waiting for approval.")
        return redirect("portal:overview", application.id)
    with transaction.atomic():
        staged = job.staged_cycle
        runner.allow_deletes(job)
        audit.record(AuditActivity.ALLOW_DELETES, request=request, target=application, application=application,
                     detail=f"Allowed the deletions staged by cycle {staged.cycle_id}.")
        if job.enabled:
            enqueue_run(job, initiated_by=request.user.email)
    messages.success(request, "Deletes are allowed for the next cycle, which is starting now.")
    return redirect("portal:overview", application.id)


@require_POST
def rename(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    form = RenameForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(form.errors["display_name"]))
        return redirect("portal:overview", application.id)
    before = application.display_name
    application.display_name = form.cleaned_data["display_name"]
    application.save(update_fields=["display_name", "updated_at"])
    audit.record(AuditActivity.UPDATE_APPLICATION, request=request, target=application,
                 before={"display_name": before}, after={"display_name": application.display_name})
    messages.success(request, "The application was renamed.")
    return redirect("portal:overview", application.id)


@require_POST
def preview_start(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application, job = _operation(request, app_id)
    if not job.is_authorized:
        messages.error(request, "Authorize the portal against Dropbox before previewing a cycle.")
        return redirect("portal:overview", application.id)
    record = CyclePreview.objects.create(job=job, requested_by=request.user.email)
    transaction.on_commit(lambda: preview_job.delay(record.pk))
    return redirect("portal:preview", application.id, record.pk)


@require_safe
def preview(request: HttpRequest, app_id: UUID, preview_id: int) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    record = get_object_or_404(CyclePreview, pk=preview_id, job=application.job)
    action = request.GET.get("action", "")
    actions = record.actions.all()
    if action:
        actions = actions.filter(action=action)
    page = Paginator(actions, 100).get_page(request.GET.get("page"))
    template = "portal/partials/preview_body.html" if request.headers.get("X-Requested-With") else \
        "portal/blade/preview.html"
    return render(request, template, {
        "application": application, "section": "overview", "preview": record, "page": page, "action": action,
        "actions_available": sorted(record.counts), "writes": sum(n for a, n in record.counts.items()
                                                                  if a in ("Create", "Update", "Enable", "Disable",
                                                                           "Delete")),
    })

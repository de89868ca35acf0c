"""Overview: the current cycle with a live progress bar, statistics to date,
quarantine and staged-deletion banners, and the buttons that start, stop,
restart and preview provisioning."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from provisioning import applications, jobs
from provisioning.constants import Action, CycleStatus, LinkState, ObjectType
from provisioning.models import Application, CyclePreview, ObjectLink, SyncCycle

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
        **_reconciliation(job),
    }
    return render(request, "portal/blade/overview.html", context)


def _reconciliation(job) -> dict:
    """When the next full cycle is due, and how many members the last two found linked to no user."""
    counted = list(SyncCycle.objects.filter(job=job, unlinked_accounts__isnull=False)
                   .exclude(status=CycleStatus.RUNNING).order_by("-started_at")[:2])
    next_full = (job.last_full_cycle_at + timedelta(hours=job.reconcile_every_hours)
                 if job.reconcile_every_hours and job.last_full_cycle_at else None)
    latest = counted[0] if counted else None
    change = latest.unlinked_accounts - counted[1].unlinked_accounts if len(counted) == 2 else 0
    return {"next_full_cycle": next_full, "unlinked_cycle": latest, "unlinked_more": max(change, 0),
            "unlinked_fewer": max(-change, 0)}


@require_safe
def cycle_status(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """The current cycle and the statistics, polled while a cycle runs or is due."""
    application = get_application_for_reader(request, app_id)
    return render(request, "portal/partials/overview_live.html",
                  {**_status_context(application), **_statistics(application)})


#: what :func:`attempt` returns when the service refused the operation
REFUSED = object()


def attempt(request: HttpRequest, operation, job, **arguments):
    """Run one of the job service's operations as the signed-in administrator; on refusal, say why
    on the next page and return ``REFUSED``."""
    try:
        return operation(job, jobs.Actor.of(request), **arguments)
    except jobs.JobError as exc:
        messages.error(request, str(exc))
        return REFUSED


def start_and_show(request: HttpRequest, application, operation, *, back: str, show: str, **arguments):
    """Start a background operation of the job service (a preview, a discovery, provision on demand) and
    show its record; on refusal go ``back`` and say why."""
    record = attempt(request, operation, application.job, **arguments)
    if record is REFUSED:
        return redirect(back, application.id)
    return redirect(show, application.id, record.pk)


def _operation(operation, success: str):
    """A POST view of the Overview's command bar: run the operation, say what it did (or why not)."""

    @require_POST
    def view(request: HttpRequest, app_id: UUID) -> HttpResponse:
        application = get_application_for_administrator(request, app_id)
        if attempt(request, operation, application.job) is not REFUSED:
            messages.success(request, success)
        return redirect("portal:overview", application.id)

    view.__name__ = view.__qualname__ = operation.__name__
    return view


start = _operation(jobs.start, "Provisioning started: a cycle is starting now.")
stop = _operation(jobs.stop, "Provisioning stopped. A running cycle stops after its current batch; everything "
                             "provisioned so far is kept.")
restart = _operation(jobs.restart, "Provisioning was restarted: the next cycle reads everything again.")
allow_deletes = _operation(jobs.allow_deletes, "Deletes are allowed for the next cycle, which is starting now.")


@require_POST
def rename(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    form = RenameForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(form.errors["display_name"]))
        return redirect("portal:overview", application.id)
    applications.rename(application, form.cleaned_data["display_name"], jobs.Actor.of(request))
    messages.success(request, "The application was renamed.")
    return redirect("portal:overview", application.id)


@require_POST
def delete(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    if request.POST.get("confirm_name", "").strip() != application.display_name:
        messages.error(request, "The application was not deleted: type its name to confirm.")
        return redirect("portal:overview", application.id)
    applications.delete(application, jobs.Actor.of(request))
    messages.success(request, f"{application.display_name} was deleted. Nothing changed in Dropbox; its provisioning "
                              "logs stay readable under Deleted applications until the retention period ends.")
    return redirect("portal:applications")


@require_POST
def preview_start(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    return start_and_show(request, application, jobs.request_preview, back="portal:overview", show="portal:preview")


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
        "actions_available": sorted(record.counts), "writes": _writes(record.counts),
        **_comparison(record, request.GET.get("changed_page")),
    })


def _writes(counts: dict) -> int:
    return sum(n for a, n in counts.items() if a in ("Create", "Update", "Enable", "Disable", "Delete"))


def _comparison(record: CyclePreview, page_number) -> dict:
    """For a preview with unsaved changes: the counts beside those as saved, and the objects whose planned
    action the changes would change."""
    baseline = record.baseline
    if baseline is None:
        return {"baseline": None, "comparing": False}
    if "running" in (record.status, baseline.status) or "failed" in (record.status, baseline.status):
        return {"baseline": baseline, "comparing": False}
    saved = {(t, sid): a for t, sid, a in baseline.actions.values_list("object_type", "source_id", "action")}
    rows = {(r.object_type, r.source_id): r for r in record.actions.all()}
    changed = []
    for key in sorted(set(saved) | set(rows)):
        draft = rows.get(key)
        now, then = saved.get(key, "No change"), draft.action if draft else "No change"
        if now != then:
            changed.append({"identity": (draft.display_name or draft.user_principal_name) if draft else key[1],
                            "upn": draft.user_principal_name if draft else "", "type": key[0], "saved": now,
                            "draft": then, "reason": draft.reason if draft else "",
                            "changes": draft.changes if draft else []})
    names = sorted(set(record.counts) | set(baseline.counts))
    return {"baseline": baseline, "comparing": True,
            "count_rows": [(n, baseline.counts.get(n, 0), record.counts.get(n, 0)) for n in names],
            "changed": Paginator(changed, 100).get_page(page_number), "changed_count": len(changed),
            "baseline_writes": _writes(baseline.counts)}

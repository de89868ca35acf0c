"""Log streaming: the destinations that receive every provisioning log row and audit event, and the
dead letters (batches a destination refused too often), each to be retried or discarded."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from provisioning import audit
from provisioning.constants import AuditActivity
from provisioning.models import StreamDestination, StreamEntry
from provisioning.streaming.delivery import retry

from ..permissions import administrator_required
from ..streaming_forms import DestinationForm

_TARGET_TYPE = "Log streaming destination"


def _describe(destination: StreamDestination) -> dict:
    """What the audit trail keeps of a destination (the token only as set/changed: see audit.redact)."""
    return {"name": destination.name, "type": destination.get_kind_display(), "enabled": destination.enabled,
            "send_logs": destination.send_logs, "send_audit": destination.send_audit, "url": destination.url,
            "host": destination.host, "port": destination.port, "tls": destination.tls,
            "ca_file": destination.ca_file, "path": destination.path, "max_attempts": destination.max_attempts,
            "token": destination.token}


@require_safe
@administrator_required
def destinations(request: HttpRequest) -> HttpResponse:
    rows = StreamDestination.objects.annotate(
        pending=Count("entries", filter=Q(entries__dead_at__isnull=True)),
        dead=Count("entries", filter=Q(entries__dead_at__isnull=False)))
    return render(request, "portal/streaming/destinations.html", {"destinations": rows, "section": "streaming"})


def _form_page(request: HttpRequest, form: DestinationForm, destination: StreamDestination | None,
               status: int = 200) -> HttpResponse:
    context = {"form": form, "destination": destination, "section": "streaming"}
    return render(request, "portal/streaming/destination_form.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@administrator_required
def add_destination(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _form_page(request, DestinationForm(), None)
    form = DestinationForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, None, status=400)
    with transaction.atomic():
        destination = form.save()
        audit.record(AuditActivity.ADD_STREAM_DESTINATION, request=request, target_type=_TARGET_TYPE,
                     target_id=str(destination.pk), target_display=destination.name, after=_describe(destination))
    messages.success(request, f"Log streaming destination {destination.name} added.")
    return redirect("portal:streaming")


@require_http_methods(["GET", "HEAD", "POST"])
@administrator_required
def edit_destination(request: HttpRequest, destination_id: int) -> HttpResponse:
    destination = get_object_or_404(StreamDestination, pk=destination_id)
    if request.method != "POST":
        return _form_page(request, DestinationForm(instance=destination), destination)
    before = _describe(destination)
    form = DestinationForm(request.POST, instance=destination)
    if not form.is_valid():
        return _form_page(request, form, destination, status=400)
    with transaction.atomic():
        destination = form.save()
        audit.record(AuditActivity.UPDATE_STREAM_DESTINATION, request=request, target_type=_TARGET_TYPE,
                     target_id=str(destination.pk), target_display=destination.name, before=before,
                     after=_describe(destination))
    messages.success(request, f"Log streaming destination {destination.name} saved.")
    return redirect("portal:streaming")


@require_POST
@administrator_required
def delete_destination(request: HttpRequest, destination_id: int) -> HttpResponse:
    destination = get_object_or_404(StreamDestination, pk=destination_id)
    with transaction.atomic():
        audit.record(AuditActivity.DELETE_STREAM_DESTINATION, request=request, target_type=_TARGET_TYPE,
                     target_id=str(destination.pk), target_display=destination.name, before=_describe(destination))
        destination.delete()
    messages.success(request, f"Log streaming destination {destination.name} deleted, with what it had not "
                              "delivered yet.")
    return redirect("portal:streaming")


@require_safe
@administrator_required
def dead_letters(request: HttpRequest) -> HttpResponse:
    entries = StreamEntry.objects.filter(dead_at__isnull=False).select_related("destination").order_by("id")[:500]
    return render(request, "portal/streaming/dead_letters.html", {"entries": entries, "section": "streaming"})


def _dead_entry(entry_id: int) -> StreamEntry:
    return get_object_or_404(StreamEntry.objects.select_related("destination"), pk=entry_id, dead_at__isnull=False)


def _describe_entry(entry: StreamEntry) -> dict:
    return {"destination": entry.destination.name, "kind": entry.get_kind_display(), "rows": len(entry.refs),
            "attempts": entry.attempts, "error": entry.last_error}


@require_POST
@administrator_required
def retry_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    with transaction.atomic():
        entry = _dead_entry(entry_id)
        retry(entry)
        audit.record(AuditActivity.RETRY_STREAM_ENTRY, request=request, target_type=_TARGET_TYPE,
                     target_id=str(entry.destination_id), target_display=entry.destination.name,
                     before=_describe_entry(entry), detail=f"Dead letter {entry.pk} queued for delivery again.")
    messages.success(request, f"The batch of {len(entry.refs)} rows will be delivered to {entry.destination.name} "
                              "again within seconds.")
    return redirect("portal:stream_dead_letters")


@require_POST
@administrator_required
def discard_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    with transaction.atomic():
        entry = _dead_entry(entry_id)
        audit.record(AuditActivity.DISCARD_STREAM_ENTRY, request=request, target_type=_TARGET_TYPE,
                     target_id=str(entry.destination_id), target_display=entry.destination.name,
                     before=_describe_entry(entry), detail=f"Dead letter {entry.pk} discarded: its rows are not sent.")
        entry.delete()
    messages.success(request, f"The batch of {len(entry.refs)} rows was discarded; it stays in the portal's logs.")
    return redirect("portal:stream_dead_letters")

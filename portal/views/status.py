"""Service status, health check and the demo outbox."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from provisioning.health import readiness, service_states

from ..permissions import administrator_required, reader_required


@never_cache
@require_safe
@reader_required
def services(request: HttpRequest) -> HttpResponse:
    """The worker and scheduler badge in the top bar, refreshed by the page."""
    return render(request, "portal/partials/service_status.html", {"services": service_states()})


@never_cache
@require_safe
@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers and compose healthchecks: the portal answers and reaches its database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
@login_not_required
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness, for load balancers and monitors: 200 when the database and the broker answer and a worker
    and the scheduler sent a heartbeat lately; 503 otherwise, the body saying which part failed."""
    checks = readiness()
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)


def _read_outbox(limit: int = 50) -> list[dict]:
    folder = Path(settings.EMAIL_FILE_PATH)
    if not folder.is_dir():
        return []
    messages = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]:
        # The file backend separates messages in one file with a line of 79 dashes.
        for chunk in path.read_text(errors="replace").split("-" * 79):
            if chunk.strip():
                message = email.message_from_string(chunk.strip(), policy=email.policy.default)
                body = message.get_body(preferencelist=("plain",))
                messages.append(
                    {
                        "subject": message["subject"],
                        "to": message["to"],
                        "date": message["date"],
                        "body": body.get_content() if body else "",
                    }
                )
    return messages


@require_safe
@administrator_required
def outbox(request: HttpRequest) -> HttpResponse:
    """Mail the portal sent, when it writes mail to files (the demo) instead of SMTP."""
    if settings.EMAIL_BACKEND != "django.core.mail.backends.filebased.EmailBackend":
        raise Http404("Mail is sent through SMTP; there is no local outbox.")
    return render(request, "portal/outbox.html", {"messages_sent": _read_outbox(), "section": "outbox"})

"""Whether the background services are alive, from what they last wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone


@dataclass
class ServiceState:
    name: str
    last_seen: datetime | None
    alive: bool

    @property
    def label(self) -> str:
        return "Running" if self.alive else ("Not running" if self.last_seen is None else "Stopped")


def _fresh(moment: datetime | None, now: datetime) -> bool:
    # Three missed beats before calling a service down: one slow beat is not an outage.
    return moment is not None and now - moment <= timedelta(seconds=3 * settings.HEARTBEAT_SECONDS + 5)


def service_states() -> list[ServiceState]:
    from django_celery_beat.models import PeriodicTask

    from .models import ServiceHeartbeat
    from .schedules import HEARTBEAT_TASK_NAME

    now = timezone.now()
    worker = ServiceHeartbeat.objects.filter(name="worker").values_list("last_seen", flat=True).first()
    beat = PeriodicTask.objects.filter(name=HEARTBEAT_TASK_NAME).values_list("last_run_at", flat=True).first()
    return [
        ServiceState("Worker", worker, _fresh(worker, now)),
        ServiceState("Scheduler", beat, _fresh(beat, now)),
    ]


def readiness() -> dict[str, dict]:
    """Each part the portal needs to do its work, and whether it answers: the database, the broker, and
    recent heartbeats of a worker and of the scheduler. Errors are said without addresses or secrets."""
    from .audit import redact_text

    checks: dict[str, dict] = {}
    try:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True}
    except Exception as exc:  # any failure of the database is "not ready", said plainly
        checks["database"] = {"ok": False, "error": f"The database does not answer ({exc.__class__.__name__})."}
    checks["broker"] = _broker()
    try:
        for state in service_states():
            checks[state.name.lower()] = {"ok": state.alive, "last_seen": state.last_seen.isoformat()
                                          if state.last_seen else None,
                                          **({} if state.alive else {"error": f"No heartbeat of the "
                                                                              f"{state.name.lower()} for "
                                                                              f"{3 * settings.HEARTBEAT_SECONDS + 5}"
                                                                              " seconds."})}
    except Exception as exc:
        checks["worker"] = checks["scheduler"] = {"ok": False, "error": redact_text(
            f"The heartbeats could not be read ({exc.__class__.__name__}).")}
    return checks


def _broker() -> dict:
    from portal.celery import app

    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0.2, timeout=2)
        return {"ok": True}
    except Exception as exc:  # unreachable, refused, wrong credentials: not ready
        return {"ok": False, "error": f"The message broker does not answer ({exc.__class__.__name__})."}

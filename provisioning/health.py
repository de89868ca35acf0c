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

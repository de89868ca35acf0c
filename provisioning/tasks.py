"""Celery tasks. Each is a few lines: take primary keys, claim, call plain code."""

from __future__ import annotations

import socket

from celery import shared_task
from django.utils import timezone

from .models import ServiceHeartbeat


@shared_task(name="provisioning.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Record that a worker is alive (beat's own liveness is its last_run_at)."""
    ServiceHeartbeat.objects.update_or_create(
        name="worker", defaults={"last_seen": timezone.now(), "hostname": socket.gethostname()}
    )

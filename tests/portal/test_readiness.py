"""/readyz: ready only when the database and the broker answer and a worker and the
scheduler sent a heartbeat lately; otherwise 503 with the part that failed, in
words that carry no address or secret. Open to load balancers without a session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from portal.celery import app as celery_app
from provisioning.models import ServiceHeartbeat
from provisioning.schedules import HEARTBEAT_TASK_NAME, ensure_periodic_tasks

pytestmark = pytest.mark.django_db


def beats(age: timedelta = timedelta(0)) -> None:
    ensure_periodic_tasks()
    ServiceHeartbeat.objects.update_or_create(name="worker", defaults={"last_seen": timezone.now() - age})
    PeriodicTask.objects.filter(name=HEARTBEAT_TASK_NAME).update(last_run_at=timezone.now() - age)


def test_ready_when_every_part_answers(client):
    beats()
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True, "broker": True, "worker": True, "scheduler": True}


def test_not_ready_without_recent_heartbeats_and_it_says_which(client, settings):
    beats(age=timedelta(seconds=3 * settings.HEARTBEAT_SECONDS + 60))
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"]
    assert not checks["worker"]["ok"] and "No heartbeat of the worker" in checks["worker"]["error"]
    assert not checks["scheduler"]["ok"] and checks["scheduler"]["last_seen"]


def test_not_ready_when_the_broker_does_not_answer_and_no_address_is_told(client, monkeypatch):
    beats()
    nowhere = "redis://:s3cret-password@127.0.0.1:1/0"
    # Celery derives the read URL from the other: the read URL first, or what is put back is the patched one
    for name in ("broker_read_url", "broker_url"):
        monkeypatch.setattr(celery_app.conf, name, nowhere)
    response = client.get("/readyz")
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["ok"] is False and broker["error"].startswith("The message broker does not answer")
    assert "s3cret" not in response.content.decode() and "127.0.0.1" not in response.content.decode()

"""A task the portal sends is executed by a real worker process, on the
embedded SQLite broker (the default) and on Redis (production)."""

from __future__ import annotations

import os

import pytest
from kombu import Connection

from portal.celery import app as celery_app
from provisioning.models import ServiceHeartbeat
from tests.conftest import require
from tests.workers import CeleryProcess, child_environment, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _redis_reachable(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "redis"])
def broker(request, tmp_path):
    """(broker URL, transport options, extra environment for the worker)."""
    if request.param == "sqlite":
        path = str(tmp_path / "queue.sqlite3")
        return "sqlite://", {"path": path}, {"CELERY_BROKER_URL": "sqlite://", "CELERY_SQLITE_PATH": path}
    require(_redis_reachable(REDIS_URL), "Redis")
    with Connection(REDIS_URL) as conn:
        conn.default_channel.queue_purge("celery")
    return REDIS_URL, {}, {"CELERY_BROKER_URL": REDIS_URL}


def test_a_real_worker_executes_a_task_the_portal_sends(broker):
    url, options, worker_env = broker
    assert not ServiceHeartbeat.objects.exists()
    with CeleryProcess("worker", "--pool", "solo", env=child_environment(**worker_env)) as worker:
        with Connection(url, transport_options=options) as conn:
            celery_app.send_task("provisioning.tasks.heartbeat", connection=conn)
        beat = wait_until(lambda: ServiceHeartbeat.objects.filter(name="worker").first(), timeout=30)
        assert beat is not None, "".join(worker.output[-30:])
        assert worker.wait_for_output("provisioning.tasks.heartbeat")

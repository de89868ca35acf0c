"""The Celery application. Worker: ``celery -A portal worker``; beat:
``celery -A portal beat`` (django-celery-beat's database scheduler)."""

import os

from celery import Celery, signals

from provisioning.metrics.calls import flush_soon

from . import broker  # noqa: F401  (registers the embedded "sqlite://" transport)
from .log_format import configure_celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
configure_celery()
# Calls to the services counted by a task's process are stored within a few seconds of its end.
signals.task_postrun.connect(flush_soon, weak=False)


@signals.worker_process_init.connect
def _warm_up(**_kwargs) -> None:
    """Each worker process loads the target SDKs as it starts, not inside its first cycle."""
    from provisioning.targets import warm_up

    warm_up()

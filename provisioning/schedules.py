"""The periodic tasks beat runs, kept in django-celery-beat's tables.

They are written after every ``migrate`` so that the code is the source of
truth; administrators can still pause one in the Django admin (its ``enabled``
flag is left as they set it).
"""

from __future__ import annotations

from django.conf import settings

from .streaming import conf as streaming_conf

HEARTBEAT_TASK_NAME = "Heartbeat"


def periodic_tasks() -> list[dict]:
    """(name, task, every seconds) of every periodic task."""
    return [
        {"name": HEARTBEAT_TASK_NAME, "task": "provisioning.tasks.heartbeat", "every": settings.HEARTBEAT_SECONDS},
        # Cycles can be as often as every minute: look for due jobs several times a minute.
        {"name": "Start due provisioning cycles", "task": "provisioning.tasks.dispatch_due_jobs",
         "every": settings.DISPATCH_SECONDS},
        {"name": "Purge old provisioning logs", "task": "provisioning.tasks.purge_old_logs", "every": 3600},
        {"name": "Deliver streamed logs", "task": "provisioning.tasks.deliver_streams",
         "every": streaming_conf.deliver_seconds()},
        {"name": "Check alerts", "task": "provisioning.tasks.check_alerts", "every": 300},
    ]


def ensure_periodic_tasks(**kwargs) -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for spec in periodic_tasks():
        schedule, _ = IntervalSchedule.objects.get_or_create(every=spec["every"], period=IntervalSchedule.SECONDS)
        task, created = PeriodicTask.objects.get_or_create(
            name=spec["name"], defaults={"task": spec["task"], "interval": schedule}
        )
        if not created and (task.task != spec["task"] or task.interval_id != schedule.id):
            task.task, task.interval = spec["task"], schedule
            task.save()

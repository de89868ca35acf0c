"""The Django project: settings, URLs, the Celery app and the blade's views."""

from .celery import app as celery_app

__all__ = ["celery_app"]

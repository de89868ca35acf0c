"""Failure notifications by email: at most one per reason per day per job."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

log = logging.getLogger(__name__)


def notify(job, reason: str, subject: str, body: str) -> bool:
    """Mail the job's notification address about ``reason``, unless it was mailed in the last day
    or notifications are off. Returns whether a message was sent."""
    from .models import NotificationSent

    if not (job.notify_on_failure and job.notification_email):
        return False
    now = timezone.now()
    with transaction.atomic():
        sent = NotificationSent.objects.select_for_update().filter(job=job, reason=reason).first()
        if sent is not None and now - sent.sent_at < timedelta(days=1):
            return False
        try:
            NotificationSent.objects.update_or_create(job=job, reason=reason,
                                                      defaults={"sent_at": now, "subject": subject[:300]})
        except IntegrityError:  # another worker recorded it first
            return False
    link = settings.SITE_URL + reverse("portal:overview", args=[job.application_id])
    message = f"{body}\n\nApplication: {job.application.display_name}\nJob: {job.job_id}\nOpen the portal: {link}\n"
    try:
        send_mail(f"[{job.application.display_name}] {subject}", message, None, [job.notification_email])
    except Exception:  # a mail server outage must not fail the cycle
        log.exception("Could not send the notification %r", subject)
        return False
    return True

"""Failure notifications by email: at most one per reason per day per job."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from .audit import redact_text

log = logging.getLogger(__name__)


def notify(job, reason: str, subject: str, body: str) -> bool:
    """Mail the job's notification address about ``reason``, unless it was mailed in the last day
    or notifications are off. Returns whether a message was sent."""
    from .models import NotificationSent

    if not (job.notify_on_failure and job.notification_email):
        return False
    now = timezone.now()
    link = settings.SITE_URL + reverse("portal:overview", args=[job.application_id])
    message = redact_text(f"{body}\n\nApplication: {job.application.display_name}\nJob: {job.job_id}\n"
                          f"Open the portal: {link}\n")
    with transaction.atomic():
        # The row is locked while the mail is sent, so two workers never both send it; it is
        # stamped only once the mail is out, so an outage does not silence a reason for a day.
        try:
            sent, _ = NotificationSent.objects.select_for_update().get_or_create(
                job=job, reason=reason, defaults={"sent_at": now - timedelta(days=2)})
        except IntegrityError:
            return False
        if now - sent.sent_at < timedelta(days=1):
            return False
        try:
            send_mail(f"[{job.application.display_name}] {subject}", message, None, [job.notification_email])
        except Exception:  # a mail server outage must not fail the cycle
            log.exception("Could not send the notification %r", subject)
            return False
        sent.sent_at, sent.subject = now, subject[:300]
        sent.save(update_fields=["sent_at", "subject"])
    return True

"""Alerts on what matters, each with its threshold in Settings (empty switches it off):

- ``no_success``: no cycle completed for ``alert_no_success_hours`` while provisioning is On;
- ``deprovisions``: one cycle suspended or removed more than ``alert_deprovisions_above`` members
  (an early warning below the accidental-deletion threshold, which stops a cycle);
- ``credentials``: the Dropbox authorization was rejected (revoked, or its admin lost the role);
- ``failures``: more than ``alert_failure_percent`` of a cycle's writes failed;
- ``escrow``: the objects waiting for a retry grew in each of the last ``alert_escrow_cycles`` cycles.

Each alert is mailed to the Notification Email (when "Send an email notification when a failure
occurs" is on) and posted as JSON to the alert webhook (with a Slack- and Teams-style ``text``),
at most once per reason per ``alert_repeat_hours`` while it fires, and once more, "resolved",
when it clears. A rejected authorization and failed writes are mailed by the failure
notifications already: their alerts mail only the resolved message. Checks run when a cycle ends and
from beat every few minutes (so that "no cycle completed" fires when nothing runs at all).
A row per job and reason (``AlertState``), locked while it is decided, keeps two workers from
sending the same alert twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .audit import redact_text
from .constants import Action, CycleStatus, LogStatus

log = logging.getLogger(__name__)

REASONS = ("no_success", "deprovisions", "credentials", "failures", "escrow")
TITLES = {
    "no_success": "No provisioning cycle completed",
    "deprovisions": "Many members suspended or removed in one cycle",
    "credentials": "The Dropbox authorization was rejected",
    "failures": "Many writes to Dropbox failed",
    "escrow": "Objects waiting for a retry keep growing",
}
MAILED_AS_FAILURES = ("credentials", "failures")
WRITE_ACTIONS = (Action.CREATE, Action.UPDATE, Action.DISABLE, Action.ENABLE, Action.DELETE)
COMPLETED = (CycleStatus.SUCCEEDED, CycleStatus.COMPLETED_WITH_FAILURES)


@dataclass(frozen=True)
class Check:
    """One reason's verdict now: firing or not, in words; ``remember`` is kept for the next check."""

    firing: bool
    message: str = ""
    remember: list | None = None


def _count(counters: dict, actions, status: str | None = None) -> int:
    total = 0
    for action in actions:
        by_status = counters.get(action) or {}
        total += sum(by_status.values()) if status is None else by_status.get(status, 0)
    return total


def _last_finished(job):
    from .models import SyncCycle

    return SyncCycle.objects.filter(job=job, finished_at__isnull=False).order_by("-finished_at", "-pk").first()


def check_no_success(job, now, history) -> Check | None:
    if job.alert_no_success_hours is None or not job.enabled:
        return None
    from .models import SyncCycle

    limit = timedelta(hours=job.alert_no_success_hours)
    last = (SyncCycle.objects.filter(job=job, status__in=COMPLETED, finished_at__isnull=False)
            .order_by("-finished_at").values_list("finished_at", flat=True).first())
    since = last or job.updated_at
    if now - since <= limit:
        return Check(False)
    if last is None:
        return Check(True, f"Provisioning is On, and no cycle has completed in the {job.alert_no_success_hours} "
                           "hours since it was configured.")
    return Check(True, f"The last cycle that completed ended {timezone.localtime(last):%Y-%m-%d %H:%M %Z}, "
                       f"more than {job.alert_no_success_hours} hours ago.")


def check_deprovisions(job, now, history) -> Check | None:
    if job.alert_deprovisions_above is None:
        return None
    cycle = _last_finished(job)
    if cycle is None:
        return Check(False)
    done = _count(cycle.counters or {}, (Action.DISABLE, Action.DELETE), LogStatus.SUCCESS)
    if done <= job.alert_deprovisions_above:
        return Check(False)
    return Check(True, f"The cycle that ended {timezone.localtime(cycle.finished_at):%Y-%m-%d %H:%M %Z} suspended "
                       f"or removed {done} members (the alert is set above {job.alert_deprovisions_above}).")


def check_credentials(job, now, history) -> Check | None:
    if not job.alert_credentials:
        return None
    if job.is_quarantined and job.quarantine_kind == "credentials":
        return Check(True, redact_text(job.quarantine_reason or "Dropbox rejected the stored credentials.")
                     + " Select Authorize on the Provisioning page again.")
    if job.enabled and not job.is_authorized:
        return Check(True, "Provisioning is On but the portal holds no Dropbox authorization: select Authorize.")
    return Check(False)


def check_failures(job, now, history) -> Check | None:
    if job.alert_failure_percent is None:
        return None
    cycle = _last_finished(job)
    if cycle is None:
        return Check(False)
    counters = cycle.counters or {}
    failed = _count(counters, WRITE_ACTIONS, LogStatus.FAILURE)
    writes = failed + _count(counters, WRITE_ACTIONS, LogStatus.SUCCESS)
    if not writes or failed * 100 <= job.alert_failure_percent * writes:
        return Check(False)
    return Check(True, f"{failed} of {writes} writes ({failed * 100 // writes}%) failed in the cycle that ended "
                       f"{timezone.localtime(cycle.finished_at):%Y-%m-%d %H:%M %Z} (the alert is set above "
                       f"{job.alert_failure_percent}%). See Provisioning logs, status Failure.")


def check_escrow(job, now, history) -> Check | None:
    if job.alert_escrow_cycles is None:
        return None
    from .models import Escrow

    cycle = _last_finished(job)
    if cycle is None:
        return Check(False, remember=history)
    sizes = [entry for entry in history if isinstance(entry, list) and len(entry) == 2]
    if not sizes or sizes[-1][0] != str(cycle.cycle_id):
        sizes.append([str(cycle.cycle_id), Escrow.objects.filter(job=job).count()])
    sizes = sizes[-(job.alert_escrow_cycles + 1):]
    counts = [n for _, n in sizes]
    growing = len(counts) == job.alert_escrow_cycles + 1 and all(b > a for a, b in zip(counts, counts[1:]))
    if not growing:
        return Check(False, remember=sizes)
    return Check(True, f"The objects waiting for a retry grew in each of the last {job.alert_escrow_cycles} cycles: "
                       f"{' → '.join(map(str, counts))}. Their errors are in Provisioning logs.", remember=sizes)


CHECKS: dict[str, Callable] = {
    "no_success": check_no_success, "deprovisions": check_deprovisions, "credentials": check_credentials,
    "failures": check_failures, "escrow": check_escrow,
}


def evaluate(job, *, now=None) -> list[tuple[str, str]]:
    """Check every reason of one job; send what fires (again, past the repeat period) or cleared.
    Returns the (reason, "firing" | "resolved") messages sent."""
    from .models import AlertState

    now = now or timezone.now()
    sent: list[tuple[str, str]] = []
    for reason, check in CHECKS.items():
        with transaction.atomic():
            state, _ = AlertState.objects.select_for_update().get_or_create(job=job, reason=reason)
            verdict = check(job, now, list(state.history or []))
            if verdict is None:  # switched off: a firing alert is closed without a message
                if state.firing:
                    state.firing, state.resolved_at = False, now
                    state.save(update_fields=["firing", "resolved_at"])
                continue
            if verdict.remember is not None:
                state.history = verdict.remember
            if verdict.firing:
                due = not state.firing or state.last_sent_at is None or \
                    now - state.last_sent_at >= timedelta(hours=job.alert_repeat_hours)
                if not state.firing:
                    state.firing, state.since = True, now
                state.message = verdict.message
                if due and _deliver(job, reason, "firing", verdict.message, since=state.since):
                    state.last_sent_at = now
                    sent.append((reason, "firing"))
            elif state.firing:
                if state.last_sent_at is None or _deliver(job, reason, "resolved", _resolved(reason, state, now),
                                                          since=state.since):
                    # An alert never sent needs no resolved message; a failed one is tried again.
                    if state.last_sent_at is not None:
                        sent.append((reason, "resolved"))
                    state.firing, state.resolved_at, state.message = False, now, ""
            state.save()
    return sent


def _resolved(reason: str, state, now) -> str:
    lasted = now - state.since if state.since else None
    minutes = int(lasted.total_seconds() // 60) if lasted else 0
    return f"Resolved: {TITLES[reason].lower()} (it lasted {minutes // 60} h {minutes % 60} min)."


def _deliver(job, reason: str, status: str, message: str, *, since) -> bool:
    """Mail and post one alert; whether it reached at least one of them (or there is nowhere to send it)."""
    application = job.application.display_name
    title = TITLES[reason] if status == "firing" else f"Resolved: {TITLES[reason]}"
    link = settings.SITE_URL + reverse("portal:overview", args=[job.application_id])
    message = redact_text(message)
    targets, delivered = 0, 0
    # A rejected authorization and failed writes are mailed already by the failure notifications
    # (provisioning.notifications): their alerts add the webhook and the resolved message.
    mail = job.notify_on_failure and job.notification_email and not (
        status == "firing" and reason in MAILED_AS_FAILURES)
    if mail:
        targets += 1
        try:
            send_mail(f"[{application}] {title}", f"{message}\n\nApplication: {application}\nJob: {job.job_id}\n"
                                                  f"Open the portal: {link}\n", None, [job.notification_email])
            delivered += 1
        except Exception:  # a mail outage must not stop the other channel or the cycle
            log.exception("Could not mail the alert %r", title)
    if job.alert_webhook_url:
        targets += 1
        body = {"reason": reason, "status": status, "title": title, "message": message,
                "application": application, "applicationId": str(job.application_id), "jobId": job.job_id,
                "since": since.isoformat() if since else None, "time": timezone.now().isoformat(), "link": link,
                "text": f"[{application}] {title}: {message}"}
        try:
            answer = requests.post(job.alert_webhook_url, json=body, timeout=10)
            answer.raise_for_status()
            delivered += 1
        except requests.RequestException as exc:
            log.warning("Could not post the alert %r to the alert webhook: %s", title, exc.__class__.__name__)
    return delivered > 0 or targets == 0


def evaluate_all() -> int:
    """Every enabled job's alerts (beat); how many messages were sent."""
    from .models import ProvisioningJob

    sent = 0
    for job in ProvisioningJob.objects.select_related("application").filter(application__deleted_at__isnull=True):
        try:
            sent += len(evaluate(job))
        except Exception:  # one job's trouble must not keep the others' alerts from being checked
            log.exception("Could not check the alerts of job %s", job.pk)
    return sent

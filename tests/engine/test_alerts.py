"""Alerts: each reason fires past its threshold, is sent once per repeat period to the mail and
the webhook, and sends a resolved message when it clears; switched off, it says nothing. The
webhook is a real HTTP server started by the test; one test runs real cycles on a worker."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from provisioning import alerts
from provisioning.constants import CycleKind, CycleStatus, JobState
from provisioning.models import AlertState, Escrow, ProvisioningJob, SyncCycle

pytestmark = pytest.mark.django_db


class Receiver:
    """An HTTP server that keeps what is posted to it, or answers ``status``."""

    def __init__(self):
        self.posts: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the http.server API)
                length = int(self.headers.get("Content-Length", 0))
                receiver.posts.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def webhook():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def alerted(application, webhook):
    job = application.job
    ProvisioningJob.objects.filter(pk=job.pk).update(
        notification_email="it@contoso.com", notify_on_failure=True, alert_webhook_url=webhook.url, enabled=True,
        target_refresh_token="token", alert_deprovisions_above=5)
    job.refresh_from_db()
    return job


def finished(job, *, status=CycleStatus.SUCCEEDED, ago=timedelta(0), counters=None) -> SyncCycle:
    return SyncCycle.objects.create(job=job, kind=CycleKind.INCREMENTAL, status=status,
                                    finished_at=timezone.now() - ago, counters=counters or {})


def test_failures_above_the_threshold_alert_once_then_resolve(alerted, webhook):
    finished(alerted, counters={"Create": {"Success": 8, "Failure": 2}})  # 20% > 10%

    assert alerts.evaluate(alerted) == [("failures", "firing")]
    assert alerts.evaluate(alerted) == []  # inside the repeat period
    (post,) = webhook.posts
    assert post["reason"] == "failures" and post["status"] == "firing"
    assert post["message"].startswith("2 of 10 writes (20%) failed in the cycle that ended ")
    assert post["text"].startswith("[Dropbox for Business] Many writes to Dropbox failed: 2 of 10 writes")
    assert post["link"].endswith(reverse("portal:overview", args=[alerted.application_id]))
    assert mail.outbox == []  # the failure notification mails failures already

    finished(alerted, counters={"Create": {"Success": 10}})
    assert alerts.evaluate(alerted) == [("failures", "resolved")]
    assert webhook.posts[-1]["status"] == "resolved"
    (message,) = mail.outbox
    assert message.subject == "[Dropbox for Business] Resolved: Many writes to Dropbox failed"
    assert not AlertState.objects.get(job=alerted, reason="failures").firing


def test_a_firing_alert_is_sent_again_after_the_repeat_period(alerted, webhook):
    finished(alerted, counters={"Disable": {"Success": 6}})
    assert alerts.evaluate(alerted) == [("deprovisions", "firing")]
    assert "suspended or removed 6 members (the alert is set above 5)" in mail.outbox[0].body

    later = timezone.now() + timedelta(hours=alerted.alert_repeat_hours, minutes=1)
    # (a day later no cycle has completed either: that alert fires too)
    assert alerts.evaluate(alerted, now=later) == [("no_success", "firing"), ("deprovisions", "firing")]
    assert [post["reason"] for post in webhook.posts] == ["deprovisions", "no_success", "deprovisions"]


def test_no_completed_cycle_for_hours_alerts_even_when_nothing_runs(alerted, webhook):
    finished(alerted, ago=timedelta(hours=30))
    finished(alerted, status=CycleStatus.FAILED, ago=timedelta(hours=1))

    assert ("no_success", "firing") in alerts.evaluate(alerted)
    assert "more than 24 hours ago" in webhook.posts[0]["message"]

    finished(alerted)
    assert ("no_success", "resolved") in alerts.evaluate(alerted)
    assert "Resolved: no provisioning cycle completed (it lasted 0 h 0 min)." in webhook.posts[-1]["message"]


def test_escrow_growing_for_n_cycles_alerts(alerted, webhook):
    sizes = [1, 2, 3, 4]
    for n in sizes:
        finished(alerted)
        Escrow.objects.filter(job=alerted).delete()
        for i in range(n):
            Escrow.objects.create(job=alerted, object_type="user", source_id=f"u{i}", not_before=timezone.now())
        sent = alerts.evaluate(alerted)
    assert sent == [("escrow", "firing")]
    assert "grew in each of the last 3 cycles: 1 → 2 → 3 → 4" in webhook.posts[-1]["message"]


def test_rejected_credentials_alert_on_the_webhook_and_mail_the_resolution(alerted, webhook):
    ProvisioningJob.objects.filter(pk=alerted.pk).update(
        state=JobState.QUARANTINED, quarantine_kind="credentials", quarantined_at=timezone.now(),
        quarantine_reason="Dropbox rejected the stored credentials: the authorization was revoked.")
    alerted.refresh_from_db()

    assert ("credentials", "firing") in alerts.evaluate(alerted)
    assert webhook.posts[-1]["message"].startswith("Dropbox rejected the stored credentials")
    assert mail.outbox == []

    ProvisioningJob.objects.filter(pk=alerted.pk).update(state=JobState.IDLE, quarantine_kind="",
                                                         quarantined_at=None, quarantine_reason="")
    alerted.refresh_from_db()
    assert ("credentials", "resolved") in alerts.evaluate(alerted)
    assert mail.outbox[0].subject.endswith("Resolved: The Dropbox authorization was rejected")


def test_switched_off_alerts_say_nothing(alerted, webhook):
    ProvisioningJob.objects.filter(pk=alerted.pk).update(
        alert_failure_percent=None, alert_deprovisions_above=None, alert_no_success_hours=None,
        alert_escrow_cycles=None, alert_credentials=False)
    alerted.refresh_from_db()
    finished(alerted, ago=timedelta(days=3), counters={"Create": {"Failure": 9}, "Delete": {"Success": 900}})
    assert alerts.evaluate(alerted) == []
    assert webhook.posts == [] and mail.outbox == []


def test_a_webhook_that_fails_is_tried_again_at_the_next_check(alerted, webhook):
    ProvisioningJob.objects.filter(pk=alerted.pk).update(notification_email="", notify_on_failure=False)
    alerted.refresh_from_db()
    webhook.status = 500
    finished(alerted, counters={"Update": {"Failure": 5}})
    assert alerts.evaluate(alerted) == []
    webhook.status = 200
    assert alerts.evaluate(alerted) == [("failures", "firing")]
    assert len(webhook.posts) == 2


def test_the_settings_form_checks_the_thresholds(alice_client, application, settings):
    from tests.portal.test_provisioning_page import form_data

    settings.DEBUG = False
    data = {**form_data(application.job), "action": "save", "alert_deprovisions_above": "600",
            "deletion_threshold": "500", "prevent_accidental_deletion": "on", "alert_failure_percent": "101",
            "alert_webhook_url": "http://hooks.example.org/x"}
    page = alice_client.post(reverse("portal:provisioning_save", args=[application.pk]), data)
    assert page.status_code == 400
    text = page.content.decode()
    assert "Set it below the accidental deletion threshold (500): that threshold stops the cycle anyway." in text
    assert "Ensure this value is less than or equal to 100." in text
    assert "The alert webhook must be an https address." in text
    application.job.refresh_from_db()
    assert application.job.alert_deprovisions_above is None

    data.update(alert_deprovisions_above="50", alert_failure_percent="25", alert_webhook_url="https://hooks.example.org/x")
    assert alice_client.post(reverse("portal:provisioning_save", args=[application.pk]), data).status_code == 302
    application.job.refresh_from_db()
    assert (application.job.alert_deprovisions_above, application.job.alert_failure_percent) == (50, 25)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_alerts_when_the_authorization_is_revoked_and_when_it_works_again(job, run_cycle, dbx, webhook):
    from tests.services import dropbox_refresh_token

    ProvisioningJob.objects.filter(pk=job.pk).update(alert_webhook_url=webhook.url)
    run_cycle(job)
    dbx.control("POST", "tokens/revoke", {})

    run_cycle(job)

    assert [(p["reason"], p["status"]) for p in webhook.posts] == [("credentials", "firing")]
    assert AlertState.objects.get(job=job, reason="credentials").firing
    job.refresh_from_db()
    job.target_refresh_token = dropbox_refresh_token(dbx)
    job.save()
    run_cycle(job)
    assert [(p["reason"], p["status"]) for p in webhook.posts] == [("credentials", "firing"),
                                                                   ("credentials", "resolved")]

"""The audit trail: written by one helper, secrets redacted, shown read-only."""

from __future__ import annotations

import json
import logging

import pytest
from django.urls import reverse

from provisioning import audit
from provisioning.constants import AuditActivity
from provisioning.models import AuditEvent

pytestmark = pytest.mark.django_db


def events_shown(response) -> str:
    """The text of the audit table's rows (not the filter's options)."""
    page = response.content.decode()
    if 'id="audit-events"' not in page:
        return ""
    table = page.split('id="audit-events"', 1)[1]
    return table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def test_it_records_who_changed_what_from_where(rf, alice, application):
    request = rf.post("/", REMOTE_ADDR="203.0.113.7")
    request.user = alice
    audit.record(
        AuditActivity.UPDATE_SETTINGS, request=request, target=application,
        before={"notification_email": "old@example.org"}, after={"notification_email": "new@example.org"},
    )
    event = AuditEvent.objects.get()
    assert event.actor == alice
    assert event.actor_display == "alice@example.org"
    assert event.ip_address == "203.0.113.7"
    assert event.application == application
    assert event.target_display == "Dropbox for Business"
    assert event.changes() == [("notification_email", "old@example.org", "new@example.org")]


def test_it_redacts_secrets_but_tells_that_they_changed(alice, application):
    audit.record(
        AuditActivity.UPDATE_SETTINGS, actor=alice, target=application,
        before={"refresh_token": "old-refresh-token-value", "client_secret": "", "mode": "Manual"},
        after={
            "refresh_token": "new-refresh-token-value",
            "client_secret": "s3cr3t-value",
            "mode": "Automatic",
            "nested": {"dropbox": {"access_token": "sl.abcdefghijklmnopqrstuvwxyz"}},
        },
        detail="Exchanged code with client_secret=s3cr3t-value and Bearer sl.abcdefghijklmnopqrstuvwxyz",
    )
    event = AuditEvent.objects.get()
    stored = str(event.before) + str(event.after) + event.detail
    for secret in ("old-refresh-token-value", "new-refresh-token-value", "s3cr3t-value", "sl.abcdefghijklmnop"):
        assert secret not in stored
    assert event.before["refresh_token"] == audit.REDACTED_CHANGED
    assert event.after["refresh_token"] == audit.REDACTED_CHANGED
    assert event.before["client_secret"] is None  # it was not set before
    assert event.after["nested"]["dropbox"]["access_token"] == audit.REDACTED
    assert event.after["mode"] == "Automatic"


def test_it_keeps_secrets_out_of_log_lines(caplog):
    logger = logging.getLogger("provisioning.test")
    handler_filter = audit.RedactSecretsFilter()
    with caplog.at_level(logging.INFO, logger="provisioning.test"):
        logger.addFilter(handler_filter)
        try:
            logger.info("token answer: %s", {"refresh_token": "abc123def456", "access_token": "sl.ZZZZZZZZZZZZZZZZZZZZ"})
        finally:
            logger.removeFilter(handler_filter)
    assert "abc123def456" not in caplog.text
    assert "sl.ZZZZZZZZ" not in caplog.text
    assert "refresh_token" in caplog.text


def test_it_writes_an_event_when_an_application_is_added(alice_client, services):
    alice_client.post(reverse("portal:gallery_add"), {"gallery_app": "dropbox-business", "display_name": "Dropbox"})
    event = AuditEvent.objects.get()
    assert event.activity == AuditActivity.ADD_APPLICATION
    assert event.actor_display == "alice@example.org"
    assert event.after["gallery_app"] == "Dropbox for Business"


def test_the_audit_logs_page_filters_by_actor_activity_and_date(bob_client, alice, bob, application):
    audit.record(AuditActivity.START, actor=alice, target=application)
    audit.record(AuditActivity.STOP, actor=bob, target=application)
    old = audit.record(AuditActivity.RESTART, actor=alice, target=application)
    AuditEvent.objects.filter(pk=old.pk).update(created_at=old.created_at.replace(year=old.created_at.year - 1))

    page = events_shown(bob_client.get(reverse("portal:audit_logs")))
    assert "Enable/start provisioning configuration" in page
    assert "Disable/pause provisioning configuration" in page
    assert "Enable/restart provisioning configuration" not in page  # older than 7 days

    page = events_shown(bob_client.get(reverse("portal:audit_logs"), {"actor": alice.pk}))
    assert "Enable/start provisioning configuration" in page
    assert "Disable/pause provisioning configuration" not in page

    page = events_shown(bob_client.get(reverse("portal:audit_logs"), {"activity": AuditActivity.STOP}))
    assert "Disable/pause provisioning configuration" in page
    assert "Enable/start provisioning configuration" not in page

    page = events_shown(
        bob_client.get(reverse("portal:audit_logs"), {"date": "custom", "start": f"{old.created_at.year - 1}-01-01"})
    )
    assert "Enable/restart provisioning configuration" in page


def test_an_application_audit_page_shows_only_its_events(bob_client, alice, application):
    from provisioning.models import Application

    other = Application.objects.create(display_name="Other team")
    audit.record(AuditActivity.START, actor=alice, target=application)
    audit.record(AuditActivity.STOP, actor=alice, target=other)
    page = events_shown(bob_client.get(reverse("portal:app_audit_logs", args=[application.pk])))
    assert "Enable/start provisioning configuration" in page
    assert "Disable/pause provisioning configuration" not in page


def test_a_custom_interval_needs_a_start_day(bob_client):
    page = bob_client.get(reverse("portal:audit_logs"), {"date": "custom"}).content.decode()
    assert "Choose the first day of the interval." in page


def test_the_django_admin_lists_audit_events_read_only(client, root, alice, application):
    audit.record(AuditActivity.START, actor=alice, target=application)
    event = AuditEvent.objects.get()
    client.force_login(root)
    listing = client.get(reverse("admin:provisioning_auditevent_changelist"), {"activity": AuditActivity.START})
    assert listing.status_code == 200
    assert "Enable/start provisioning configuration" in listing.content.decode()
    assert client.get(reverse("admin:provisioning_auditevent_add")).status_code == 403
    client.post(reverse("admin:provisioning_auditevent_delete", args=[event.pk]), {"post": "yes"})
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_it_keeps_secrets_out_of_tracebacks(caplog):
    logger = logging.getLogger("provisioning.test.traceback")
    logger.addFilter(audit.RedactSecretsFilter())
    try:
        try:
            raise RuntimeError("refresh failed for refresh_token=abcdef0123456789")
        except RuntimeError:
            logger.exception("the exchange failed")
    finally:
        logger.filters.clear()
    assert "abcdef0123456789" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_worker_processes_keep_the_redacting_log_configuration(settings):
    from portal.celery import app

    assert app.conf.worker_hijack_root_logger is False
    assert "redact" in settings.LOGGING["handlers"]["console"]["filters"]


SECRET_TEXTS = [
    "Authorization: Bearer abcdefgh12345678", "authorization: BEARER abcdefgh12345678",
    'refresh_token=abc123def456&x=1', '{"access_token": "sl.B123456789abcdefghijklmnop"}',
    "client_secret : 'hunter2hunter2'", "Password=Winter2026!", "code_verifier=xyz789", "ID_TOKEN: eyJa.eyJb.c",
    "token sl.ABCDEFGHIJKLMNOPQRSTUV in the middle", "jwt eyJhbGciOi.eyJzdWIiOi.SflKxwRJSM",
    # outside ASCII: the patterns' own case folding (the long s matches "s") must still be honoured
    "Rénée's paſſword=Geheim123 stays hidden", "Ünïcödé Bearer abcdefgh12345678",
]
PLAIN_TEXTS = [
    "", "The user is in scope and has no Dropbox account.", "Rénée Müller (renee@contoso.com) was created.",
    '{"steps": [{"name": "Import user", "status": "Success", "description": "Retrieved x from Entra ID."}]}',
    "a token of appreciation, a passage, sl without a dot, eyj lower case", "日本語のテキスト",
]


@pytest.mark.parametrize("text", SECRET_TEXTS + PLAIN_TEXTS)
def test_text_is_redacted_exactly_as_every_pattern_would_whatever_the_shortcut(text):
    expected = text
    for pattern, replacement in audit._SECRET_IN_TEXT:
        expected = pattern.sub(replacement, expected)
    assert audit.redact_text(text) == expected
    assert (audit.REDACTED in expected) == (text in SECRET_TEXTS), "each secret text holds a secret, no plain one"


@pytest.mark.parametrize("seed", range(6))
def test_lines_looked_at_together_are_redacted_exactly_as_each_alone(seed):
    import random

    lines = [json.dumps({"n": n, "text": text}) for n, text in enumerate(PLAIN_TEXTS * 40)]
    chosen = random.Random(seed).sample(range(len(lines)), seed)  # none, one, and several secrets among them
    for n, at in enumerate(chosen):
        lines[at] = json.dumps({"n": at, "text": SECRET_TEXTS[n % len(SECRET_TEXTS)]})
    redacted = audit.redact_lines(list(lines))
    assert redacted == [audit.redact_text(line) for line in lines]
    assert sum(audit.REDACTED in line for line in redacted) == len(chosen)


def test_the_quick_look_finds_every_word_the_patterns_need():
    for word in audit._NEEDED_WORDS:
        assert any(part in word for part in audit._NEEDED_PARTS), word
        assert audit.might_hold_secret(f"some text {word.upper()} more") and audit.might_hold_secret(word)
    assert not audit.might_hold_secret("The user is in scope and has no Dropbox account.")

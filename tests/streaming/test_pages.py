"""The Log streaming pages: adding, changing and deleting destinations (audited, the token never
shown back), every bad value refused next to its field and never with a 500, and the dead letters'
Retry and Discard (audited)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from provisioning.constants import AuditActivity, StreamKind
from provisioning.models import AuditEvent, StreamDestination, StreamEntry

from .conftest import record_logs

pytestmark = pytest.mark.django_db

ADD = reverse("portal:add_stream_destination")


def webhook_form(**changes) -> dict:
    form = {"name": "SIEM", "kind": StreamKind.WEBHOOK, "enabled": "on", "send_logs": "on", "send_audit": "on",
            "url": "https://siem.example.com/ingest", "host": "", "port": "", "ca_file": "", "path": "",
            "token": "", "max_attempts": "10"}
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def errors_of(response) -> str:
    assert response.status_code == 400, response.status_code
    return response.content.decode()


def test_it_lists_destinations_in_the_portal_menu(alice_client):
    StreamDestination.objects.create(name="Splunk", kind=StreamKind.SPLUNK_HEC, url="https://splunk:8088/x")
    page = alice_client.get(reverse("portal:streaming")).content.decode()
    assert "Log streaming" in page and "Splunk" in page and "Splunk HTTP Event Collector" in page


def test_it_adds_a_destination_and_audits_it_without_the_token(alice_client, certificates):
    answer = alice_client.post(ADD, webhook_form(token="s3cret-token-value", ca_file=str(certificates.ca_file)))
    assert answer.status_code == 302
    destination = StreamDestination.objects.get()
    assert destination.token == "s3cret-token-value" and destination.ca_file == str(certificates.ca_file)
    event = AuditEvent.objects.get(activity=AuditActivity.ADD_STREAM_DESTINATION)
    assert event.after["token"] == "[redacted]" and event.after["url"] == "https://siem.example.com/ingest"
    assert "s3cret" not in str(event.after)

    page = alice_client.get(reverse("portal:edit_stream_destination", args=[destination.pk])).content.decode()
    assert "s3cret" not in page and "A token is stored." in page


def test_it_keeps_the_token_when_left_empty_and_audits_a_new_one_as_changed(alice_client):
    destination = StreamDestination.objects.create(name="SIEM", kind=StreamKind.WEBHOOK,
                                                   url="https://siem.example.com/ingest", token="first-token")
    edit = reverse("portal:edit_stream_destination", args=[destination.pk])
    assert alice_client.post(edit, webhook_form(name="SIEM 2")).status_code == 302
    destination.refresh_from_db()
    assert destination.token == "first-token" and destination.name == "SIEM 2"

    assert alice_client.post(edit, webhook_form(token="second-token")).status_code == 302
    destination.refresh_from_db()
    assert destination.token == "second-token"
    event = AuditEvent.objects.filter(activity=AuditActivity.UPDATE_STREAM_DESTINATION).first()
    assert event.after["token"] == "[redacted, changed]"

    assert alice_client.post(edit, webhook_form(clear_token="on")).status_code == 302
    destination.refresh_from_db()
    assert destination.token is None


@pytest.mark.parametrize(("changes", "message"), [
    ({"url": "http://siem.example.com/ingest"}, "Enter a valid https:// address."),
    ({"url": "not a url"}, "Enter a valid https:// address."),
    ({"url": ""}, "Enter the https:// address to send to."),
    ({"kind": StreamKind.SPLUNK_HEC}, "Enter the HEC token."),
    ({"kind": StreamKind.SYSLOG, "host": "", "port": "514"}, "Enter the syslog receiver&#x27;s host."),
    ({"kind": StreamKind.SYSLOG, "host": "bad host!", "port": "514"}, "Enter a host name or an IP address."),
    ({"kind": StreamKind.SYSLOG, "host": "siem.example.com", "port": "70000"}, "Enter a port from 1 to 65535."),
    ({"kind": StreamKind.SYSLOG, "host": "siem.example.com", "port": "0"}, "Enter a port from 1 to 65535."),
    ({"kind": StreamKind.SYSLOG, "host": "siem.example.com", "port": "abc"}, "Enter a whole number."),
    ({"kind": StreamKind.SYSLOG, "host": "siem.example.com", "port": ""}, "TCP port."),
    ({"ca_file": "/nonexistent/ca.pem"}, "There is no such file on the portal&#x27;s server."),
    ({"ca_file": "relative/ca.pem"}, "Enter the absolute path of the CA file."),
    ({"kind": StreamKind.FILE, "url": "", "path": "../../etc/passwd"}, "The file must be inside"),
    ({"kind": StreamKind.FILE, "url": "", "path": ""}, "Enter a file name."),
    ({"kind": "carrier-pigeon"}, "Select a valid choice."),
    ({"max_attempts": "0"}, "Enter a number from 1 to 100."),
    ({"name": ""}, "This field is required."),
])
def test_it_refuses_bad_configuration_next_to_the_field(alice_client, changes, message):
    assert message in errors_of(alice_client.post(ADD, webhook_form(**changes)))
    assert not StreamDestination.objects.exists()


def test_it_refuses_a_ca_file_that_holds_no_certificate_or_serves_no_tls(alice_client, tmp_path, certificates):
    junk = tmp_path / "ca.pem"
    junk.write_text("this is not a certificate")
    assert "could not be read as PEM CA certificates" in errors_of(alice_client.post(ADD, webhook_form(
        ca_file=str(junk))))
    assert "used only with TLS" in errors_of(alice_client.post(ADD, webhook_form(
        kind=StreamKind.SYSLOG, host="siem.example.com", port="6514", ca_file=str(certificates.ca_file))))


def test_it_accepts_syslog_over_tls_with_a_ca_file(alice_client, certificates):
    answer = alice_client.post(ADD, webhook_form(kind=StreamKind.SYSLOG, url="", host="10.0.0.5", port="6514",
                                                 tls="on", ca_file=str(certificates.ca_file)))
    assert answer.status_code == 302
    assert StreamDestination.objects.get().tls


def test_it_deletes_a_destination_with_its_waiting_entries_audited(alice_client, application):
    destination = StreamDestination.objects.create(name="Old SIEM", kind=StreamKind.WEBHOOK,
                                                   url="https://siem.example.com/ingest")
    record_logs(application.job, 2)
    answer = alice_client.post(reverse("portal:delete_stream_destination", args=[destination.pk]))
    assert answer.status_code == 302
    assert not StreamDestination.objects.exists() and not StreamEntry.objects.exists()
    assert AuditEvent.objects.get(activity=AuditActivity.DELETE_STREAM_DESTINATION).before["name"] == "Old SIEM"


def test_readers_cannot_see_or_change_log_streaming(bob_client):
    assert bob_client.get(reverse("portal:streaming")).status_code == 403
    assert bob_client.get(reverse("portal:stream_dead_letters")).status_code == 403
    assert bob_client.post(ADD, webhook_form()).status_code == 403


def _dead_letter(application) -> StreamEntry:
    StreamDestination.objects.create(name="SIEM", kind=StreamKind.WEBHOOK, url="https://siem.example.com/ingest")
    record_logs(application.job, 3)
    entry = StreamEntry.objects.get()
    StreamEntry.objects.filter(pk=entry.pk).update(attempts=10, dead_at=timezone.now(),
                                                   last_error="The receiver answered HTTP 503: busy")
    return entry


def test_it_shows_dead_letters_with_their_error_and_retries_one_audited(alice_client, application):
    entry = _dead_letter(application)
    page = alice_client.get(reverse("portal:stream_dead_letters")).content.decode()
    assert f'id="dead-letter-{entry.pk}"' in page and "HTTP 503: busy" in page and "3 provisioning logs" in page

    assert alice_client.post(reverse("portal:retry_stream_entry", args=[entry.pk])).status_code == 302
    entry.refresh_from_db()
    assert entry.dead_at is None and entry.attempts == 0 and entry.next_attempt_at is None
    event = AuditEvent.objects.get(activity=AuditActivity.RETRY_STREAM_ENTRY)
    assert event.before["rows"] == 3 and "HTTP 503" in event.before["error"]
    # a retried entry is no dead letter any more: a second Retry finds nothing
    assert alice_client.post(reverse("portal:retry_stream_entry", args=[entry.pk])).status_code == 404


def test_it_discards_a_dead_letter_audited(alice_client, application):
    entry = _dead_letter(application)
    assert alice_client.post(reverse("portal:discard_stream_entry", args=[entry.pk])).status_code == 302
    assert not StreamEntry.objects.filter(pk=entry.pk).exists()
    assert AuditEvent.objects.get(activity=AuditActivity.DISCARD_STREAM_ENTRY).target_display == "SIEM"

"""The models of log streaming: where to send, and the outbox of what is still to be sent.
Imported by :mod:`provisioning.models`, so they belong to the ``provisioning`` app."""

from __future__ import annotations

from django.db import models

from ..constants import StreamKind
from ..fields import EncryptedTextField


class StreamDestination(models.Model):
    """A receiver that gets every provisioning log row and audit event as it is written: a syslog
    server, a Splunk HTTP Event Collector, a generic HTTPS webhook or a JSON-lines file."""

    name = models.CharField("Name", max_length=120)
    kind = models.CharField("Type", max_length=20, choices=StreamKind.choices)
    enabled = models.BooleanField("Enabled", default=True)
    send_logs = models.BooleanField("Send provisioning logs", default=True)
    send_audit = models.BooleanField("Send audit logs", default=True)
    #: webhook and Splunk HEC: the https:// address the JSON lines are posted to
    url = models.URLField("URL", max_length=500, blank=True,
                          help_text="https:// only. Splunk: https://splunk.example.com:8088/services/collector/event")
    #: syslog: the receiver's host and TCP port, and whether to speak TLS (RFC 5425) to it
    host = models.CharField("Host", max_length=255, blank=True)
    port = models.PositiveIntegerField("Port", null=True, blank=True)
    tls = models.BooleanField("Use TLS", default=False, help_text="Syslog over TLS (RFC 5425), usually port 6514.")
    #: a PEM file on the portal's machines with the CA certificates that sign the receiver's
    #: certificate; empty: the system's trusted CAs. Certificates are always verified.
    ca_file = models.CharField(
        "CA file", max_length=500, blank=True,
        help_text="Path on the portal's servers of a PEM file with the CA certificates that sign the receiver's "
                  "certificate; empty for the system's trusted CAs. Certificates are always verified.")
    #: file: where the JSON lines are appended (inside STREAM_FILE_DIR)
    path = models.CharField("File", max_length=500, blank=True)
    #: the webhook's bearer token or the HEC token; encrypted, never shown back
    token = EncryptedTextField()
    #: failed attempts of one outbox entry before it goes to the dead letters
    max_attempts = models.PositiveSmallIntegerField(
        "Attempts before dead letter", default=10,
        help_text="A batch that fails this many times goes to the dead letters.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    #: the last failure, redacted; cleared by the next delivery
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class StreamEntry(models.Model):
    """One batch of rows waiting for one destination: the outbox. Written in the transaction that
    writes the rows it names, deleted in the transaction that confirms their delivery; an entry that
    failed ``max_attempts`` times is a dead letter (``dead_at`` set) until retried or discarded."""

    LOG = "log"
    AUDIT = "audit"
    KINDS = ((LOG, "Provisioning logs"), (AUDIT, "Audit events"))

    destination = models.ForeignKey(StreamDestination, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=10, choices=KINDS)
    #: the rows: change ids of provisioning log rows, primary keys of audit events
    refs = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    #: not retried before this time (exponential backoff); null: at once
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        indexes = (models.Index(fields=["destination", "dead_at", "id"], name="stream_entry_lane"),)

    def __str__(self) -> str:
        return f"{self.destination_id}: {len(self.refs)} {self.kind}"

"""Fixtures of the log streaming tests: a CA and certificates made for the test, the receivers
(started per test), destinations pointing at them, and log rows written the way the engine writes
them (through the store, so with their outbox entries)."""

from __future__ import annotations

import uuid

import pytest

from provisioning.constants import Action, StreamKind
from provisioning.engine.store import Store
from provisioning.engine.types import Plan
from provisioning.models import StreamDestination

from .receivers import SyslogListener, WebhookReceiver, make_certificates


@pytest.fixture
def certificates(tmp_path):
    return make_certificates(tmp_path / "tls")


@pytest.fixture
def webhook(certificates):
    with WebhookReceiver(certificates.server_context()) as receiver:
        yield receiver


@pytest.fixture
def syslog_tls(certificates):
    with SyslogListener(certificates.server_context()) as listener:
        yield listener


@pytest.fixture
def fast_retries(settings):
    settings.STREAM_RETRY_BASE_SECONDS = 0
    settings.STREAM_TIMEOUT_SECONDS = 5


def webhook_destination(receiver: WebhookReceiver, certificates, **fields) -> StreamDestination:
    values = {"name": "SIEM webhook", "kind": StreamKind.WEBHOOK, "url": receiver.url,
              "ca_file": str(certificates.ca_file), "token": "webhook-token-0123456789"}
    return StreamDestination.objects.create(**{**values, **fields})


def syslog_destination(listener: SyslogListener, certificates=None, **fields) -> StreamDestination:
    values = {"name": "SIEM syslog", "kind": StreamKind.SYSLOG, "host": "127.0.0.1", "port": listener.port,
              "tls": certificates is not None, "ca_file": str(certificates.ca_file) if certificates else ""}
    return StreamDestination.objects.create(**{**values, **fields})


def record_logs(job, count: int, **plan_fields) -> list[str]:
    """Log rows written as a cycle's record phase writes them (one batch); their change ids, in order."""
    plans = [Plan(**{"object_type": "user", "action": Action.SKIP, "source_id": str(uuid.uuid4()),
                     "display_name": f"User {n}", "upn": f"user{n}@contoso.com", "reason": "Not assigned.",
                     "link": False, **plan_fields}) for n in range(count)]
    for plan in plans:
        plan.change_id = str(uuid.uuid4())
    Store(job, None).record([], plans)
    return [plan.change_id for plan in plans]

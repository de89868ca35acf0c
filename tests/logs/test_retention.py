"""Retention: the periodic purge deletes rows older than
PROVISIONING_LOG_RETENTION_DAYS and keeps the newer ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.models import ProvisioningLog
from provisioning.tasks import purge_old_logs

from .factory import make_logs

pytestmark = pytest.mark.django_db


def test_it_deletes_rows_older_than_the_retention(job, settings):
    settings.PROVISIONING_LOG_RETENTION_DAYS = 10
    now = timezone.now()
    old = make_logs(job, 4, start=now - timedelta(days=10, minutes=1))
    kept = make_logs(job, 3, start=now - timedelta(days=9, hours=23))
    assert purge_old_logs() == 4
    remaining = set(ProvisioningLog.objects.values_list("pk", flat=True))
    assert remaining == {row.pk for row in kept}
    assert not remaining & {row.pk for row in old}


def test_it_follows_the_setting(job, settings):
    rows = make_logs(job, 2, start=timezone.now() - timedelta(days=45))
    settings.PROVISIONING_LOG_RETENTION_DAYS = 60
    assert purge_old_logs() == 0
    settings.PROVISIONING_LOG_RETENTION_DAYS = 30
    assert purge_old_logs() == len(rows)
    assert not ProvisioningLog.objects.exists()


def test_it_purges_more_than_one_chunk(job, settings):
    settings.PROVISIONING_LOG_RETENTION_DAYS = 1
    make_logs(job, 5200, start=timezone.now() - timedelta(days=3))
    make_logs(job, 2)
    assert purge_old_logs() == 5200
    assert ProvisioningLog.objects.count() == 2


def test_the_page_shows_the_retention(bob_client, logs_url, settings):
    settings.PROVISIONING_LOG_RETENTION_DAYS = 14
    assert "Logs are kept for 14 days" in bob_client.get(logs_url()).content.decode()

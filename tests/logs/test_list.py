"""The "Provisioning logs" list: Entra's columns, newest first, this
application's rows only, and the retention in words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.constants import LogStatus
from provisioning.defaults import create_job
from provisioning.models import Application

from .conftest import shown_ids
from .factory import make_logs

pytestmark = pytest.mark.django_db


def test_it_shows_entras_columns_for_each_row(bob_client, job, logs_url):
    [log] = make_logs(job, 1, source_display_name="Adele Vance", source_upn="adele.vance@contoso.com",
                      status=LogStatus.FAILURE)
    page = bob_client.get(logs_url()).content.decode()
    table = page.split('id="provisioning-logs"', 1)[1]
    for heading in ("Date", "Identity", "Action", "Source System", "Target System", "Status"):
        assert f"<th>{heading}</th>" in table
    assert "Adele Vance" in table
    assert "adele.vance@contoso.com" in table
    assert "<td>Create</td>" in table
    assert "<td>Microsoft Entra ID</td>" in table
    assert "<td>Dropbox for Business</td>" in table
    assert '<span class="badge failure">Failure</span>' in table
    assert timezone.localtime(log.activity_time).strftime("%Y-%m-%d %H:%M:%S") in table


def test_it_shows_the_email_when_there_is_no_upn(bob_client, job, logs_url):
    make_logs(job, 1, source_upn="", target_email="megan@dropbox.contoso.com")
    assert "megan@dropbox.contoso.com" in bob_client.get(logs_url()).content.decode()


def test_it_lists_newest_first(bob_client, job, logs_url):
    rows = make_logs(job, 12)
    assert shown_ids(bob_client.get(logs_url())) == [row.pk for row in rows]


def test_it_shows_only_this_applications_rows(bob_client, application, job, logs_url):
    other = Application.objects.create(display_name="Dropbox (Sales)")
    make_logs(create_job(other), 5)
    mine = make_logs(job, 3)
    assert sorted(shown_ids(bob_client.get(logs_url()))) == sorted(row.pk for row in mine)


def test_it_shows_the_last_seven_days_unless_told_otherwise(bob_client, job, logs_url):
    recent = make_logs(job, 2)
    make_logs(job, 2, start=timezone.now() - timedelta(days=8))
    assert shown_ids(bob_client.get(logs_url())) == [row.pk for row in recent]
    assert 'value="7d" selected' in bob_client.get(logs_url()).content.decode()


def test_it_says_how_long_logs_are_kept(bob_client, application, logs_url, settings):
    settings.PROVISIONING_LOG_RETENTION_DAYS = 30
    assert "Logs are kept for 30 days" in bob_client.get(logs_url()).content.decode()
    settings.PROVISIONING_LOG_RETENTION_DAYS = 90
    assert "Logs are kept for 90 days" in bob_client.get(logs_url()).content.decode()


def test_it_says_when_nothing_matches(bob_client, application, logs_url):
    page = bob_client.get(logs_url()).content.decode()
    assert "No provisioning events match these filters." in page
    assert 'id="provisioning-logs"' not in page


def test_each_row_links_to_its_details(bob_client, application, job, logs_url):
    [log] = make_logs(job, 1)
    page = bob_client.get(logs_url(status="Success")).content.decode()
    # The link carries the filters, so that "Back" returns to the same view.
    assert f'href="/applications/{application.pk}/provisioning-logs/{log.pk}/?status=Success"' in page

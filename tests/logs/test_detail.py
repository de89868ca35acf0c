"""The details of one row: Steps, Troubleshooting & Recommendations (only when
something failed or was skipped), Modified Properties and Summary; as a page of
its own, or as the side panel's fragment."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from provisioning.constants import Action, LogStatus
from provisioning.defaults import create_job
from provisioning.models import Application

from .factory import make_logs

pytestmark = pytest.mark.django_db


def detail(client, application, log, **extra):
    return client.get(reverse("portal:provisioning_log_detail", args=[application.pk, log.pk]), **extra)


def section(page: str, element_id: str) -> str:
    found = re.search(rf'<section class="tab-panel" id="{element_id}">(.*?)</section>', page, re.S)
    assert found, f"no section {element_id}"
    return found.group(1)


def test_it_shows_each_step_with_its_status_description_and_details(bob_client, application, job):
    [log] = make_logs(job, 1, status=LogStatus.FAILURE, steps=[
        {"name": "Import user", "status": "Success", "description": "Retrieved megan@contoso.com.",
         "details": {"accountEnabled": True}},
        {"name": "Determine if user is in scope", "status": "Success", "description": "Assigned.", "details": {}},
        {"name": "Match user between source and target system", "status": "Success",
         "description": "Matched by email.", "details": {"matchedBy": "email", "teamMemberId": "dbmid:42"}},
        {"name": "Perform action", "status": "Failure", "description": "Create failed: no licence left.",
         "details": {"error_code": "DropboxLicenseLimit"}},
    ])
    steps = section(detail(bob_client, application, log).content.decode(), "log-steps")
    names = re.findall(r"<strong>(.*?)</strong>", steps)
    assert names == ["Import user", "Determine if user is in scope", "Match user between source and target system",
                     "Perform action"]
    assert '<strong>Perform action</strong> <span class="badge failure">Failure</span>' in steps
    assert "Create failed: no licence left." in steps
    assert "<tr><th>matchedBy</th><td>email</td></tr>" in steps
    assert "<tr><th>teamMemberId</th><td>dbmid:42</td></tr>" in steps
    assert "<tr><th>error_code</th><td>DropboxLicenseLimit</td></tr>" in steps


@pytest.mark.parametrize("status, action", [(LogStatus.FAILURE, Action.CREATE), (LogStatus.SKIPPED, Action.SKIP)])
def test_it_troubleshoots_failures_and_skips(bob_client, application, job, status, action):
    [log] = make_logs(job, 1, status=status, action=action, error_code="DropboxLicenseLimit",
                      error_reason="The team has no licence left.", recommendation="Buy more licences.")
    page = detail(bob_client, application, log).content.decode()
    assert 'href="#log-troubleshooting"' in page
    advice = section(page, "log-troubleshooting")
    assert "Troubleshooting &amp; Recommendations" in advice
    assert "DropboxLicenseLimit" in advice
    assert "The team has no licence left." in advice
    assert "Buy more licences." in advice


@pytest.mark.parametrize("status", [LogStatus.SUCCESS, LogStatus.WARNING])
def test_it_has_no_troubleshooting_when_nothing_failed_or_was_skipped(bob_client, application, job, status):
    [log] = make_logs(job, 1, status=status, action=Action.UPDATE)
    page = detail(bob_client, application, log).content.decode()
    assert "Troubleshooting" not in page
    assert 'id="log-troubleshooting"' not in page


def test_it_lists_the_modified_properties(bob_client, application, job):
    [log] = make_logs(job, 1, action=Action.UPDATE, modified_properties=[
        {"name": "givenName", "old": None, "new": "Megan"}, {"name": "surname", "old": "Bowen", "new": "Smith"}])
    properties = section(detail(bob_client, application, log).content.decode(), "log-properties")
    assert "<th>Name</th><th>Old Value</th><th>New Value</th>" in properties
    assert "<tr><td>givenName</td><td></td><td>Megan</td></tr>" in properties
    assert "<tr><td>surname</td><td>Bowen</td><td>Smith</td></tr>" in properties


def test_it_says_when_no_property_was_modified(bob_client, application, job):
    [log] = make_logs(job, 1, action=Action.DISABLE, modified_properties=[])
    assert "No properties were modified." in section(detail(bob_client, application, log).content.decode(),
                                                     "log-properties")


def test_it_summarises_the_row(bob_client, application, job):
    [log] = make_logs(job, 1, initiated_by="alice@example.org", duration_ms=1234, source_display_name="Lee Gu",
                      source_upn="lee.gu@contoso.com", target_email="lee.gu@dropbox.contoso.com",
                      target_id="dbmid:lee")
    summary = section(detail(bob_client, application, log).content.decode(), "log-summary")
    for label, value in [
        ("Cycle ID", str(log.cycle_id)), ("Change ID", str(log.change_id)), ("Job ID", job.job_id),
        ("Initiated by", "alice@example.org"), ("Duration", "1234 ms"), ("Source ID", log.source_id),
        ("Source display name", "Lee Gu"), ("Source user principal name", "lee.gu@contoso.com"),
        ("Target ID", "dbmid:lee"), ("Target email", "lee.gu@dropbox.contoso.com"),
        ("Source system", "Microsoft Entra ID"), ("Target system", "Dropbox for Business"),
    ]:
        assert re.search(rf"<th>{label}</th><td[^>]*>{re.escape(value)}</td>", summary), label
    assert "<th>Activity date</th>" in summary


def test_it_offers_all_four_tabs_in_entras_order(bob_client, application, job):
    [log] = make_logs(job, 1, status=LogStatus.FAILURE)
    page = detail(bob_client, application, log).content.decode()
    assert re.findall(r'<a href="#[^"]+" data-tab>(.*?)</a>', page) == [
        "Steps", "Troubleshooting &amp; Recommendations", "Modified Properties", "Summary"]


def test_the_page_links_back_to_the_list_with_its_filters(bob_client, application, job):
    [log] = make_logs(job, 1)
    url = reverse("portal:provisioning_log_detail", args=[application.pk, log.pk]) + "?status=Success&date=30d"
    page = bob_client.get(url).content.decode()
    assert f'href="/applications/{application.pk}/provisioning-logs/?status=Success&amp;date=30d" ' \
           f'id="back-to-logs"' in page
    assert "<h1>Dropbox for Business | Provisioning logs</h1>" in page


def test_the_side_panel_gets_the_details_without_the_page_around_them(bob_client, application, job):
    [log] = make_logs(job, 1)
    response = detail(bob_client, application, log, headers={"X-Requested-With": "fetch"})
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div class="log-detail" id="log-detail"')
    assert "<html" not in fragment
    assert 'id="log-steps"' in fragment


def test_it_does_not_show_another_applications_row(bob_client, application):
    other = Application.objects.create(display_name="Dropbox (Sales)")
    [log] = make_logs(create_job(other), 1)
    assert detail(bob_client, application, log).status_code == 404
    assert detail(bob_client, other, log).status_code == 200

"""Provisioning logs in a real browser: a reader filters by status and identity
through the form, opens a row's steps in the side panel, and downloads the CSV
zip."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from provisioning.constants import Action, LogStatus
from tests.logs.factory import make_logs

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reader_filters_the_logs_opens_the_steps_and_downloads_the_csv(page, bob, application, screenshot,
                                                                         heartbeats):
    job = application.job
    rows = make_logs(job, 70)
    rows += make_logs(job, 3, source_display_name="Megan Bowen", source_upn="megan.bowen@contoso.com",
                      action=Action.CREATE, status=LogStatus.FAILURE, error_code="DropboxLicenseLimit",
                      error_reason="The Dropbox team has no licence left for a new member.",
                      recommendation="Buy more licences in the Dropbox admin console.")
    expected = sorted(
        (row for row in rows if row.status == LogStatus.FAILURE
         and any(v.lower().startswith("megan") for v in (row.source_display_name, row.source_upn, row.target_email))),
        key=lambda row: (row.activity_time, row.pk), reverse=True)
    assert len(expected) >= 3

    sign_in(page, bob)
    page.goto(f"/applications/{application.pk}/provisioning-logs/")
    assert page.locator("h1").inner_text() == "Dropbox for Business | Provisioning logs"
    assert page.locator("#provisioning-logs tbody tr").count() == 50
    assert "Logs are kept for 30 days" in page.locator("#log-retention").inner_text()
    # From and To appear only for a custom interval.
    assert page.locator("#id_start").is_hidden()
    page.select_option("#id_date", "custom")
    assert page.locator("#id_start").is_visible()
    page.select_option("#id_date", "7d")

    page.select_option("#id_status", "Failure")
    page.fill("#id_identity", "megan")
    page.click("#log-filters button[type=submit]")
    page.wait_for_url("**status=Failure**")
    assert "identity=megan" in page.url
    shown = page.locator("#provisioning-logs tbody tr")
    assert shown.count() == len(expected)
    assert [int(pk) for pk in shown.evaluate_all("rows => rows.map(r => r.dataset.logId)")] == \
        [row.pk for row in expected]
    assert set(page.locator("#provisioning-logs tbody td .badge").all_inner_texts()) == {"Failure"}
    screenshot(page, "provisioning-logs")

    page.locator("#provisioning-logs tbody tr").first.locator("a[data-log-detail]").click()
    panel = page.locator("#log-panel")
    panel.locator(".log-detail").wait_for()
    assert panel.locator("#log-steps").is_visible()
    assert panel.locator(".step strong").all_inner_texts() == [
        "Import user", "Determine if user is in scope", "Match user between source and target system",
        "Perform action"]
    assert "Failure" in panel.locator(".step").last.inner_text()
    assert panel.locator("#log-summary").is_hidden()
    panel.locator("a[data-tab][href='#log-troubleshooting']").click()
    assert "DropboxLicenseLimit" in panel.locator("#log-troubleshooting").inner_text()
    assert panel.locator("#log-steps").is_hidden()
    panel.locator("a[data-tab][href='#log-steps']").click()
    screenshot(page, "provisioning-log-detail", full_page=False)
    page.keyboard.press("Escape")
    assert panel.is_hidden()

    page.click("#download-menu summary")
    with page.expect_download() as info:
        page.click("#download-csv")
    download = info.value
    assert download.suggested_filename.startswith("ProvisioningLogs_Dropbox-for-Business_")
    assert download.suggested_filename.endswith(".zip")
    with open(download.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    files = {name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
             for name in archive.namelist()}
    assert list(files) == ["ProvisioningLogs.csv", "ProvisioningLogs_ProvisioningSteps.csv",
                           "ProvisioningLogs_ModifiedProperties.csv"]
    change_ids = [line["Change ID"] for line in files["ProvisioningLogs.csv"]]
    assert change_ids == [str(row.change_id) for row in expected]
    assert {line["Status"] for line in files["ProvisioningLogs.csv"]} == {"Failure"}
    assert {line["Change ID"] for line in files["ProvisioningLogs_ProvisioningSteps.csv"]} == set(change_ids)


def test_a_row_opens_as_a_page_of_its_own_without_the_panel(page, bob, application):
    [log] = make_logs(application.job, 1, status=LogStatus.SKIPPED, action=Action.SKIP)
    sign_in(page, bob)
    page.goto(f"/applications/{application.pk}/provisioning-logs/{log.pk}/?status=Skipped")
    assert page.locator(".tabs a").all_inner_texts() == [
        "Steps", "Troubleshooting & Recommendations", "Modified Properties", "Summary"]
    page.click(".tabs >> text=Summary")
    assert str(log.change_id) in page.locator("#log-summary").inner_text()
    page.click("#back-to-logs")
    page.wait_for_url("**/provisioning-logs/?status=Skipped")
    assert page.locator("#provisioning-logs tbody tr").count() == 1

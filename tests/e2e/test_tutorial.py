"""Microsoft's tutorial, followed in a real browser as a new administrator
would: the gallery, assignments, Automatic mode, Authorize and Allow, Test
Connection, Notification Email, Save, the mappings, Provisioning Status On;
then the first cycle to 100%, the logs, a row's steps, the CSV download, and
the members in the Dropbox emulator's admin console."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from provisioning.models import Application, ProvisioningLog
from tests.services import entra_connector

from .conftest import record_heartbeats, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def add_dropbox_from_the_gallery(page, screenshot=None):
    page.click("#add-application")
    page.fill("#gallery-search", "Dropbox")
    page.wait_for_selector("[data-gallery-app=dropbox-business]")
    if screenshot:
        screenshot(page, "gallery")
    page.click("[data-gallery-app=dropbox-business]")
    page.click("dialog[open] button[type=submit]")
    page.wait_for_selector("text=Dropbox for Business was added.")
    return Application.objects.get()


def assign(page, application, query: str, expected_name: str, role: str = "User"):
    page.click(".blade-menu >> text='Users and groups'")
    page.click("#add-assignment")
    page.fill("#directory-search", query)
    page.click(f"#directory-results [data-principal-name='{expected_name}']")
    page.select_option("#app-role", label=role)
    page.click("#assign")
    page.wait_for_selector(f"text={expected_name} was assigned to {application.display_name} as {role}.")


def authorize(page, dbx, email: str, password: str, screenshot=None):
    page.select_option("#id_mode", "automatic")
    page.click("#authorize")
    page.wait_for_selector("#login_email")
    page.fill("#login_email", email)
    page.fill("#login_password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign in to Dropbox to link with Azure AD")
    if screenshot:
        screenshot(page, "dropbox-consent")
    page.click("button:has-text('Allow')")
    page.wait_for_url("**/provisioning/")


def unassigned(sp_id: str):
    connector = entra_connector()
    assignments = list(connector.iter_assignments(sp_id))
    principals = {a["principalId"] for a in assignments}
    user = next(u for u in connector.iter_users() if u["id"] not in principals and u.get("accountEnabled"))
    group = next(g for g in connector.iter_groups() if g["id"] not in principals
                 and 0 < len(list(connector.iter_group_members(g["id"]))) <= 12)
    return user, group


def test_an_administrator_follows_the_tutorial_end_to_end(page, alice, services, demo_sp, engine_worker,
                                                          heartbeats, screenshot):
    graph, dbx = services
    user, group = unassigned(demo_sp["id"])
    sign_in(page, alice)
    # As with `make run`: the worker and the scheduler are alive, and the top bar says so.
    assert page.inner_text("[data-service=scheduler]") == "Scheduler: Running"
    application = add_dropbox_from_the_gallery(page, screenshot)

    # Assign a user and a group (with a valid role, not Default Access).
    assign(page, application, user["displayName"][:5], user["displayName"])
    assign(page, application, group["displayName"][:6], group["displayName"])
    screenshot(page, "users-and-groups")

    # Provisioning: Automatic, Authorize, Allow, Test Connection.
    page.click(".blade-menu >> text='Provisioning'")
    authorize(page, dbx, dbx.admin_email, dbx.admin_password, screenshot)
    assert "Authorized as admin@contoso.com for team Contoso" in page.inner_text("body")
    page.click("#test-connection")
    page.wait_for_selector("text=The supplied credentials are authorized to enable provisioning")

    # Notification Email, its checkbox, Save.
    page.fill("#id_notification_email", "it-alerts@contoso.com")
    page.check("#id_notify_on_failure")
    page.click("#save")
    page.wait_for_selector("text=Your changes were saved.")
    screenshot(page, "provisioning")

    # Mappings: review the user attribute mappings.
    page.click("text=Synchronize Azure Active Directory Users to Dropbox for Business")
    page.wait_for_selector("text=userPrincipalName")
    body = page.inner_text("body")
    for target in ("email", "givenName", "surname", "externalId", "active"):
        assert target in body
    page.go_back()

    # Provisioning Status On, Save: the initial cycle starts.
    page.click("#field-enabled label:has-text('On')")
    page.click("#save")
    page.wait_for_selector("text=Provisioning is On: the initial cycle is starting.")

    # Overview: the progress bar reaches 100%.
    page.click(".blade-menu >> text='Overview'")
    page.wait_for_selector("#cycle-percent:has-text('100% complete')", timeout=90_000)
    assert page.inner_text("#cycle-kind") == "Initial cycle"
    assert page.inner_text("#cycle-state") == "Completed"
    record_heartbeats()  # the worker's and the scheduler's latest, as every few seconds with `make run`
    page.reload()
    assert page.inner_text("[data-service=worker]") == "Worker: Running"
    assert page.inner_text("[data-service=scheduler]") == "Scheduler: Running"
    screenshot(page, "overview")

    # Provisioning logs: the users are there; a row's steps; the CSV download.
    page.click("text=View provisioning logs")
    logs_url = page.url
    expected = user["userPrincipalName"]
    assert page.locator("table.grid tbody tr").count() > 10
    screenshot(page, "provisioning-logs-after-first-cycle")
    page.fill("#id_identity", expected)
    page.press("#id_identity", "Enter")
    page.wait_for_selector(f"text={expected}")
    page.click(f"tr:has-text('{expected}') a >> nth=0")
    page.wait_for_selector("text=Determine if user is in scope")
    for step in ("Import user", "Match user between source and target system", "Perform action"):
        assert step in page.inner_text("body")
    page.goto(logs_url)
    page.click("#download-menu summary")
    with page.expect_download() as download_info:
        page.click("#download-csv")
    download = download_info.value
    archive = zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read()))
    names = archive.namelist()
    assert len(names) == 3
    logs_csv = next(archive.read(n).decode() for n in names if re.search(r"log", n, re.I) and "step" not in n.lower()
                    and "modif" not in n.lower())
    assert expected in logs_csv

    # The members are in the Dropbox team.
    page.goto(f"{dbx.url}/team/admin/members")
    console = page.inner_text("body")
    assert expected in console
    for member in list(entra_connector().iter_group_members(group["id"]))[:3]:
        if member.get("userPrincipalName") and ProvisioningLog.objects.filter(source_id=member["id"],
                                                                             action="Create").exists():
            assert member["userPrincipalName"] in console
    screenshot(page, "dropbox-console")


def test_test_connection_names_an_authorizing_account_that_is_not_a_team_admin(page, alice, services, demo_sp):
    graph, dbx = services
    sign_in(page, alice)
    add_dropbox_from_the_gallery(page)
    page.click(".blade-menu >> text='Provisioning'")
    authorize(page, dbx, dbx.member_email, dbx.member_password)
    page.click("#test-connection")
    page.wait_for_selector("text=is not a Dropbox team admin")
    assert "Team Admin permissions" in page.inner_text("body")
    screenshot_text = page.inner_text("#connection-status")
    assert "Test Connection failed" in screenshot_text

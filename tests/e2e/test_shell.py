"""The portal's shell in a real browser: sign in, add an application from the
gallery, walk the blade's menu, and what a reader is shown."""

from __future__ import annotations

import pytest

from provisioning.constants import AuditActivity
from provisioning.models import Application, AuditEvent

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_adds_dropbox_from_the_gallery_and_walks_the_blade(page, alice, screenshot, services,
                                                                            heartbeats):
    page.goto("/enterprise-applications/")
    assert "/accounts/login/" in page.url  # anonymous visitors land on sign-in
    screenshot(page, "sign-in")
    sign_in(page, alice)
    assert page.locator("h1").inner_text() == "Enterprise applications | All applications"
    assert page.locator(".user-email").inner_text() == "alice@example.org"

    page.click("#add-application")
    page.fill("#gallery-search", "dropbox")
    page.wait_for_selector("[data-gallery-app=dropbox-business]")
    screenshot(page, "gallery")
    page.click("[data-gallery-app=dropbox-business]")
    page.fill("dialog[open] input[name=display_name]", "Dropbox for Business")
    page.click("dialog[open] button[type=submit]")
    page.wait_for_selector("text=Dropbox for Business was added.")
    app = Application.objects.get()
    assert page.url.endswith(f"/applications/{app.pk}/")

    for label, heading in [
        ("Users and groups", "Users and groups"),
        ("Provisioning", "Provisioning"),
        ("Provision on demand", "Provision on demand"),
        ("Provisioning logs", "Provisioning logs"),
        ("Audit logs", "Audit logs"),
        ("Overview", "Overview"),
    ]:
        page.click(f".blade-menu >> text='{label}'")
        assert page.locator("h1").inner_text() == f"Dropbox for Business | {heading}"
        assert page.locator(".blade-menu a.active").inner_text().strip().endswith(label)

    page.click(".blade-menu >> text='Audit logs'")
    assert page.locator("#audit-events > tbody > tr").count() == 1
    assert "Add service principal" in page.locator("#audit-events").inner_text()
    # (the portal-wide trail also holds alice's sign-in)
    assert AuditEvent.objects.get(activity=AuditActivity.ADD_APPLICATION).actor == alice

    page.click("[data-menu-toggle]")
    page.click("text=Sign out")
    page.wait_for_url("**/accounts/login/**")


def test_a_reader_sees_applications_but_no_add_button(page, bob, application, screenshot, heartbeats):
    sign_in(page, bob)
    assert page.locator("#add-application").count() == 0
    assert page.locator(".commandbar .btn.disabled").inner_text().strip().endswith("Add")
    page.click(f"text={application.display_name}")
    assert page.locator("h1").inner_text() == f"{application.display_name} | Overview"
    screenshot(page, "reader-overview")
    response = page.goto("/enterprise-applications/gallery/")
    assert response.status == 403
    assert "Only Provisioning administrators can make this change." in page.inner_text("body")


def test_the_top_bar_shows_whether_worker_and_scheduler_are_alive(page, alice):
    from django.utils import timezone

    from provisioning.models import ServiceHeartbeat

    ServiceHeartbeat.objects.create(name="worker", last_seen=timezone.now())
    sign_in(page, alice)
    assert page.locator("[data-service=worker]").inner_text() == "Worker: Running"
    assert page.locator("[data-service=scheduler]").inner_text() == "Scheduler: Not running"

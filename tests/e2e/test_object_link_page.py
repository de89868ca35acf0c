"""One object link walked in a real browser after a real cycle: found on Object
links by a search, its provisioning log rows, provision on demand from it, and
Unlink (confirmed, said, gone, in the audit log); each page checked for
accessibility as the walk of every page checks it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.constants import Action, AuditActivity
from provisioning.models import AuditEvent, ObjectLink, OnDemandRun, ProvisioningLog
from tests.engine.conftest import team

from .conftest import sign_in
from .test_accessibility import accessibility_problems
from .walk import after_a_cycle

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def search_links(page, app, text: str) -> None:
    page.goto(reverse("portal:links", args=[app]))
    page.fill("#links-q", text)
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**q=*")


def test_a_links_page_shows_its_logs_provisions_on_demand_and_unlinks(page, alice, job, run_cycle, dbx, settings,
                                                                      tmp_path, screenshot):
    after_a_cycle(job, run_cycle, settings, tmp_path)
    link = ObjectLink.objects.filter(job=job, object_type="user", matched_by="created").order_by("display_name").first()
    assert link is not None and ProvisioningLog.objects.filter(job=job, source_id=link.source_id).exists()
    app = job.application_id
    row = f"#links tr[data-source-id='{link.source_id}']"
    problems = {}

    sign_in(page, alice)
    search_links(page, app, link.display_name)
    assert page.locator("#links tbody tr").count() == 1  # the search found this link only
    text = page.inner_text(row)
    assert link.display_name in text and link.user_principal_name in text and link.target_email in text
    assert "Create: Success" in text and "created" in text
    problems["Object links, searched"] = accessibility_problems(page)
    screenshot(page, "object-link")

    # Its provisioning log rows.
    page.click(f"{row} >> text=Provisioning logs")
    page.wait_for_selector("#provisioning-logs")
    logs = ProvisioningLog.objects.filter(job=job, source_id=link.source_id)
    assert page.locator("#provisioning-logs tbody tr").count() == logs.count() > 0
    for identity in page.locator("#provisioning-logs tbody tr td:nth-child(2)").all_inner_texts():
        assert link.display_name in identity
    create = logs.get(action=Action.CREATE)
    assert "Create" in page.inner_text(f"#provisioning-logs tr[data-log-id='{create.pk}']")
    problems["Provisioning logs of one link"] = accessibility_problems(page)

    # Provision on demand, from the link.
    search_links(page, app, link.display_name)
    page.click(f"{row} button:has-text('Provision on demand')")
    page.wait_for_selector("#on-demand-status:has-text('Completed')", timeout=60_000)  # the worker ran it
    run = OnDemandRun.objects.get(job=job, source_id=link.source_id)
    assert run.object_type == "user" and run.requested_by
    assert "Perform action" in page.inner_text("#on-demand-steps")
    problems["Provision on demand, from a link"] = accessibility_problems(page)

    # Unlink: asked first, then said, and gone.
    team_before = team(dbx)
    search_links(page, app, link.display_name)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click(f"[data-unlink='{link.source_id}']")
    page.wait_for_selector(f"text={link.display_name} is no longer linked to {link.target_email}.")
    question = (f"Unlink {link.display_name} from {link.target_email}? Nothing changes in Dropbox; the next "
                "cycle matches it again by its matching attributes.")
    assert asked == [question]
    assert page.locator(row).count() == 0
    assert not ObjectLink.objects.filter(job=job, object_type="user", source_id=link.source_id).exists()
    assert team(dbx) == team_before  # nothing changed in Dropbox
    problems["Object links, after Unlink"] = accessibility_problems(page)
    search_links(page, app, link.display_name)
    page.wait_for_selector("#links-empty")

    event = AuditEvent.objects.get(activity=AuditActivity.UNLINK)
    assert event.target_id == f"user:{link.source_id}"
    page.goto(reverse("portal:app_audit_logs", args=[app]))
    entry = page.locator("#audit-events tbody tr", has_text=AuditActivity.UNLINK.label).first
    assert f"{link.display_name} - {link.target_email}" in entry.inner_text()
    problems["Audit logs, the unlink"] = accessibility_problems(page)

    found = {name: text for name, text in problems.items() if text}
    assert not found, "\n".join(f"{name}:\n{text}" for name, text in found.items())


def test_a_refused_unlink_leaves_the_link(page, alice, job, run_cycle, settings, tmp_path):
    """Dismissing the confirmation sends nothing: the link stays."""
    after_a_cycle(job, run_cycle, settings, tmp_path)
    link = ObjectLink.objects.filter(job=job, object_type="user").first()
    sign_in(page, alice)
    search_links(page, job.application_id, link.user_principal_name)
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click(f"[data-unlink='{link.source_id}']")
    page.wait_for_timeout(500)
    assert page.locator(f"#links tr[data-source-id='{link.source_id}']").count() == 1
    assert ObjectLink.objects.filter(pk=link.pk).exists()
    assert not AuditEvent.objects.filter(activity=AuditActivity.UNLINK).exists()

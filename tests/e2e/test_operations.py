"""Day-to-day operations in a real browser: provision on demand with its four
steps, staged deletions released with "Allow deletes", and a reader who sees
every page and can change nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.constants import CycleStatus, JobState
from provisioning.models import ObjectLink, ProvisioningJob
from tests.engine.conftest import team

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.worker
def test_provision_on_demand_shows_the_four_steps_and_links_the_log(page, alice, job, engine_worker, services,
                                                                      screenshot):
    _, dbx = services
    sign_in(page, alice)
    page.goto(reverse("portal:on_demand", args=[job.application_id]))
    page.fill("#on-demand-search", "Megan")
    page.click("[data-provision='Megan Bowen']")
    page.wait_for_selector("#on-demand-status:has-text('Completed')", timeout=60_000)
    steps = page.locator("#on-demand-steps li.step").all_inner_texts()
    for name in ("Import user", "Determine if user is in scope", "Match user between source and target system",
                 "Perform action"):
        assert any(name in text for text in steps), name
    screenshot(page, "provision-on-demand")
    page.click("text=View log entry")
    page.wait_for_selector("text=megan.bowen@contoso.com")
    assert "megan.bowen@contoso.com" in team(dbx)


@pytest.mark.worker
def test_staged_deletions_wait_for_allow_deletes(page, alice, job, run_cycle, services, demo_sp, screenshot):
    graph, dbx = services
    job.deletion_threshold = 2
    job.save()
    run_cycle(job)
    for link in ObjectLink.objects.filter(job=job, object_type="user"):
        if team(dbx).get(link.target_email, {}).get("status") == "invited":
            dbx.control("POST", f"members/{link.target_email}/accept", {})
    group = max((a for a in graph.get_all(f"/v1.0/servicePrincipals/{demo_sp['id']}/appRoleAssignedTo")
                 if a["principalType"] == "Group"),
                key=lambda a: len(graph.get_all(f"/v1.0/groups/{a['principalId']}/members")))
    graph.graph("DELETE", f"/v1.0/servicePrincipals/{demo_sp['id']}/appRoleAssignedTo/{group['id']}")
    cycle = run_cycle(job)
    assert cycle.status == CycleStatus.STAGED
    before = team(dbx)

    sign_in(page, alice)
    page.goto(reverse("portal:overview", args=[job.application_id]))
    banner = page.inner_text("#quarantine-banner")
    assert "Deletions are waiting for your review" in banner and "accidental-deletion threshold of 2" in banner
    screenshot(page, "staged-deletions")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#allow-deletes")
    page.wait_for_selector("text=Deletes are allowed for the next cycle")
    page.wait_for_selector("#cycle-state:has-text('Completed')", timeout=60_000)
    assert team(dbx) != before
    suspended = [m for m in team(dbx).values() if m["status"] == "suspended" and before[m["email"]]["status"] == "active"]
    assert len(suspended) > 2
    assert ProvisioningJob.objects.get(pk=job.pk).state == JobState.IDLE


def test_a_reader_sees_every_page_and_can_change_nothing(page, bob, job, services):
    sign_in(page, bob)
    app = job.application_id
    pages = {
        "overview": "#statistics", "users_and_groups": "#assignments", "provisioning": "#provisioning-form",
        "on_demand": "text=only Provisioning administrators can provision on demand",
        "provisioning_logs": "#log-retention", "app_audit_logs": "form.filters",
    }
    for name, marker in pages.items():
        page.goto(reverse(f"portal:{name}", args=[app]))
        page.wait_for_selector(marker)
        assert page.locator("button[type=submit]:not([disabled]):not(.filters button)").filter(
            has_text="Save").count() == 0, name
    page.goto(reverse("portal:provisioning", args=[app]))
    assert page.locator("#save").count() == 0 and page.locator("#authorize").count() == 0
    assert page.locator("#id_mode").is_disabled()
    page.goto(reverse("portal:attribute_mappings", args=[app, "user"]))
    assert "userPrincipalName" in page.inner_text("body")
    # Forging a change anyway is refused by the server.
    status = page.evaluate("""async (url) => {
        const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
        const answer = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}});
        return answer.status;
    }""", reverse("portal:start_provisioning", args=[app]))
    assert status == 403

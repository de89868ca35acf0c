"""The mapping editor in a real browser: from the Provisioning page to the
users mapping, an expression refused with its character marked, fixed, tried
on a directory user in the expression builder, saved; a scoping filter added;
and what a reader is shown."""

from __future__ import annotations

import pytest

from provisioning.constants import MappingType
from provisioning.engine.config import from_job
from provisioning.models import ObjectMapping

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

USERS_TITLE = "Synchronize Azure Active Directory Users to Dropbox for Business"


@pytest.fixture
def automatic(application):
    job = application.job
    job.mode = "automatic"
    job.save()
    return application


def users_mapping(application) -> ObjectMapping:
    return ObjectMapping.objects.get(job__application=application, object_type="user")


def test_an_administrator_edits_a_mapping_with_the_expression_builder(page, alice, automatic, services, screenshot,
                                                                      heartbeats):
    from playwright.sync_api import expect

    application = automatic
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" when going to the builder
    sign_in(page, alice)
    page.goto(f"/applications/{application.pk}/provisioning/")
    page.click(f"#mappings >> text='{USERS_TITLE}'")
    assert page.locator("h1").inner_text() == f"{application.display_name} | Attribute Mappings"
    assert page.locator("h2.mapping-title").inner_text() == USERS_TITLE
    assert page.locator("#attribute-mappings tbody tr").count() == 5
    screenshot(page, "attribute-mappings")

    page.click("[data-edit=givenName]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"{application.display_name} | Edit Attribute"
    expect(page.locator("#field-expression")).to_be_hidden()  # only the fields of a Direct mapping
    page.select_option("#id_mapping_type", MappingType.EXPRESSION)
    expect(page.locator("#field-source_attribute")).to_be_hidden()
    expect(page.locator("#field-expression")).to_be_visible()
    page.fill("#id_expression", 'Join(" ", [givenName]')
    page.click("#save")
    page.wait_for_load_state()

    marker = page.locator("#field-expression .expression-marker")
    marker.wait_for()
    assert marker.get_attribute("data-position") == "21"
    assert "Missing \")\" at character 21" in page.locator("#field-expression .errorlist").inner_text()
    assert page.locator("#field-expression mark.error-at").is_visible()
    assert from_job(application.job).users.rule("givenName").mapping_type == MappingType.DIRECT

    page.fill("#id_expression", 'Join(" ", [givenName], ToUpper([surname]))')
    page.locator("#expression-check #expression-valid").wait_for()
    assert page.locator("#field-expression .expression-marker").count() == 0  # the stale marker is gone

    page.click("#open-builder")
    page.wait_for_url("**/expression-builder/**")
    assert page.locator("#builder-expression").input_value() == 'Join(" ", [givenName], ToUpper([surname]))'
    page.fill("#builder-search", "Adele")
    page.click("#builder-users [data-user-name='Adele Vance']")
    page.locator("#expression-result >> text='Adele VANCE'").wait_for()
    assert page.locator("#builder-selected").inner_text() == "Adele Vance"
    assert page.locator("#result-user").inner_text() == "Adele Vance"
    screenshot(page, "expression-builder")

    page.click("#use-expression")
    page.wait_for_url("**/mappings/user/*/?**")
    assert page.locator("#id_expression").input_value() == 'Join(" ", [givenName], ToUpper([surname]))'
    assert page.locator("#id_mapping_type").input_value() == MappingType.EXPRESSION
    page.click("#save")
    page.wait_for_url("**/provisioning/mappings/user/")
    assert "The givenName mapping was saved." in page.locator(".messages").inner_text()
    assert 'ToUpper([surname])' in page.locator("[data-target=givenName]").inner_text()
    assert from_job(application.job).users.rule("givenName").expression == 'Join(" ", [givenName], ToUpper([surname]))'


def test_an_administrator_adds_a_scoping_filter_clause(page, alice, automatic, screenshot, heartbeats):
    application = automatic
    sign_in(page, alice)
    page.goto(f"/applications/{application.pk}/provisioning/mappings/user/")
    page.click("#edit-scoping-filters")
    page.wait_for_load_state()
    assert page.locator("#no-filters").is_visible()

    page.click("#add-filter")  # added in place by the page's script
    assert page.locator("fieldset.scoping-filter").count() == 1
    assert page.locator("#no-filters").is_hidden()
    row = page.locator("tr.clause").nth(0)
    row.locator("input[name$=-attribute]").fill("department")
    row.locator("select[data-operator]").select_option("EQUALS")
    row.locator("input[data-value]").fill("Retail")

    page.click("[data-add-clause]")
    second = page.locator("tr.clause").nth(1)
    second.locator("input[name$=-attribute]").fill("employeeId")
    second.locator("select[data-operator]").select_option("Greater_Than")
    second.locator("input[data-value]").fill("ten")
    page.click("#save")
    page.wait_for_load_state()
    error = page.locator("tr.clause-messages .errorlist")
    assert error.inner_text() == 'Greater_Than compares integers, and "ten" is not an integer.'
    assert users_mapping(application).scoping_filters == []

    second = page.locator("tr.clause").nth(1)
    second.locator("input[name$=-attribute]").fill("accountEnabled")
    second.locator("select[data-operator]").select_option("IS TRUE")
    assert second.locator("input[data-value]").is_hidden()  # the unary operators take no value
    page.click("#save")
    page.wait_for_load_state()
    assert "The scoping filters were saved." in page.locator(".messages").inner_text()
    screenshot(page, "scoping-filters")
    assert from_job(application.job).users.filters == (
        (("department", "EQUALS", "Retail"), ("accountEnabled", "IS TRUE", "")),
    )

    page.click("[data-remove-clause]")  # the first clause, in place
    assert page.locator("tr.clause").count() == 1
    page.click("[data-remove-filter]")
    assert page.locator("fieldset.scoping-filter").count() == 0
    page.click("#save")
    page.wait_for_load_state()
    assert "The scoping filters were saved." in page.locator(".messages").inner_text()
    assert users_mapping(application).scoping_filters == []


def test_a_reader_sees_the_mappings_without_save_controls(page, bob, automatic, screenshot):
    application = automatic
    sign_in(page, bob)
    page.goto(f"/applications/{application.pk}/provisioning/")
    page.click(f"#mappings >> text='{USERS_TITLE}'")
    assert page.locator("#read-only").is_visible()
    assert page.locator("#save").count() == 0
    assert page.locator("#add-mapping").count() == 0
    assert page.locator("[data-delete]").count() == 0
    assert page.locator("#target-object-actions input").evaluate_all("inputs => inputs.every(i => i.disabled)")

    page.click("[data-edit=email]")
    page.wait_for_load_state()
    assert page.locator("#save").count() == 0
    assert page.locator("#id_source_attribute").is_disabled()
    page.goto(f"/applications/{application.pk}/provisioning/mappings/user/scoping-filters/")
    assert page.locator("#save").count() == 0 and page.locator("#add-filter").count() == 0


def test_restore_default_mappings_asks_first(page, alice, automatic):
    application = automatic
    mapping = users_mapping(application)
    mapping.attributes.filter(target_attribute="surname").delete()
    sign_in(page, alice)
    page.goto(f"/applications/{application.pk}/provisioning/mappings/user/")
    page.wait_for_load_state()
    page.click("#restore-defaults")
    dialog = page.locator("#restore-dialog")
    assert dialog.is_visible()
    assert "replaces the current attribute mappings of users" in dialog.inner_text()
    dialog.locator("[data-close]").click()
    assert dialog.is_hidden()
    assert not mapping.attributes.filter(target_attribute="surname").exists()

    page.click("#restore-defaults")
    page.click("#confirm-restore")
    page.wait_for_load_state()
    assert "The default attribute mappings of users were restored." in page.locator(".messages").inner_text()
    assert page.locator("[data-target=surname]").count() == 1

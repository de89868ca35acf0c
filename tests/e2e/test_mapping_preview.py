"""Preview with these changes in the mapping editor, in a real browser after a real
cycle: the edited mapping's dry run beside the saved one's, polled until the
worker is done, under the strict Content-Security-Policy, accessible, and the
mapping left as saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.constants import MappingType, ObjectType
from provisioning.models import AttributeMapping, ObjectLink

from .conftest import sign_in
from .test_accessibility import accessibility_problems
from .walk import after_a_cycle

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_an_edited_mapping_is_previewed_beside_the_saved_one(page, alice, job, run_cycle, settings, tmp_path,
                                                             screenshot):
    after_a_cycle(job, run_cycle, settings, tmp_path)
    surname = AttributeMapping.objects.get(object_mapping__job=job, object_mapping__object_type=ObjectType.USER,
                                           target_attribute="surname")
    link = ObjectLink.objects.filter(job=job, object_type="user", matched_by="created").order_by("display_name").first()

    sign_in(page, alice)
    page.goto(reverse("portal:edit_attribute_mapping", args=[job.application_id, "user", surname.pk]))
    page.select_option("#id_mapping_type", MappingType.CONSTANT)
    page.fill("#id_constant_value", "Contractor")
    page.click("#preview-changes")
    page.wait_for_selector("#preview-comparison", timeout=60_000)  # both dry runs done on the worker; the page polled
    assert page.inner_text("h1").endswith("| Preview with these changes")
    counts = {r[0]: r[1:] for r in (row.split("\t") for row in
                                    page.locator("#preview-comparison tbody tr").all_inner_texts())}
    saved, drafted = (int(n) for n in counts["Update"]) if "Update" in counts else (0, 0)
    assert drafted > saved
    row = page.locator("#preview-changed tbody tr", has_text=link.display_name)
    cells = row.locator("td").all_inner_texts()
    assert cells[1:3] == ["No change", "Update"] and "surname" in cells[4] and "Contractor" in cells[4]
    screenshot(page, "mapping-preview")
    problems = accessibility_problems(page)
    assert not problems, problems

    surname.refresh_from_db()
    assert surname.mapping_type == MappingType.DIRECT and surname.constant_value == ""

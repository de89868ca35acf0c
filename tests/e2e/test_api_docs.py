"""The API's browsable docs (Swagger UI from drf-spectacular-sidecar) in a real browser, under the portal's
strict Content-Security-Policy as it is: the page renders the description, a token authorizes "Try it out",
and nothing violates the policy (the ``page`` fixture fails the test on any violation)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_render_and_call_the_api_under_the_policy(page, alice, application):
    from portal.api.models import ApiToken

    token = ApiToken.issue(alice, name="docs", scope="read", expires_at=timezone.now() + timedelta(days=1))[1]
    sign_in(page, alice)
    answer = page.goto("/api/v1.0/docs/")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
    page.wait_for_selector(".swagger-ui .information-container")
    assert page.locator(".swagger-ui .title").first.inner_text().startswith("Provisioning portal API")
    assert page.locator(".opblock-tag", has_text="synchronizationJob").count() == 1

    page.click("button.authorize")
    page.fill(".modal-ux input[type=text]", token)
    page.click(".modal-ux button.authorize")
    page.click(".modal-ux button.close-modal")
    page.click("#operations-auditLogs-auditLogs_provisioning_retrieve")
    page.click("#operations-auditLogs-auditLogs_provisioning_retrieve .try-out__btn")
    page.click("#operations-auditLogs-auditLogs_provisioning_retrieve .execute")
    page.wait_for_selector("#operations-auditLogs-auditLogs_provisioning_retrieve .live-responses-table")
    status = page.locator("#operations-auditLogs-auditLogs_provisioning_retrieve .live-responses-table "
                          "tbody .response-col_status").first.inner_text()
    assert status.strip().startswith("200")

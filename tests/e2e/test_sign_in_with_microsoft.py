"""Sign in with Microsoft in a real browser, through the Graph emulator's sign-in page: the person
lands on All applications with the role Entra gave, loses it once the role is removed in Entra
and the refresh interval has passed, and cannot sign in once disabled."""

from __future__ import annotations

import time

import pytest

from tests.signin.conftest import entra, grant, revoke, user_id  # noqa: F401 (entra is a fixture)

from .test_accessibility import accessibility_problems

pytestmark = pytest.mark.django_db(transaction=True)

ADELE = "adele.vance@contoso.com"


def at_microsoft(page, graph, upn: str) -> None:
    page.goto("/accounts/login/")
    page.click("#sign-in-microsoft")
    page.wait_for_selector("#i0116")
    assert page.url.startswith(f"{graph.url}/{graph.tenant_id}/oauth2/v2.0/authorize?")
    page.fill("#i0116", upn)
    page.fill("#i0118", graph.user_password)
    page.click("#idSIButton9")


def test_a_person_signs_in_with_microsoft_and_loses_access_when_entra_says_so(page, entra, settings):  # noqa: F811
    settings.ENTRA_ROLE_REFRESH_SECONDS = 2
    assignment = grant(entra, user_id(entra, ADELE), "administrator")
    settings.LOCAL_SIGN_IN = False
    page.goto("/accounts/login/")
    problems = accessibility_problems(page)  # the Microsoft button first, the break-glass form folded
    assert not problems, problems

    at_microsoft(page, entra, ADELE)

    page.wait_for_url("**/enterprise-applications/")
    assert page.locator("h1").first.inner_text() == "Enterprise applications | All applications"
    assert page.locator("#user-menu .muted.small").first.text_content().strip() == "Administrator"
    problems = accessibility_problems(page)
    assert not problems, problems

    revoke(entra, assignment)
    time.sleep(2.2)
    page.reload()
    assert "Access denied" in page.locator("h1").inner_text()
    assert f"You are signed in as {ADELE}, but you have no role in the portal." in page.content()

    entra.graph("PATCH", f"/v1.0/users/{ADELE}", json={"accountEnabled": False})
    time.sleep(2.2)
    page.reload()
    page.wait_for_url("**/accounts/login/**")
    assert "You were signed out: The account is disabled in Microsoft Entra ID." in page.content()

    at_microsoft(page, entra, ADELE)
    page.wait_for_selector("#passwordError")
    assert "Your account has been locked." in page.locator("#passwordError").inner_text()

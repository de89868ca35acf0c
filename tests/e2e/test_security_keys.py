"""Security keys and passkeys (WebAuthn) in a real browser under the strict
Content-Security-Policy: Chromium's virtual authenticator (DevTools protocol,
``WebAuthn.addVirtualAuthenticator``) stands in for a YubiKey. A key is added from
My account; the next sign-in asks for the security key after the password, or signs
in with the passkey alone. Every page on the way has no policy violation (the
``page`` fixture fails the test on one) and meets WCAG 2.1 AA."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from tests.fixtures import PASSWORD

from .conftest import sign_in
from .test_accessibility import accessibility_problems

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def virtual_authenticator(page, *, resident_key: bool) -> str:
    """A virtual authenticator attached to the page's browser tab: a passkey-capable one with
    ``resident_key``, a plain security key otherwise. Returns its id."""
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    answer = devtools.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": resident_key, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True,
    }})
    page._portal_devtools = devtools  # keeps the session (and its authenticator) alive with the page
    return answer["authenticatorId"]


def open_add_key(page) -> None:
    page.goto(reverse("mfa_add_webauthn"))
    if reverse("account_reauthenticate") in page.url:
        # Changing how one signs in asks for the password again.
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**{reverse('mfa_add_webauthn')}")
    page.wait_for_selector("#mfa_webauthn_add")


@pytest.mark.parametrize("passkey", [False, True], ids=["security key", "passkey"])
def test_a_key_is_added_and_asked_for_at_the_next_sign_in(page, alice, passkey):
    virtual_authenticator(page, resident_key=passkey)
    sign_in(page, alice)
    open_add_key(page)
    assert not (problems := accessibility_problems(page)), problems
    page.fill("input[name=name]", "Desk key")
    if passkey:
        page.check("input[name=passwordless]")
    page.click("#mfa_webauthn_add")
    page.wait_for_function("() => !document.getElementById('mfa_webauthn_add')", timeout=15_000)
    key = Authenticator.objects.get(user=alice, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Desk key"
    assert key.wrap().is_passwordless is passkey
    # Recovery codes stay, as the backup of the key.
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.RECOVERY_CODES).exists()

    page.goto(reverse("mfa_list_webauthn"))
    page.wait_for_selector("main")
    assert "Desk key" in page.inner_text("main")
    assert ("Passkey" if passkey else "Security key") in page.inner_text("main")
    assert not (problems := accessibility_problems(page)), problems

    page.click("[data-menu-toggle]")
    page.click(f"#user-menu form[action='{reverse('account_logout')}'] button[type=submit]")
    page.wait_for_url("**/accounts/login/**")
    assert not (problems := accessibility_problems(page)), problems
    if passkey:
        # A passkey signs in on its own: no email address, no password.
        page.click("#passkey_login")
    else:
        page.fill("#id_login", alice.email)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**{reverse('mfa_authenticate')}")
        assert not (problems := accessibility_problems(page)), problems
        page.click("#mfa_webauthn_authenticate")
    page.wait_for_url("**/enterprise-applications/")
    assert Authenticator.objects.get(pk=key.pk).last_used_at is not None


def test_require_mfa_sends_a_local_user_to_add_a_key_and_lets_them_through(page, bob, settings):
    settings.REQUIRE_MFA = True
    virtual_authenticator(page, resident_key=False)
    page.goto("/accounts/login/")
    page.fill("#id_login", bob.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{reverse('mfa_index')}")
    assert "requires two-factor authentication" in page.inner_text("body")
    assert not (problems := accessibility_problems(page)), problems
    page.goto(reverse("portal:applications"))
    page.wait_for_url(f"**{reverse('mfa_index')}")
    open_add_key(page)
    page.fill("input[name=name]", "Laptop key")
    page.click("#mfa_webauthn_add")
    page.wait_for_function("() => !document.getElementById('mfa_webauthn_add')", timeout=15_000)
    page.goto(reverse("portal:applications"))
    assert page.url.endswith(reverse("portal:applications"))


def test_a_passkey_does_not_get_round_local_sign_in_being_off(page, alice, settings):
    virtual_authenticator(page, resident_key=True)
    sign_in(page, alice)
    open_add_key(page)
    page.fill("input[name=name]", "Phone")
    page.check("input[name=passwordless]")
    page.click("#mfa_webauthn_add")
    page.wait_for_function("() => !document.getElementById('mfa_webauthn_add')", timeout=15_000)
    page.context.clear_cookies()

    settings.LOCAL_SIGN_IN = False
    page.goto("/accounts/login/")
    page.click("#passkey_login")
    page.wait_for_selector(".banner.error")
    assert "passkeys are only for superusers" in page.inner_text(".banner.error")
    assert "/accounts/login/" in page.url
    page.goto(reverse("portal:applications"))
    assert "/accounts/login/" in page.url  # not signed in

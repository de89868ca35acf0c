"""REQUIRE_MFA=true: a local user without a second factor (an authenticator app or a
security key) is sent to set one up from every page, and gets through once it is
set up. People who signed in through Entra ID are left to Entra's own MFA."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.test import Client
from django.urls import reverse

from tests.fixtures import PASSWORD
from tests.portal.test_access import portal_urls
from tests.portal.test_two_factor import current_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_sign_in_limits():
    """Other tests use up sign-in attempts (their counters live in the cache): start from none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def require_mfa(settings):
    settings.REQUIRE_MFA = True


def sign_in(user) -> Client:
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def is_sent_to_setup(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("mfa_index")


def activate_totp(client) -> None:
    page = client.get(reverse("mfa_activate_totp"))
    if page.status_code == 302 and page["Location"].startswith(reverse("account_reauthenticate")):
        # Changing how one signs in asks for the password again: that page stays open too.
        assert client.post(page["Location"], {"password": PASSWORD}).status_code == 302
        page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    response = client.post(reverse("mfa_activate_totp"), {"code": current_code(client.session[SECRET_SESSION_KEY])})
    assert response.status_code == 302


def test_it_sends_a_local_user_without_a_second_factor_to_set_one_up_from_every_page(require_mfa, alice, bob,
                                                                                     application):
    client = sign_in(bob)
    others = [reverse("account_change_password"), reverse("accounts:sessions")]
    for url in [*portal_urls(application, alice), *others]:
        for method in (client.get, client.post):
            response = method(url)
            assert is_sent_to_setup(response), f"{url} answered {response.status_code}"
    page = client.get(reverse("mfa_index")).content.decode()
    assert "requires two-factor authentication" in page
    assert "Authenticator App" in page and "Security Keys" in page


def test_the_setup_pages_sign_out_and_health_checks_stay_open(require_mfa, bob):
    client = sign_in(bob)
    assert client.get(reverse("mfa_index")).status_code == 200
    assert client.get(reverse("mfa_add_webauthn")).status_code in (200, 302)
    assert not is_sent_to_setup(client.get(reverse("mfa_activate_totp")))
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/portal/css/portal.css").status_code == 200
    assert client.post(reverse("account_logout")).status_code == 302
    assert client.get(reverse("portal:applications"))["Location"].startswith(reverse("account_login"))


def test_after_setting_up_totp_the_user_gets_through(require_mfa, bob, application):
    client = sign_in(bob)
    assert is_sent_to_setup(client.get(reverse("portal:applications")))
    activate_totp(client)
    assert bob.authenticator_set.filter(type=Authenticator.Type.TOTP).exists()
    assert client.get(reverse("portal:applications")).status_code == 200
    assert client.get(reverse("portal:overview", args=[application.pk])).status_code == 200
    # Recovery codes stay, as the backup of the second factor.
    assert client.get(reverse("mfa_view_recovery_codes")).status_code == 200
    assert bob.authenticator_set.filter(type=Authenticator.Type.RECOVERY_CODES).exists()


def test_a_security_key_counts_as_a_second_factor(require_mfa, bob):
    Authenticator.objects.create(user=bob, type=Authenticator.Type.WEBAUTHN, data={"name": "YubiKey"})
    client = Client()
    client.force_login(bob)
    assert client.get(reverse("portal:applications")).status_code == 200


def test_recovery_codes_alone_do_not(require_mfa, bob):
    Authenticator.objects.create(user=bob, type=Authenticator.Type.RECOVERY_CODES, data={})
    client = Client()
    client.force_login(bob)
    assert is_sent_to_setup(client.get(reverse("portal:applications")))


def test_people_signed_in_through_entra_are_exempt(require_mfa, bob):
    client = Client()
    client.force_login(bob)
    session = client.session
    session["entra_oid"] = "6f1c2b3a-0000-4000-8000-000000000001"
    session.save()
    # (What roles Entra gives is the Entra sign-in's business: here only the MFA rule is looked at.)
    for url in (reverse("portal:applications"), reverse("accounts:sessions")):
        assert not is_sent_to_setup(client.get(url)), url


def test_without_require_mfa_nobody_is_held_back(settings, bob):
    settings.REQUIRE_MFA = False
    assert sign_in(bob).get(reverse("portal:applications")).status_code == 200


def test_require_mfa_is_off_unless_the_environment_says_so():
    from django.conf import settings

    assert settings.REQUIRE_MFA is False


# ---------------------------------------------------------------- security keys under the CSP

_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def inline_code(html: str) -> list[str]:
    """What a strict Content-Security-Policy would block: scripts without src that are not data
    blocks, style attributes or elements, and event handler attributes."""
    found = [attrs for attrs in _SCRIPT.findall(html)
             if "src=" not in attrs and 'type="application/json"' not in attrs]
    found += re.findall(r"<style\b|\sstyle=\"|\son[a-z]+=\"", html, re.IGNORECASE)
    return found


def test_the_security_key_pages_have_no_inline_code(alice):
    client = sign_in(alice)
    page = client.get(reverse("mfa_add_webauthn"))
    if page.status_code == 302:
        assert page["Location"].startswith(reverse("account_reauthenticate"))
        client.post(page["Location"], {"password": PASSWORD})
        page = client.get(reverse("mfa_add_webauthn"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert 'id="mfa_webauthn_add"' in html and 'id="js_data"' in html
    assert "Provisioning portal" in html  # the portal's layout
    assert inline_code(html) == [], inline_code(html)
    for url in (reverse("mfa_index"), reverse("mfa_list_webauthn")):
        assert inline_code(client.get(url).content.decode()) == [], url

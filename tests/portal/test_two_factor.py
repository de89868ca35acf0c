"""Two-factor authentication (TOTP) is there for every portal user: activate
it, and the next sign-in asks for the code."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.test import Client
from django.urls import reverse

from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def test_a_reader_turns_on_totp_and_is_asked_for_a_code_at_the_next_sign_in(bob):
    client = Client()
    assert client.post(reverse("account_login"), {"login": bob.email, "password": PASSWORD}).status_code == 302
    page = client.get(reverse("mfa_activate_totp"))
    if page.status_code == 302 and page["Location"].startswith(reverse("account_reauthenticate")):
        # Changing how one signs in asks for the password again.
        client.post(page["Location"], {"password": PASSWORD})
        page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})
    assert response.status_code == 302
    assert bob.authenticator_set.filter(type="totp").exists()

    other = Client()
    response = other.post(reverse("account_login"), {"login": bob.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("mfa_authenticate")
    assert other.get(reverse("portal:applications")).status_code == 302  # not signed in yet
    wrong = other.post(reverse("mfa_authenticate"), {"code": "000000" if current_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and "Incorrect code" in wrong.content.decode()


def test_the_mfa_pages_use_the_portal_layout(alice_client):
    page = alice_client.get(reverse("mfa_index")).content.decode()
    assert "Two-factor authentication" in page and "Provisioning portal" in page

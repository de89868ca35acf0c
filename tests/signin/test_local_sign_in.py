"""The sign-in page with Microsoft first, and LOCAL_SIGN_IN=false leaving passwords to superusers
(break glass); every password sign-in, good or refused, is in the audit log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.constants import AuditActivity, AuditResult
from provisioning.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-password-1"


def post_password(client, email: str, password: str = PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_sign_in_with_microsoft_comes_first(client, entra):
    page = client.get(reverse("account_login")).content.decode()
    assert page.index("Sign in with Microsoft") < page.index('name="password"')
    assert f'action="{reverse("entra_login")}"' in page


def test_without_entra_the_page_has_only_the_password_form(client, settings):
    settings.ENTRA_SIGN_IN = False
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in with Microsoft" not in page
    assert client.post(reverse("entra_login")).status_code == 404


def test_with_local_sign_in_off_only_a_superuser_uses_a_password(client, entra, settings, django_user_model):
    settings.LOCAL_SIGN_IN = False
    django_user_model.objects.create_user("pat", "pat@example.org", PASSWORD)
    django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD)
    page = client.get(reverse("account_login")).content.decode()
    assert "<summary>Superuser sign-in (break glass)</summary>" in page

    refused = post_password(client, "pat@example.org")
    assert refused.status_code == 200
    assert "Sign in with Microsoft: passwords are only for superusers here." in refused.content.decode()
    assert not refused.wsgi_request.user.is_authenticated
    event = AuditEvent.objects.get(activity=AuditActivity.SIGN_IN, result=AuditResult.FAILURE)
    assert "LOCAL_SIGN_IN is off" in event.detail and event.target_display == "pat@example.org"

    allowed = post_password(client, "root@example.org")
    assert allowed.status_code == 302
    assert AuditEvent.objects.filter(activity=AuditActivity.SIGN_IN, result=AuditResult.SUCCESS,
                                     detail="Signed in with the portal's password.").exists()


def test_a_wrong_password_is_audited_without_the_password(client, django_user_model):
    django_user_model.objects.create_user("pat", "pat@example.org", PASSWORD)
    post_password(client, "pat@example.org", "not-the-password-9")
    event = AuditEvent.objects.get(activity=AuditActivity.SIGN_IN, result=AuditResult.FAILURE)
    assert event.detail == "Password sign-in refused: wrong email or password."
    assert "not-the-password-9" not in str(event.__dict__)


def test_signing_out_is_in_the_audit_log(client, django_user_model):
    user = django_user_model.objects.create_user("pat", "pat@example.org", PASSWORD)
    post_password(client, "pat@example.org")
    client.post(reverse("account_logout"))
    event = AuditEvent.objects.get(activity=AuditActivity.END_SESSION)
    assert (event.actor, event.detail) == (user, "Signed out.")

"""Portal users: administrators invite people with a role; invitees set a password."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from provisioning.constants import AuditActivity
from provisioning.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_an_administrator_invites_a_reader_who_sets_a_password_and_signs_in(client, alice, django_user_model):
    client.force_login(alice)
    response = client.post(reverse("portal:invite_user"), {"email": "Dave@Example.org", "role": "reader"})
    assert response.status_code == 302
    dave = django_user_model.objects.get(email="dave@example.org")
    assert not dave.has_usable_password()
    assert list(dave.groups.values_list("name", flat=True)) == ["Provisioning readers"]
    assert AuditEvent.objects.get().activity == AuditActivity.INVITE_USER

    (message,) = mail.outbox
    assert message.to == ["dave@example.org"]
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", message.body).group(1)

    client.logout()
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(form_url, {"password1": "a-new-long-password", "password2": "a-new-long-password"})
    assert response.status_code == 302
    assert client.login(username="dave@example.org", password="a-new-long-password")
    assert client.get(reverse("portal:applications")).status_code == 200
    assert client.get(reverse("portal:gallery")).status_code == 403  # a reader


def test_it_refuses_to_invite_an_existing_address(alice_client, bob):
    response = alice_client.post(reverse("portal:invite_user"), {"email": bob.email.upper(), "role": "reader"})
    assert response.status_code == 400
    assert "A portal user with this email address already exists." in response.content.decode()


def test_an_administrator_changes_a_role_and_disables_an_account(alice_client, bob):
    alice_client.post(reverse("portal:change_role", args=[bob.pk]), {"role": "administrator"})
    bob.refresh_from_db()
    assert list(bob.groups.values_list("name", flat=True)) == ["Provisioning administrators"]

    alice_client.post(reverse("portal:change_role", args=[bob.pk]), {"role": "none"})
    bob.refresh_from_db()
    assert not bob.is_active and not bob.groups.exists()
    event = AuditEvent.objects.filter(activity=AuditActivity.UPDATE_USER).first()
    assert event.before["role"] == "Administrator" and event.after["active"] is False


def test_an_administrator_cannot_change_their_own_role(alice_client, alice):
    response = alice_client.post(reverse("portal:change_role", args=[alice.pk]), {"role": "none"}, follow=True)
    assert "You cannot change your own role" in response.content.decode()
    alice.refresh_from_db()
    assert alice.is_active

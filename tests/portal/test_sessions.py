"""Sessions: each sign-in is recorded with its device, address and times; My account |
Sessions lists them and signs out of the others; an administrator ends all of a
user's sessions. Ending a session deletes it from the session store, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import UserSession
from portal.accounts.sessions import describe_device
from provisioning.constants import AuditActivity
from provisioning.models import AuditEvent
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_sign_in_limits():
    """Other tests use up sign-in attempts (their counters live in the cache): start from none."""
    from django.core.cache import cache

    cache.clear()

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/18.1 Mobile/15E148 Safari/604.1")
EDGE_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
                "Safari/537.36 Edg/131.0.0.0")


def sign_in(user, user_agent: str, address: str) -> Client:
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


@pytest.mark.parametrize("user_agent, device", [
    (FIREFOX_WINDOWS, "Firefox on Windows"), (CHROME_LINUX, "Chrome on Linux"), (SAFARI_IPHONE, "Safari on iOS"),
    (EDGE_WINDOWS, "Edge on Windows"), ("", "Unknown device"), ("curl/8.5.0", "curl/8.5.0"),
])
def test_it_names_the_device(user_agent, device):
    assert describe_device(user_agent) == device


def test_a_sign_in_is_recorded_with_its_device_and_address(bob):
    client = sign_in(bob, FIREFOX_WINDOWS, "203.0.113.7")
    row = UserSession.objects.get(user=bob)
    assert row.session_id == client.session.session_key
    assert row.ip_address == "203.0.113.7" and row.user_agent == FIREFOX_WINDOWS
    page = client.get(reverse("accounts:sessions")).content.decode()
    assert "Firefox on Windows" in page and "203.0.113.7" in page and "This session" in page
    # The session key is a credential: pages never show it.
    assert client.session.session_key not in page


def test_it_lists_only_the_users_own_sessions_that_have_not_expired(bob, alice):
    mine = sign_in(bob, FIREFOX_WINDOWS, "203.0.113.7")
    sign_in(bob, CHROME_LINUX, "198.51.100.2")
    sign_in(alice, SAFARI_IPHONE, "192.0.2.9")
    expired = sign_in(bob, SAFARI_IPHONE, "192.0.2.10")
    Session.objects.filter(pk=expired.session.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    page = mine.get(reverse("accounts:sessions")).content.decode()
    assert "Chrome on Linux" in page and "198.51.100.2" in page
    assert "192.0.2.9" not in page and "192.0.2.10" not in page


def test_last_seen_is_written_at_most_once_a_minute(bob):
    client = sign_in(bob, FIREFOX_WINDOWS, "203.0.113.7")
    row = UserSession.objects.get(user=bob)
    long_ago = timezone.now() - timedelta(hours=1)
    UserSession.objects.filter(pk=row.pk).update(last_seen=long_ago)
    client.get(reverse("accounts:sessions"))
    first = UserSession.objects.get(pk=row.pk).last_seen
    assert first > long_ago
    UserSession.objects.filter(pk=row.pk).update(last_seen=long_ago)
    client.get(reverse("accounts:sessions"))
    assert UserSession.objects.get(pk=row.pk).last_seen == long_ago  # seen within the minute: not written


def test_a_session_from_before_the_record_is_noted_at_its_next_request(bob):
    client = sign_in(bob, FIREFOX_WINDOWS, "203.0.113.7")
    from django.core.cache import cache

    UserSession.objects.all().delete()
    cache.clear()
    client.get(reverse("accounts:sessions"))
    assert UserSession.objects.get(user=bob).session_id == client.session.session_key


def test_signing_out_removes_the_record(bob):
    client = sign_in(bob, FIREFOX_WINDOWS, "203.0.113.7")
    client.post(reverse("account_logout"))
    assert not UserSession.objects.exists()


def test_sign_out_of_other_sessions_ends_them_and_keeps_this_one(bob):
    mine = sign_in(bob, FIREFOX_WINDOWS, "203.0.113.7")
    other = sign_in(bob, CHROME_LINUX, "198.51.100.2")
    other_key = other.session.session_key
    response = mine.post(reverse("accounts:sign_out_others"))
    assert response.status_code == 302
    assert not Session.objects.filter(pk=other_key).exists()
    assert list(UserSession.objects.values_list("session_id", flat=True)) == [mine.session.session_key]
    # The other browser is signed out at once; this one is not.
    assert other.get(reverse("portal:applications"))["Location"].startswith(reverse("account_login"))
    assert mine.get(reverse("portal:applications")).status_code == 200
    event = AuditEvent.objects.get(activity=AuditActivity.END_SESSION)
    assert event.actor_display == "bob@example.org" and event.target_display == "bob@example.org"
    assert "Chrome on Linux" in event.detail and "198.51.100.2" in event.detail
    assert other_key not in str(event.after) + event.detail + event.target_id


def test_a_user_signs_out_of_one_other_session_but_not_of_someone_elses(bob, alice):
    mine = sign_in(bob, FIREFOX_WINDOWS, "203.0.113.7")
    other = sign_in(bob, CHROME_LINUX, "198.51.100.2")
    alices = sign_in(alice, SAFARI_IPHONE, "192.0.2.9")
    alices_row = UserSession.objects.get(user=alice)
    assert mine.post(reverse("accounts:sign_out_one", args=[alices_row.pk])).status_code == 404
    assert Session.objects.filter(pk=alices.session.session_key).exists()
    row = UserSession.objects.get(session_id=other.session.session_key)
    assert mine.post(reverse("accounts:sign_out_one", args=[row.pk])).status_code == 302
    assert not Session.objects.filter(pk=other.session.session_key).exists()


def test_an_administrator_ends_all_sessions_of_a_user(alice, bob):
    admin = sign_in(alice, FIREFOX_WINDOWS, "203.0.113.7")
    first, second = sign_in(bob, CHROME_LINUX, "198.51.100.2"), sign_in(bob, SAFARI_IPHONE, "192.0.2.9")
    page = admin.get(reverse("portal:portal_users")).content.decode()
    assert reverse("portal:end_user_sessions", args=[bob.pk]) in page
    response = admin.post(reverse("portal:end_user_sessions", args=[bob.pk]))
    assert response.status_code == 302
    for client in (first, second):
        assert not Session.objects.filter(pk=client.session.session_key).exists()
    assert not UserSession.objects.filter(user=bob).exists()
    events = AuditEvent.objects.filter(activity=AuditActivity.END_SESSION)
    assert events.count() == 2
    assert {e.actor_display for e in events} == {"alice@example.org"}
    assert {e.target_display for e in events} == {"bob@example.org"}
    assert admin.get(reverse("portal:applications")).status_code == 200


def test_only_administrators_end_other_peoples_sessions(alice, bob):
    reader = sign_in(bob, CHROME_LINUX, "198.51.100.2")
    sign_in(alice, FIREFOX_WINDOWS, "203.0.113.7")
    assert reader.post(reverse("portal:end_user_sessions", args=[alice.pk])).status_code == 403
    assert UserSession.objects.filter(user=alice).exists()


def test_the_sessions_page_needs_a_signed_in_user(client):
    response = client.get(reverse("accounts:sessions"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert client.post(reverse("accounts:sign_out_others")).status_code == 302

"""Failed sign-ins are limited per account and per real client address: one
person who keeps failing locks out that account (or, trying many accounts, that
address), never the other people who sign in, from the same address or from
behind the same reverse proxy."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.fixtures import PASSWORD

REFUSED = "Too many failed login attempts"


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def sign_in(email: str, password: str, **headers):
    """One sign-in attempt from a browser of its own; True when it signed in, None when refused for too
    many failures, False for a wrong password."""
    response = Client(**headers).post(reverse("account_login"), {"login": email, "password": password})
    if response.status_code == 302:
        return True
    assert response.status_code in (200, 429), response.status_code
    return None if response.status_code == 429 or REFUSED in response.content.decode() else False


def test_it_locks_an_account_after_five_failures(alice):
    assert [sign_in(alice.email, "wrong") for _ in range(5)] == [False] * 5
    assert sign_in(alice.email, "wrong") is None
    assert sign_in(alice.email, PASSWORD) is None  # even with the right password, for a while


def test_another_user_at_the_same_address_still_signs_in(alice, bob):
    for _ in range(20):  # someone keeps trying alice's account: 5 failures, then 15 refusals
        sign_in(alice.email, "wrong", REMOTE_ADDR="192.0.2.10")
    assert sign_in(alice.email, PASSWORD, REMOTE_ADDR="192.0.2.10") is None
    assert sign_in(bob.email, PASSWORD, REMOTE_ADDR="192.0.2.10") is True


def test_one_address_trying_many_accounts_is_stopped_and_only_that_address(settings, bob):
    for number in range(20):
        assert sign_in(f"guess-{number}@example.org", "wrong", REMOTE_ADDR="192.0.2.66") is False
    assert sign_in("guess-20@example.org", "wrong", REMOTE_ADDR="192.0.2.66") is None
    assert sign_in(bob.email, PASSWORD, REMOTE_ADDR="192.0.2.66") is None
    assert sign_in(bob.email, PASSWORD, REMOTE_ADDR="198.51.100.7") is True


def test_behind_a_proxy_it_counts_the_real_client_address(settings, bob):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}  # every request comes from the proxy
    for number in range(25):
        sign_in(f"guess-{number}@example.org", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy)
    assert sign_in("guess-99@example.org", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy) is None
    # Everyone else behind the same proxy signs in.
    assert sign_in(bob.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy) is True
    # A client cannot pick its address: the proxy appends the one it saw after whatever the client sent.
    assert sign_in(bob.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.5", **proxy) is None


def test_without_trusted_proxies_a_forwarded_address_is_ignored(settings, bob):
    settings.TRUSTED_PROXY_COUNT = 0
    for number in range(20):
        sign_in(f"guess-{number}@example.org", "wrong", REMOTE_ADDR="192.0.2.66",
                HTTP_X_FORWARDED_FOR=f"203.0.113.{number}")
    assert sign_in(bob.email, PASSWORD, REMOTE_ADDR="192.0.2.66", HTTP_X_FORWARDED_FOR="198.51.100.7") is None

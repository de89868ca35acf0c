"""Who may read the provisioning logs: readers and administrators see and
download them, a user without a role gets 403, a visitor is sent to sign in,
and nothing here accepts a POST."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .factory import make_logs

pytestmark = pytest.mark.django_db


@pytest.fixture
def urls(application, job):
    [log] = make_logs(job, 1)
    return [
        reverse("portal:provisioning_logs", args=[application.pk]),
        reverse("portal:provisioning_log_detail", args=[application.pk, log.pk]),
        reverse("portal:provisioning_logs_download", args=[application.pk]) + "?format=json",
        reverse("portal:provisioning_logs_download", args=[application.pk]) + "?format=csv",
    ]


def test_a_reader_sees_and_downloads_everything(bob_client, urls):
    for url in urls:
        response = bob_client.get(url)
        assert response.status_code == 200, url
        if response.streaming:
            assert b"".join(response.streaming_content)


def test_an_administrator_sees_and_downloads_everything(alice_client, urls):
    for url in urls:
        assert alice_client.get(url).status_code == 200, url


def test_a_user_without_a_role_gets_403(client, charlie, urls):
    client.force_login(charlie)
    for url in urls:
        assert client.get(url).status_code == 403, url


def test_a_visitor_is_sent_to_sign_in(client, urls):
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_nothing_here_changes_anything(alice_client, urls, method):
    for url in urls:
        assert getattr(alice_client, method)(url).status_code == 405, url


def test_a_reader_sees_no_button_that_changes_anything(bob_client, urls):
    page = bob_client.get(urls[0]).content.decode()
    assert 'method="post"' not in page.split('class="blade-content"', 1)[1]


def test_a_reader_cannot_read_an_unknown_application(bob_client):
    import uuid

    assert bob_client.get(reverse("portal:provisioning_logs", args=[uuid.uuid4()])).status_code == 404

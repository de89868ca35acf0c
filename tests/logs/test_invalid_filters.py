"""Filter input that makes no sense is refused with the reason next to the
field (400, never a 500), on the list and on the downloads."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from provisioning.logs import Cursor

from .factory import make_logs

pytestmark = pytest.mark.django_db


def error_next_to(page: str, field: str) -> str:
    """The error text shown in the field's box."""
    box = re.search(rf'<div class="field has-error"[^>]*>(?:(?!<div class="field).)*?name="{field}".*?</div>',
                    page, re.S)
    assert box, f"no error shown next to {field}"
    return re.sub(r"<[^>]+>", " ", box.group(0))


@pytest.mark.parametrize("field, value, reason", [
    ("cycle_id", "not-a-uuid", "Enter a cycle ID"),
    ("change_id", "1234", "Enter a change ID"),
    ("start", "2024-13-45", "Enter a valid date"),
    ("end", "yesterday", "Enter a valid date"),
    ("status", "Exploded", "Select a valid choice"),
    ("action", "Rename", "Select a valid choice"),
    ("object_type", "device", "Select a valid choice"),
    ("date", "90d", "Select a valid choice"),
])
def test_it_refuses_a_bad_value_next_to_its_field(bob_client, job, logs_url, field, value, reason):
    make_logs(job, 3)
    response = bob_client.get(logs_url(**{field: value}))
    assert response.status_code == 400
    page = response.content.decode()
    assert reason in error_next_to(page, field)
    assert 'id="provisioning-logs"' not in page  # no rows under a refused filter


def test_it_asks_for_the_first_day_of_a_custom_interval(bob_client, application, logs_url):
    response = bob_client.get(logs_url(date="custom", end="2024-05-01"))
    assert response.status_code == 400
    assert "Choose the first day of the interval." in error_next_to(response.content.decode(), "start")


def test_it_refuses_an_interval_that_ends_before_it_starts(bob_client, application, logs_url):
    response = bob_client.get(logs_url(date="custom", start="2024-05-02", end="2024-05-01"))
    assert response.status_code == 400
    assert "The last day must not be before the first day." in error_next_to(response.content.decode(), "end")


def test_it_refuses_a_too_long_identity(bob_client, application, logs_url):
    response = bob_client.get(logs_url(identity="x" * 301))
    assert response.status_code == 400
    assert "at most 300 characters" in error_next_to(response.content.decode(), "identity")


@pytest.mark.parametrize("cursor", ["garbage", "!!!", "MTIz", "LTEuLTE", "MTAwLjA", "MV8wLjE"])
def test_it_refuses_a_tampered_page_link(bob_client, application, logs_url, cursor):
    response = bob_client.get(logs_url(after=cursor))
    assert response.status_code == 400
    assert "This page link is not valid any more." in response.content.decode()


def test_it_refuses_a_page_link_that_goes_both_ways(bob_client, job, logs_url):
    rows = make_logs(job, 3)
    token = Cursor.of(rows[1]).encode()
    response = bob_client.get(logs_url(after=token, before=token))
    assert response.status_code == 400
    assert "This page link is not valid any more." in response.content.decode()


def test_the_download_refuses_bad_filters_and_unknown_formats(bob_client, application):
    url = reverse("portal:provisioning_logs_download", args=[application.pk])
    response = bob_client.get(url, {"format": "csv", "cycle_id": "nope"})
    assert response.status_code == 400
    assert "Enter a cycle ID" in error_next_to(response.content.decode(), "cycle_id")
    response = bob_client.get(url, {"format": "xlsx"})
    assert response.status_code == 400
    assert "Choose JSON or CSV as the download format." in response.content.decode()

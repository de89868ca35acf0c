"""Keyset pages: 50 rows a page by (-activity_time, -id), "Next" and "Previous"
links that carry an opaque cursor, every row exactly once however the rows tie,
pages that do not shift when new rows arrive, and no OFFSET or COUNT."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from provisioning.logs import PAGE_SIZE, Cursor

from .conftest import link, shown_ids
from .factory import make_logs

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(job):
    """230 rows, newest first; the first 40 share one timestamp (ties broken by id)."""
    made = make_logs(job, 230, same_time=40)
    return sorted(made, key=lambda row: (row.activity_time, row.pk), reverse=True)


def walk(client, logs_url, query: str, direction: str) -> list[list[int]]:
    pages = []
    while query is not None:
        response = client.get(logs_url() + "?" + query)
        assert response.status_code == 200
        pages.append(shown_ids(response))
        query = link(response, direction)
    return pages


def test_it_shows_fifty_rows_a_page(bob_client, rows, logs_url):
    response = bob_client.get(logs_url())
    assert PAGE_SIZE == 50
    assert shown_ids(response) == [row.pk for row in rows[:50]]
    assert link(response, "previous-page") is None
    assert link(response, "next-page") is not None


def test_walking_forward_shows_every_row_once_in_order(bob_client, rows, logs_url):
    pages = walk(bob_client, logs_url, "date=7d", "next-page")
    assert [len(page) for page in pages] == [50, 50, 50, 50, 30]
    assert [pk for page in pages for pk in page] == [row.pk for row in rows]


def test_walking_back_from_the_last_page_shows_the_same_pages(bob_client, rows, logs_url):
    forward = walk(bob_client, logs_url, "date=7d", "next-page")
    last = "date=7d&after=" + Cursor.of(rows[199]).encode()
    backward = walk(bob_client, logs_url, last, "previous-page")
    assert backward == forward[::-1]


def test_next_then_previous_comes_back_to_the_same_page(bob_client, rows, logs_url):
    first = bob_client.get(logs_url())
    second = bob_client.get(logs_url() + "?" + link(first, "next-page"))
    third = bob_client.get(logs_url() + "?" + link(second, "next-page"))
    back = bob_client.get(logs_url() + "?" + link(third, "previous-page"))
    assert shown_ids(back) == shown_ids(second)
    again = bob_client.get(logs_url() + "?" + link(back, "previous-page"))
    assert shown_ids(again) == shown_ids(first)
    assert link(again, "previous-page") is None


def test_the_last_page_has_no_next_link(bob_client, rows, logs_url):
    last = bob_client.get(logs_url() + "?after=" + Cursor.of(rows[199]).encode())
    assert shown_ids(last) == [row.pk for row in rows[200:]]
    assert link(last, "next-page") is None
    assert link(last, "previous-page") is not None


def test_new_rows_do_not_shift_the_pages_being_walked(bob_client, job, rows, logs_url):
    first = bob_client.get(logs_url())
    make_logs(job, 25, start=timezone.now() + timedelta(hours=1))  # a cycle writes while the reader reads
    second = bob_client.get(logs_url() + "?" + link(first, "next-page"))
    assert shown_ids(second) == [row.pk for row in rows[50:100]]


def test_it_walks_a_filtered_list_to_its_end(bob_client, rows, logs_url):
    expected = [row.pk for row in rows if row.status == "Success"]
    pages = walk(bob_client, logs_url, "status=Success", "next-page")
    assert [pk for page in pages for pk in page] == expected


def test_an_empty_page_past_the_end_offers_the_first_page(bob_client, rows, logs_url):
    past = Cursor(rows[-1].activity_time - timedelta(days=1), 1).encode()
    page = bob_client.get(logs_url(after=past)).content.decode()
    assert "No provisioning events match these filters." in page
    assert "First page" in page


def test_pages_are_read_without_offset_or_count(bob_client, rows, logs_url):
    second = logs_url() + "?after=" + Cursor.of(rows[49]).encode()
    with CaptureQueriesContext(connection) as queries:
        assert bob_client.get(second).status_code == 200
    statements = " ".join(query["sql"].upper() for query in queries.captured_queries)
    assert "OFFSET" not in statements
    assert "COUNT(" not in statements


def test_the_cursor_is_opaque_and_round_trips(rows):
    cursor = Cursor.of(rows[7])
    token = cursor.encode()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # safe in a query string as it is
    assert Cursor.decode(token) == cursor

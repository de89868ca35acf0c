"""Fixtures of the provisioning logs tests: the application's job, and helpers
that read the page the way a person does (which rows, which links)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse

ROW = re.compile(r'<tr data-log-id="(\d+)">')


@pytest.fixture
def job(application):
    return application.job


@pytest.fixture
def logs_url(application):
    """The list's URL with a query string made of the keyword arguments."""

    def url(**query) -> str:
        base = reverse("portal:provisioning_logs", args=[application.pk])
        return base + ("?" + urlencode(query) if query else "")

    return url


def shown_ids(response) -> list[int]:
    """The ids of the log rows in the table, top to bottom."""
    return [int(pk) for pk in ROW.findall(response.content.decode())]


def link(response, element_id: str) -> str | None:
    """The query string of the pager link with this id (``None`` when absent)."""
    found = re.search(rf'id="{element_id}" href="\?([^"]*)"', response.content.decode())
    return found.group(1).replace("&amp;", "&") if found else None

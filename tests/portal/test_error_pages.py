"""The server error page: the portal's own, with no traceback, and a request id
that the administrator finds in the log line of that error."""

from __future__ import annotations

import logging
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_gallery(monkeypatch):
    """The gallery fails in a way nobody foresaw."""
    from provisioning import gallery

    def search(query):
        raise RuntimeError("the gallery index is corrupt")

    monkeypatch.setattr(gallery, "search", search)


def console_line(record: logging.LogRecord) -> str:
    """The record as the portal's log handler writes it."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    assert handler.filter(record)
    return handler.format(record)


def test_a_server_error_shows_a_request_id_that_its_log_line_carries(alice_client, failing_gallery, caplog):
    alice_client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = alice_client.get(reverse("portal:gallery"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert "Traceback" not in page and "corrupt" not in page and "RuntimeError" not in page
    request_id = re.search(r'<code id="request-id">([0-9a-f]{16})</code>', page).group(1)
    assert response["X-Request-ID"] == request_id
    [record] = [r for r in caplog.records if r.name == "django.request" and r.levelno == logging.ERROR]
    line = console_line(record)
    assert f"[request {request_id}]" in line and "Internal Server Error: /enterprise-applications/gallery/" in line
    assert "RuntimeError: the gallery index is corrupt" in line  # the traceback is in the log, not the page


def test_every_request_gets_an_id_of_its_own(alice_client):
    first = alice_client.get(reverse("portal:applications"))["X-Request-ID"]
    second = alice_client.get(reverse("portal:applications"))["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", first) and first != second


def test_a_proxy_request_id_is_kept_only_behind_trusted_proxies(client, settings):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="proxy-abc-123")["X-Request-ID"] != "proxy-abc-123"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client.get("/healthz", HTTP_X_REQUEST_ID="proxy-abc-123")["X-Request-ID"] == "proxy-abc-123"
    # Nothing that could forge a log line.
    assert client.get("/healthz", HTTP_X_REQUEST_ID="x\nERROR forged")["X-Request-ID"] != "x\nERROR forged"


def test_log_lines_outside_a_request_carry_no_request_id():
    record = logging.LogRecord("provisioning.engine", logging.INFO, __file__, 1, "cycle done", None, None)
    assert console_line(record).endswith("INFO provisioning.engine cycle done")

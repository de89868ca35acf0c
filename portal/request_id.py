"""A short id for every request: sent back in ``X-Request-ID``, written in every
log line made while the request is served, and shown on the error page, so that
an administrator can quote it and find the traceback in the log."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_current: ContextVar[str] = ContextVar("request_id", default="")
# What a proxy may hand on: letters, digits and a few separators, not a log injection.
_FORWARDED_ID = re.compile(r"^[A-Za-z0-9._-]{6,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def request_id_of(request: HttpRequest | None) -> str:
    """The id of ``request`` (or of the request being served), "" outside a request."""
    return getattr(request, "request_id", "") or _current.get()


class RequestIdMiddleware:
    """Gives each request its id. Behind trusted proxies (``TRUSTED_PROXY_COUNT``), an
    ``X-Request-ID`` the proxy set is kept, so its log and the portal's name the same id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        forwarded = request.headers.get(HEADER, "") if settings.TRUSTED_PROXY_COUNT else ""
        request.request_id = forwarded if _FORWARDED_ID.match(forwarded) else new_request_id()
        token = _current.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response.headers.setdefault(HEADER, request.request_id)
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_tag`` (" [request <id>]", or "" outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request's error lines carry the request itself, also when logged after it ended.
        request_id = request_id_of(getattr(record, "request", None))
        record.request_tag = f" [request {request_id}]" if request_id else ""
        return True

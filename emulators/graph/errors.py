"""Error answers in the two dialects the emulator speaks.

Microsoft Graph answers ``{"error": {"code", "message", "innerError": {...}}}``;
the identity platform answers OAuth 2.0 errors carrying an ``AADSTS`` code,
trace and correlation ids and a timestamp inside ``error_description``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone


class GraphError(Exception):
    """A Graph error answer; raised anywhere below a Graph handler."""

    def __init__(self, status: int, code: str, message: str, *, details: list | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def graph_date(now: datetime | None = None) -> str:
    """``innerError.date``: seconds precision, no zone suffix, as Graph writes it."""
    return (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S")


def graph_error_body(code: str, message: str, request_id: str, client_request_id: str,
                     details: list | None = None) -> dict:
    error: dict = {"code": code, "message": message}
    if details:
        error["details"] = details
    error["innerError"] = {
        "date": graph_date(),
        "request-id": request_id,
        "client-request-id": client_request_id,
    }
    return {"error": error}


def not_found(key: str) -> GraphError:
    return GraphError(
        404, "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )


def bad_request(message: str, code: str = "Request_BadRequest", details: list | None = None) -> GraphError:
    return GraphError(400, code, message, details=details)


def unsupported_query(message: str = "Unsupported Query.") -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", message)


def forbidden() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


# ----------------------------------------------------------------------- identity platform


class AadError(Exception):
    """An OAuth 2.0 error of the identity platform (token endpoint, discovery)."""

    def __init__(self, status: int, error: str, number: int, text: str):
        super().__init__(text)
        self.status = status
        self.error = error
        self.number = number
        self.text = text

    def body(self, correlation_id: str | None = None) -> dict:
        return aad_error_body(self.error, self.number, self.text, correlation_id)


def aad_timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M:%SZ")


def aad_error_body(error: str, number: int, text: str, correlation_id: str | None = None) -> dict:
    """The body the identity platform sends with a failed token or discovery request."""
    trace_id = str(uuid.uuid4())
    correlation_id = correlation_id or str(uuid.uuid4())
    timestamp = aad_timestamp()
    description = (
        f"AADSTS{number}: {text}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"
    )
    return {
        "error": error,
        "error_description": description,
        "error_codes": [number],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={number}",
    }

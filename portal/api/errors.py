"""Every refusal of the API in Microsoft Graph's error shape:
``{"error": {"code", "message", "target"?, "details"?, "innerError": {"request-id", "date"}}}``,
with Graph's codes, and the request id that the portal's log lines carry (portal/request_id.py)."""

from __future__ import annotations

import logging

from django.http import Http404, JsonResponse
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ..request_id import request_id_of

log = logging.getLogger(__name__)

#: Graph's error code for each status the API answers with
CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    405: "Request_BadRequest",
    409: "Conflict",
    415: "Request_UnsupportedMediaType",
    429: "TooManyRequests",
}


class GraphError(exceptions.APIException):
    """A refusal with Graph's code, and where it applies (``target``, ``details``)."""

    def __init__(self, status_code: int, message: str, *, code: str | None = None, target: str | None = None,
                 details: list[dict] | None = None):
        self.status_code = status_code
        self.code = code or CODES.get(status_code, "BadRequest")
        self.target = target
        self.details = details
        super().__init__(message)


def body(request, status_code: int, message: str, *, code: str | None = None, target: str | None = None,
         details: list[dict] | None = None) -> dict:
    error: dict = {"code": code or CODES.get(status_code, "BadRequest"), "message": message}
    if target:
        error["target"] = target
    if details:
        error["details"] = details
    inner = {"request-id": request_id_of(getattr(request, "_request", request)),
             "date": timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z")}
    client_request_id = request.headers.get("client-request-id", "") if request is not None else ""
    if client_request_id and len(client_request_id) <= 64:
        inner["client-request-id"] = client_request_id
    error["innerError"] = inner
    return {"error": error}


def _message(detail) -> str:
    if isinstance(detail, list):
        return " ".join(_message(item) for item in detail)
    if isinstance(detail, dict):
        return " ".join(f"{key}: {_message(value)}" for key, value in detail.items())
    return str(detail)


def graph_exception_handler(exc, context):
    """DRF's handler, answering in Graph's shape."""
    request = context.get("request")
    if isinstance(exc, GraphError):
        response = Response(body(request, exc.status_code, str(exc.detail), code=exc.code, target=exc.target,
                                 details=exc.details), status=exc.status_code)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("The resource does not exist.")
    response = exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500 page (and its log line with the request id)
    if isinstance(exc, exceptions.Throttled):
        message = f"Too many requests: this token may make {context['view'].get_throttles()[0].get_rate()}. " \
                  f"Retry after {exc.wait:.0f} seconds." if exc.wait is not None else "Too many requests."
    elif isinstance(exc, exceptions.ParseError):
        message = f"The body is not valid JSON: {_message(exc.detail)}"
    elif isinstance(exc, exceptions.NotAuthenticated):
        message = "Access token is empty: send Authorization: Bearer <token>."
    else:
        message = _message(exc.detail)
    response.data = body(request, response.status_code, message)
    return response


def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any path under the API that is not one of its resources."""
    return JsonResponse(body(request, status.HTTP_404_NOT_FOUND,
                             f"Resource not found for the segment '{request.path.rstrip('/').rsplit('/', 1)[-1]}'."),
                        status=404)

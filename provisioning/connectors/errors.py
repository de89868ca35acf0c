"""The project's own error types, and the one place where Microsoft Graph and
Entra ID errors are turned into them (each target package translates its own
SDK's errors in its ``errors`` module).

Three kinds matter to the engine, as to any remote sync:

- :class:`TransientError` (and :class:`RateLimited`): retry later, with backoff;
- :class:`BadDataError` and :class:`NotFoundError`: this object cannot be written
  as it is; log it with the field at fault and move on;
- :class:`ConfigurationError` (and :class:`CredentialsError`): stop the run and
  tell the administrator, because every further call would fail the same way.
"""

from __future__ import annotations

from typing import Any

import requests


class ConnectorError(Exception):
    """A failure talking to Entra ID or Dropbox, in words an administrator can act on."""

    #: short machine-readable code shown in provisioning logs (e.g. ``DropboxUserNotFound``)
    code: str = "ConnectorError"
    #: what the administrator can do about it
    recommendation: str = ""

    def __init__(self, message: str, *, code: str | None = None, service: str = "", field: str | None = None,
                 status: int | None = None, detail: Any = None, recommendation: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if recommendation is not None:
            self.recommendation = recommendation
        self.service = service
        self.field = field
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class TransientError(ConnectorError):
    """The service is busy or unreachable; the same call may succeed later."""

    code = "TransientFailure"
    recommendation = "No action is needed: the call is retried automatically."


class RateLimited(TransientError):
    """The service asked us to slow down for ``retry_after`` seconds."""

    code = "RateLimited"

    def __init__(self, message: str, *, retry_after: float, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class NotFoundError(ConnectorError):
    code = "NotFound"


class BadDataError(ConnectorError):
    """The service refused the data of one object (``field`` names the attribute at fault)."""

    code = "InvalidData"
    recommendation = "Correct the value in Entra ID, or change the attribute mapping so it produces a valid value."


class ConflictError(BadDataError):
    """The target already has another object with this unique value (a group's name, say)."""

    code = "Conflict"


class ConfigurationError(ConnectorError):
    """Missing permissions or settings: every call would fail until an administrator acts."""

    code = "ConfigurationError"


class CredentialsError(ConfigurationError):
    """The stored credentials were rejected (revoked, expired, wrong secret, not an admin)."""

    code = "CredentialsRejected"
    recommendation = "Open Provisioning › Admin Credentials, select Authorize again, then Test Connection."


class DeltaExpired(ConnectorError):
    """Graph no longer accepts the stored delta link: the next cycle must read everything."""

    code = "GraphSyncStateNotFound"


class DryRunWrite(ConnectorError):
    """A write was attempted through a connector opened for a dry run."""

    code = "DryRun"


# ---------------------------------------------------------------------------- Microsoft Graph and Entra ID

def graph_error(response: requests.Response) -> ConnectorError:
    """The project's error for a failed Graph answer."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    return graph_error_from(response.status_code, body, response.headers, reason=response.reason or "")


def graph_error_from(status: int, body: Any, headers: Any = None, *, reason: str = "") -> ConnectorError:
    """The project's error for a failed Graph answer given as parts (as ``$batch`` returns them)."""
    body = body if isinstance(body, dict) else {}
    error = body.get("error", {})
    if not isinstance(error, dict):  # OAuth endpoints answer {"error": "invalid_client", ...}
        error = {"code": str(error), "message": body.get("error_description", "")}
    code = error.get("code") or f"HTTP{status}"
    message = error.get("message") or reason or f"HTTP {status}"
    kwargs = {"service": "Microsoft Graph", "status": status, "code": f"Graph{code[:1].upper()}{code[1:]}",
              "detail": error}
    if status == 429:
        return RateLimited(f"Microsoft Graph is throttling requests: {message}",
                           retry_after=retry_after_header(headers or {}, default=5.0), **kwargs)
    if status >= 500 or status in (408, 423):
        return TransientError(f"Microsoft Graph is unavailable ({status}): {message}", **kwargs)
    if status == 401:
        return CredentialsError(f"Microsoft Graph rejected the portal's token: {message}", **kwargs,
                                recommendation="Check ENTRA_TENANT_ID, ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET.")
    if status == 403:
        return ConfigurationError(
            f"The portal's app registration lacks a Microsoft Graph permission: {message}", **kwargs,
            recommendation="Grant the application permissions listed in the README and give admin consent.",
        )
    if status == 404:
        return NotFoundError(f"Not found in Microsoft Entra ID: {message}", **kwargs)
    return BadDataError(f"Microsoft Graph refused the request: {message}", **kwargs)


def msal_error(result: dict) -> ConnectorError:
    """The project's error for an msal token answer that carries ``error``."""
    error = result.get("error", "unknown_error")
    description = (result.get("error_description") or "").split("\r\n")[0]
    codes = result.get("error_codes") or []
    kwargs = {"service": "Microsoft Entra ID", "code": f"Entra_{error}", "detail": {"error": error, "error_codes": codes}}
    if error in ("invalid_client", "unauthorized_client", "invalid_request", "invalid_scope"):
        return CredentialsError(
            f"Microsoft Entra ID refused the portal's credentials ({error}): {description}", **kwargs,
            recommendation="Check ENTRA_TENANT_ID, ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET (it may have expired).",
        )
    if error in ("temporarily_unavailable", "server_error") or result.get("status", 0) >= 500:
        return TransientError(f"Microsoft Entra ID is unavailable: {description}", **kwargs)
    return ConfigurationError(f"Microsoft Entra ID refused the token request ({error}): {description}", **kwargs)


def retry_after_header(headers: Any, default: float) -> float:
    value = {str(k).lower(): v for k, v in dict(headers).items()}.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default

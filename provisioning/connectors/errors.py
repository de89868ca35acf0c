"""The project's own error types, and the one place where SDK and HTTP errors of
both services are turned into them.

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


# ---------------------------------------------------------------------------- Dropbox

#: Route error tags that mean "this one object's data is wrong", with the field at fault.
_DROPBOX_FIELD_TAGS = {
    "email_reserved_for_other_user": "email",
    "external_id_used_by_other_user": "externalId",
    "external_id_and_new_external_id_unsafe": "externalId",
    "persistent_id_used_by_other_user": "persistentId",
    "param_cannot_be_empty": None,
    "group_name_already_used": "groupName",
    "group_name_invalid": "groupName",
    "external_id_already_in_use": "externalId",
    "directory_restricted_off": None,
}
_DROPBOX_NOT_FOUND_TAGS = {"user_not_found", "user_not_in_team", "id_not_found", "group_not_found",
                           "group_already_deleted", "users_not_found", "members_not_in_team"}
_DROPBOX_HINTS = {
    "user_not_found": "The Dropbox member no longer exists; the link is cleared and the user is matched again.",
    "remove_last_admin": "Dropbox does not allow removing or suspending the last team admin.",
    "suspend_last_admin": "Dropbox does not allow removing or suspending the last team admin.",
    "team_license_limit": "Buy more Dropbox licenses or unassign users from the application.",
    "set_profile_disallowed": "This member's profile is managed elsewhere (for example by an identity provider).",
    "email_reserved_for_other_user": "Another Dropbox account uses this email; change the user's email or "
                                     "remove the other account.",
}


def _tag(union: Any) -> str:
    """The tag of a Stone union instance (``user_not_found``), or its class name."""
    tag = getattr(union, "_tag", None)
    if tag:
        return tag
    return type(union).__name__


def _humanize(tag: str) -> str:
    return tag.replace("_", " ")


def _camel(tag: str) -> str:
    return "".join(part.capitalize() for part in tag.split("_"))


def dropbox_error(exc: Exception, *, action: str = "") -> ConnectorError:
    """The project's error for anything the ``dropbox`` SDK raised."""
    from dropbox import exceptions as dbx  # imported here: the SDK is heavy and only this module needs it
    from dropbox.oauth import BadRequestException
    from stone.backends.python_rsrc.stone_validators import ValidationError

    where = f" while trying to {action}" if action else ""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, ValidationError):
        # The SDK checks arguments against the spec before sending (a 51-character name, say).
        message = str(exc)
        return BadDataError(f"Dropbox would refuse the data{where}: {message}", service="Dropbox",
                            code="DropboxBadInput", field=_field_from_bad_input(message) or _field_from_value(exc))
    if isinstance(exc, dbx.RateLimitError):
        reason = _tag(getattr(exc.error, "reason", None)) if exc.error is not None else "too_many_requests"
        return RateLimited(f"Dropbox asked to slow down ({_humanize(reason)}){where}", retry_after=exc.backoff or 5,
                           service="Dropbox", code="DropboxRateLimited")
    if isinstance(exc, dbx.AuthError):
        tag = _tag(exc.error)
        messages = {
            "invalid_access_token": "Dropbox rejected the stored credentials: the authorization was revoked or "
                                    "the authorizing account is no longer a team admin",
            "expired_access_token": "Dropbox reports the access token expired and it could not be renewed",
            "missing_scope": "The Dropbox authorization lacks a permission the portal needs",
            "user_suspended": "The authorizing Dropbox account is suspended",
            "invalid_select_admin": "The Dropbox account used to act as admin is not a team admin",
            "invalid_select_user": "The Dropbox member selected for the call is not valid",
        }
        return CredentialsError(f"{messages.get(tag, 'Dropbox rejected the stored credentials (' + tag + ')')}{where}.",
                                service="Dropbox", code=f"Dropbox{_camel(tag)}", detail=tag)
    if isinstance(exc, dbx.BadInputError):
        # Dropbox answers 400 with plain text naming the argument at fault.
        message = str(exc.message or exc)
        field = _field_from_bad_input(message)
        return BadDataError(f"Dropbox refused the data{where}: {message}", service="Dropbox",
                            code="DropboxBadInput", field=field, status=400)
    if isinstance(exc, dbx.InternalServerError):
        return TransientError(f"Dropbox had an internal error ({exc.status_code}){where}.", service="Dropbox",
                              code="DropboxServerError", status=exc.status_code)
    if isinstance(exc, dbx.HttpError):
        status = exc.status_code
        if status >= 500:
            return TransientError(f"Dropbox is unavailable ({status}){where}.", service="Dropbox", status=status)
        return ConfigurationError(f"Dropbox answered HTTP {status}{where}: {exc.body}", service="Dropbox",
                                  status=status)
    if isinstance(exc, dbx.ApiError):
        tag = _leaf_tag(exc.error)
        message = f"Dropbox refused{where}: {_humanize(tag)}"
        if exc.user_message_text:
            message += f" ({exc.user_message_text})"
        kwargs = {"service": "Dropbox", "code": f"Dropbox{_camel(tag)}", "detail": tag,
                  "recommendation": _DROPBOX_HINTS.get(tag)}
        if tag in _DROPBOX_NOT_FOUND_TAGS:
            return NotFoundError(message, **kwargs)
        if tag in _DROPBOX_FIELD_TAGS:
            return BadDataError(message, field=_DROPBOX_FIELD_TAGS[tag], **kwargs)
        if tag in ("mapping_not_found", "admin_not_active", "no_team"):
            return CredentialsError(message, **kwargs)
        return BadDataError(message, **kwargs)
    if isinstance(exc, BadRequestException):
        return ConfigurationError(f"The Dropbox authorization request was malformed{where}: {exc}", service="Dropbox")
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return _dropbox_oauth_http_error(exc.response, where)
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return TransientError(f"Dropbox could not be reached{where}: {exc.__class__.__name__}", service="Dropbox",
                              code="DropboxUnreachable")
    return ConnectorError(f"Unexpected error from Dropbox{where}: {exc}", service="Dropbox")


def _leaf_tag(union: Any) -> str:
    """Route errors nest (``{".tag": "path", "path": {".tag": "not_found"}}``): the innermost tag names it best."""
    tag = _tag(union)
    value = getattr(union, "_value", None)
    if value is not None and hasattr(value, "_tag"):
        return _leaf_tag(value)
    return tag


def _field_from_bad_input(message: str) -> str | None:
    mapping = {"member_given_name": "givenName", "new_given_name": "givenName", "member_surname": "surname",
               "new_surname": "surname", "member_email": "email", "new_email": "email",
               "member_external_id": "externalId", "new_external_id": "externalId", "group_name": "groupName"}
    for wire, field in mapping.items():
        if wire in message:
            return field
    return None


def _field_from_value(exc: Exception) -> str | None:
    """Stone's messages name the value, not the field; a name too long is the usual case."""
    return "givenName" if "at most 50 characters" in str(exc) else None


def _dropbox_oauth_http_error(response: requests.Response, where: str) -> ConnectorError:
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    error = body.get("error") if isinstance(body, dict) else None
    description = body.get("error_description", "") if isinstance(body, dict) else ""
    if response.status_code >= 500:
        return TransientError(f"Dropbox is unavailable ({response.status_code}){where}.", service="Dropbox")
    if error in ("invalid_grant", "invalid_client", "unauthorized_client"):
        return CredentialsError(f"Dropbox refused the authorization ({error}){where}: {description}".rstrip(": "),
                                service="Dropbox", code=f"Dropbox{_camel(str(error))}")
    return ConfigurationError(f"Dropbox refused the authorization request{where}: {error or response.status_code} "
                              f"{description}".rstrip(), service="Dropbox")

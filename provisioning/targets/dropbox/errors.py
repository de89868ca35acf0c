"""The one place where what the ``dropbox`` SDK raises becomes the project's own
errors (:mod:`provisioning.connectors.errors`), so the engine decides by kind:
passing, this object's data, or configuration."""

from __future__ import annotations

from typing import Any

import requests

from ...connectors.errors import (
    BadDataError,
    ConfigurationError,
    ConflictError,
    ConnectorError,
    CredentialsError,
    NotFoundError,
    RateLimited,
    TransientError,
)

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
#: Tags that mean another object already has this unique value.
_DROPBOX_CONFLICT_TAGS = {"group_name_already_used"}
_DROPBOX_HINTS = {
    "user_not_found": "The Dropbox member no longer exists; the link is cleared and the user is matched again.",
    "remove_last_admin": "Dropbox does not allow removing or suspending the last team admin.",
    "suspend_last_admin": "Dropbox does not allow removing or suspending the last team admin.",
    "last_admin": "Dropbox keeps at least one team admin: this member's Team admin role was left as it is.",
    "role_not_found": "The admin role is not one of the team's roles.",
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


def app_not_configured() -> ConfigurationError:
    """The portal has no Dropbox API app (``DROPBOX_APP_KEY`` is empty): it can neither authorize nor refresh
    a token, so no call to Dropbox can be made until the setting is given."""
    return ConfigurationError(
        "The Dropbox app key is not configured: the portal cannot call Dropbox without its Dropbox API app.",
        code="DropboxAppNotConfigured", service="Dropbox",
        recommendation="Set DROPBOX_APP_KEY (and DROPBOX_APP_SECRET) in the portal's environment to the key of "
                       "the portal's Dropbox API app, then restart the portal and its workers.",
    )


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
        if tag in _DROPBOX_CONFLICT_TAGS:
            return ConflictError(message, field=_DROPBOX_FIELD_TAGS.get(tag), **kwargs)
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

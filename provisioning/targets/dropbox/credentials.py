"""What Test Connection says when Dropbox refuses the stored authorization, in
the words of Microsoft's tutorial ("ensure your Dropbox for Business account has
Team Admin permissions and try the Authorize step again")."""

from __future__ import annotations

from ...connectors.errors import CredentialsError

_NOT_AN_ADMIN = ("DropboxAdminNotActive", "DropboxMappingNotFound", "DropboxInvalidSelectAdmin")
_REVOKED = ("DropboxInvalidGrant", "DropboxInvalidAccessToken", "DropboxExpiredAccessToken")


def explain_rejection(exc: CredentialsError, admin_email: str) -> tuple[str, str] | None:
    """(message, recommendation) for a rejected authorization; None when the error says it best."""
    if exc.code in _NOT_AN_ADMIN:
        who = f" ({admin_email})" if admin_email else ""
        return (f"The account that authorized the portal{who} is not a Dropbox team admin.",
                "Ensure your Dropbox for Business account has Team Admin permissions, then select Authorize again "
                "and sign in with that account.")
    if exc.code in _REVOKED:
        return ("The Dropbox authorization was revoked or has expired.",
                "Select Authorize again and sign in with a Dropbox team admin account.")
    return None

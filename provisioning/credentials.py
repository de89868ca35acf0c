"""Admin Credentials: storing a Dropbox authorization and testing it."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from .connectors.dropbox import DropboxConnector
from .connectors.errors import ConnectorError, CredentialsError, TransientError

SUCCESS_MESSAGE = "The supplied credentials are authorized to enable provisioning"


@dataclass
class ConnectionResult:
    ok: bool
    message: str
    recommendation: str = ""
    admin_email: str = ""
    team_name: str = ""


def target_connector(job, **overrides) -> DropboxConnector:
    """The Dropbox connector for a job's stored authorization."""
    return connector_for_token(job.dropbox_refresh_token, **overrides)


def connector_for_token(refresh_token: str | None, **overrides) -> DropboxConnector:
    return DropboxConnector.from_settings(refresh_token, **overrides)


def describe_team(connector: DropboxConnector) -> tuple[str, str, str, str]:
    """(admin email, admin team member id, team name, team id) behind an authorization."""
    admin = connector.authenticated_admin()
    info = connector.get_info()
    return admin.email, admin.team_member_id, info["name"], info["team_id"]


def test_connection(job) -> ConnectionResult:
    """Call the team API with the stored credentials and check that the authorizing
    account is an active team admin. The result is stored on the job."""
    result = _test(job)
    job.connection_checked_at = timezone.now()
    job.connection_ok = result.ok
    job.connection_message = result.message if result.ok else f"{result.message} {result.recommendation}".strip()
    fields = ["connection_checked_at", "connection_ok", "connection_message"]
    if result.ok:
        job.dropbox_admin_email, job.dropbox_team_name = result.admin_email, result.team_name
        fields += ["dropbox_admin_email", "dropbox_team_name"]
    job.save(update_fields=fields)
    return result


def _test(job) -> ConnectionResult:
    if not job.is_authorized:
        return ConnectionResult(
            False, "The portal is not authorized against Dropbox yet.",
            "Select Authorize and sign in with a Dropbox team admin account.",
        )
    try:
        connector = target_connector(job, max_rate_limit_waits=2, max_wait=10)
        admin_email, _, team_name, _ = describe_team(connector)
    except CredentialsError as exc:
        if exc.code in ("DropboxAdminNotActive", "DropboxMappingNotFound", "DropboxInvalidSelectAdmin"):
            who = f" ({job.dropbox_admin_email})" if job.dropbox_admin_email else ""
            return ConnectionResult(
                False, f"The account that authorized the portal{who} is not a Dropbox team admin.",
                "Ensure your Dropbox for Business account has Team Admin permissions, then select Authorize again "
                "and sign in with that account.",
            )
        if exc.code in ("DropboxInvalidGrant", "DropboxInvalidAccessToken", "DropboxExpiredAccessToken"):
            return ConnectionResult(
                False, "The Dropbox authorization was revoked or has expired.",
                "Select Authorize again and sign in with a Dropbox team admin account.",
            )
        return ConnectionResult(False, exc.message, exc.recommendation or CredentialsError.recommendation)
    except TransientError as exc:
        return ConnectionResult(
            False, f"The Dropbox team could not be reached: {exc.message}",
            "Check the portal's network access to Dropbox (DROPBOX_API_URL) and try again in a few minutes.",
        )
    except ConnectorError as exc:
        return ConnectionResult(False, exc.message, exc.recommendation)
    return ConnectionResult(True, SUCCESS_MESSAGE, admin_email=admin_email, team_name=team_name)

"""Admin Credentials: what a target authorization belongs to, and Test Connection."""

from __future__ import annotations

from dataclasses import dataclass

from .connectors.errors import ConnectorError, CredentialsError, TransientError
from .targets import package_of
from .targets.base import TargetConnector

SUCCESS_MESSAGE = "The supplied credentials are authorized to enable provisioning"


@dataclass
class ConnectionResult:
    ok: bool
    message: str
    recommendation: str = ""
    admin_email: str = ""
    team_name: str = ""


@dataclass(frozen=True)
class TeamIdentity:
    """Who authorized the portal, and for which target (team)."""

    admin_email: str
    admin_id: str
    team_name: str
    team_id: str


def describe_team(connector: TargetConnector) -> TeamIdentity:
    """The admin and the team behind an authorization."""
    admin = connector.authenticated_admin()
    name, team_id = connector.describe()
    return TeamIdentity(admin.label, admin.id, name, team_id)


def check_connection(job) -> ConnectionResult:
    """Call the target with the stored credentials and check that the authorizing
    account is an active admin. Stores nothing (see :func:`provisioning.jobs.test_connection`).

    Raises :class:`~provisioning.connectors.errors.ConfigurationError` when the portal itself lacks a
    setting the target needs (its app key, say): nothing could be tested, and that says nothing of the
    stored credentials."""
    from . import connections

    package = package_of(job)
    names = package.names
    if not job.is_authorized:
        return ConnectionResult(
            False, f"The portal is not authorized against {names.service} yet.",
            f"Select Authorize and sign in with a {names.container} admin account.",
        )
    connector = connections.target(job, interactive=True)  # builds only: no call is made yet
    try:
        identity = describe_team(connector)
    except CredentialsError as exc:
        explained = package.explain_rejection(exc, job.target_admin_email) if package.explain_rejection else None
        if explained:
            return ConnectionResult(False, *explained)
        return ConnectionResult(False, exc.message, exc.recommendation or CredentialsError.recommendation)
    except TransientError as exc:
        return ConnectionResult(
            False, f"The {names.container} could not be reached: {exc.message}",
            f"Check the portal's network access to {names.service} and try again in a few minutes.",
        )
    except ConnectorError as exc:
        return ConnectionResult(False, exc.message, exc.recommendation)
    return ConnectionResult(True, SUCCESS_MESSAGE, admin_email=identity.admin_email, team_name=identity.team_name)

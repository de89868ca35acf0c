"""Dropbox for Business: the target package of the gallery's Dropbox entry. The
only part of the project that imports the ``dropbox`` SDK."""

from __future__ import annotations

from ..base import TargetPackage
from .schema import DEFAULT_MAPPINGS, NAMES, SCHEMA


def connect(secret: str | None, *, dry_run: bool = False, **overrides):
    """The connector for a stored refresh token, with the portal's Dropbox app settings (ConfigurationError
    when the portal has no Dropbox app: the SDK needs its key to refresh a token)."""
    from django.conf import settings

    from .connector import DropboxConnector
    from .errors import app_not_configured

    if not settings.DROPBOX_APP_KEY:
        raise app_not_configured()
    return DropboxConnector.from_settings(secret, dry_run=dry_run, **overrides)


def warm_up() -> None:
    """Import the SDK and the connector (a few hundred milliseconds the first time)."""
    from . import connector  # noqa: F401


def _authorization():
    from .oauth import DropboxAuthorization

    return DropboxAuthorization()


def _explain(exc, admin_email: str):
    from .credentials import explain_rejection

    return explain_rejection(exc, admin_email)


PACKAGE = TargetPackage(key="dropbox", names=NAMES, schema=SCHEMA, default_mappings=DEFAULT_MAPPINGS,
                        job_template="dropboxSCIMOutDelta",
                        connect_with=connect, authorization=_authorization(), explain_rejection=_explain)

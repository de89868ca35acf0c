"""The one place connectors are built: the source (Microsoft Entra ID) from the
portal's settings, and a job's target from its application's gallery entry and
stored authorization. Views, the runner, the CLI and the API ask here."""

from __future__ import annotations

from .connectors.entra import EntraConnector
from .targets import package_of
from .targets.base import TargetConnector

#: a person waits on the page: give up on a busy service quickly rather than hang the request
INTERACTIVE_SOURCE = {"max_attempts": 3, "max_wait": 10}
INTERACTIVE_TARGET = {"max_rate_limit_waits": 2, "max_wait": 10}


def source(*, interactive: bool = False, **overrides) -> EntraConnector:
    """The tenant, through Microsoft Graph."""
    return EntraConnector.from_settings(**{**(INTERACTIVE_SOURCE if interactive else {}), **overrides})


def target(job, *, dry_run: bool = False, interactive: bool = False, **overrides) -> TargetConnector:
    """The target of a job, with its stored authorization (a dry run refuses every write)."""
    return package_of(job).connect(job, dry_run=dry_run, **{**(INTERACTIVE_TARGET if interactive else {}),
                                                            **overrides})


def target_for_secret(job, secret: str | None, *, interactive: bool = True, **overrides) -> TargetConnector:
    """The target of a job's application reached with a secret not stored yet (just authorized)."""
    return package_of(job).connect_with(secret, **{**(INTERACTIVE_TARGET if interactive else {}), **overrides})

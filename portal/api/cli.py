"""What the API's commands share: who acts (``--as``), finding a job, exit codes, JSON output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import ClassVar

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from provisioning import jobs
from provisioning.models import ProvisioningJob

from .operations import OperationError, find_job

#: exit codes a script can rely on (argparse itself exits 2 for a usage error)
OK, REFUSED, USAGE, NOT_FOUND, FAILED, STILL_RUNNING = 0, 1, 2, 3, 4, 5
EXIT_CODES = """exit codes:
  0  done
  1  refused: the change cannot be made now, or the input is not valid (the reason is printed)
  2  usage: an unknown command or option
  3  not found: no such job, version or user
  4  failed: the operation ran and failed
  5  still running: provision on demand did not finish in time (see its page)"""


class CommandLine:
    """Stands in for a request in the audit trail: "(via manage.py)", as an API change names its token."""

    META: ClassVar[dict] = {}
    user = None
    api_credential_label = "manage.py"

    def __init__(self, user=None):
        from django.contrib.auth.models import AnonymousUser

        self.user = user or AnonymousUser()


class ApiCommand(BaseCommand):
    """A command of the API's family: ``--as`` names the portal user who acts (the audit trail records
    them); JSON with ``--json``."""

    epilog = EXIT_CODES

    def create_parser(self, prog_name, subcommand, **kwargs):
        from argparse import RawDescriptionHelpFormatter

        parser = super().create_parser(prog_name, subcommand, epilog=self.epilog,
                                       formatter_class=RawDescriptionHelpFormatter, **kwargs)
        return parser

    def add_actor_argument(self, parser) -> None:
        parser.add_argument("--as", dest="as_user", metavar="EMAIL",
                            help="the portal user in whose name changes are made (the audit trail names them "
                                 "with 'via manage.py'); without it, changes are the system's")

    def actor(self, email: str | None) -> jobs.Actor:
        if not email:
            return jobs.Actor(request=CommandLine(), label="manage.py")
        user = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
        if user is None:
            raise CommandError(f"No active portal user has the email {email}.", returncode=NOT_FOUND)
        return jobs.Actor(user=user, request=CommandLine(user), label=user.email)

    def request(self, email: str | None) -> CommandLine:
        """The stand-in request for services that take one (the configuration's import)."""
        return self.actor(email).request

    def job(self, identifier: str) -> ProvisioningJob:
        try:
            job = find_job(identifier)
        except OperationError as error:
            raise CommandError(str(error), returncode=USAGE) from None
        if job is None:
            raise CommandError(f"No job is named {identifier!r}: give a job id, an application's id or name, or a "
                               "service principal id (manage.py jobs list).", returncode=NOT_FOUND)
        return job

    def emit_json(self, value) -> None:
        self.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str))

    def refuse(self, message: str, code: int = REFUSED):
        raise CommandError(message, returncode=code)


def read_json(path: str):
    """A JSON file, or standard input for ``-``."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}", returncode=NOT_FOUND) from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise CommandError(f"{path} is not JSON: {error}", returncode=REFUSED) from None

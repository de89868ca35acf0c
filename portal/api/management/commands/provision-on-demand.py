# ruff: noqa: N999  (the file names the command: manage.py provision-on-demand, as the issue writes it)
"""manage.py provision-on-demand JOB USER: POST .../provisionOnDemand from the command line."""

from __future__ import annotations

from provisioning import connections, jobs
from provisioning.connectors.errors import ConnectorError, NotFoundError

from ...cli import FAILED, NOT_FOUND, STILL_RUNNING, ApiCommand
from ...operations import wait_for


class Command(ApiCommand):
    help = ("Provision one user (or, with --group, a group of up to five members) now, and print the steps the "
            "portal's Provision on demand page shows. USER is the object id in Microsoft Entra ID, or a user "
            "principal name. The worker runs it; this waits for it (--wait).")

    def add_arguments(self, parser):
        parser.add_argument("job", metavar="JOB", help="a job id, an application's id or name, or a service "
                                                       "principal id")
        parser.add_argument("user", metavar="USER", help="object id, or user principal name (name@domain)")
        parser.add_argument("--group", action="store_true", help="USER is a group's object id")
        parser.add_argument("--wait", type=float, default=120, metavar="SECONDS",
                            help="how long to wait for the worker (default 120)")
        parser.add_argument("--json", action="store_true", help="the run and its steps as JSON")
        self.add_actor_argument(parser)

    def handle(self, *args, job: str, user: str, group: bool, wait: float, json: bool, as_user=None, **options):
        found = self.job(job)
        object_type, source_id = ("group" if group else "user"), user
        if not group and "@" in user:
            source_id = self._user_id(user)
        try:
            run = jobs.provision_on_demand(found, self.actor(as_user), object_type=object_type, source_id=source_id)
        except jobs.JobError as error:
            self.refuse(str(error))
        run = wait_for(run, wait)
        if json:
            self.emit_json({"run": run.pk, "status": run.status, "error": run.error or None, "steps": run.steps,
                            "logIds": run.log_ids})
        else:
            for step in run.steps:
                self.stdout.write(f"[{step.get('status', '')}] {step.get('name', '')}: {step.get('description', '')}")
        if run.status == "running":
            self.refuse(f"The run {run.pk} has not finished after {wait:g} s: see it on the Provision on demand "
                        "page.", STILL_RUNNING)
        if run.status == "failed":
            self.refuse(f"Provision on demand failed: {run.error}", FAILED)
        if not json:
            self.stdout.write(f"Done: run {run.pk}.")

    def _user_id(self, principal_name: str) -> str:
        try:
            return connections.source().get_user(principal_name, select=["id"])["id"]
        except NotFoundError:
            self.refuse(f"No user {principal_name} in Microsoft Entra ID.", NOT_FOUND)
        except ConnectorError as error:
            self.refuse(f"Microsoft Entra ID could not be asked: {error.message}", FAILED)
        return ""

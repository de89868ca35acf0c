"""manage.py jobs list|show|start|pause|restart|validate-credentials: the API's synchronizationJob verbs."""

from __future__ import annotations

from provisioning import jobs
from provisioning.connectors.errors import ConfigurationError
from provisioning.models import ProvisioningJob

from ...cli import FAILED, OK, ApiCommand
from ...operations import OperationError, parse_reset_scope, restart
from ...shapes import synchronization_job


class Command(ApiCommand):
    help = ("The provisioning jobs, as GET/POST .../synchronization/jobs of the API answer them: list them, show one "
            "(as a synchronizationJob), start (Provisioning Status On), pause (Off), restart (Graph's resetScope), "
            "or test the stored credentials. JOB is a job id, an application's id or name, or a service principal "
            "id.")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = actions.add_parser("list", help="every job: id, application, status")
        listing.add_argument("--json", action="store_true", help="synchronizationJob objects, as the API answers")
        show = actions.add_parser("show", help="one job as a synchronizationJob (JSON)")
        show.add_argument("job", metavar="JOB")
        for name, text in (("start", "turn provisioning On and start a cycle now"),
                           ("pause", "turn provisioning Off (a running cycle stops after its batch)"),
                           ("validate-credentials", "Test Connection with the stored credentials")):
            action = actions.add_parser(name, help=text)
            action.add_argument("job", metavar="JOB")
            self.add_actor_argument(action)
        again = actions.add_parser("restart", help="Restart provisioning: delta links, escrows and quarantine "
                                                   "cleared; the next cycle reads everything")
        again.add_argument("job", metavar="JOB")
        again.add_argument("--reset-scope", default="", metavar="FLAGS",
                           help="Graph's criteria.resetScope, comma-separated: None, Escrows, Watermark, "
                                "QuarantineState, Full, ForceDeletes (also run the deletions staged by "
                                "accidental-deletion prevention)")
        self.add_actor_argument(again)

    def handle(self, *args, action: str, **options):
        if action == "list":
            return self._list(options["json"])
        job = self.job(options["job"])
        if action == "show":
            self.emit_json(synchronization_job(job))
            return None
        actor = self.actor(options.get("as_user"))
        try:
            if action == "start":
                jobs.start(job, actor)
                self.stdout.write(f"Provisioning of {job.application} is On: a cycle is starting.")
            elif action == "pause":
                jobs.stop(job, actor)
                self.stdout.write(f"Provisioning of {job.application} is Off.")
            elif action == "restart":
                restart(job, actor, parse_reset_scope(options["reset_scope"]))
                self.stdout.write(f"Provisioning of {job.application} was restarted: the next cycle reads "
                                  "everything.")
            else:
                try:
                    result = jobs.test_connection(job)
                except ConfigurationError as error:  # the portal's own settings: nothing tested, nor recorded
                    self.refuse(f"Test Connection could not run: {error.message} {error.recommendation}".strip(),
                                FAILED)
                if not result.ok:
                    self.refuse(f"Test Connection failed: {result.message} {result.recommendation}".strip(), FAILED)
                self.stdout.write(result.message)
        except (jobs.JobError, OperationError) as error:
            self.refuse(str(error))
        return None

    def _list(self, as_json: bool) -> int:
        found = ProvisioningJob.objects.select_related("application").filter(
            application__deleted_at__isnull=True).order_by("application__display_name")
        if as_json:
            self.emit_json([{"application": {"id": str(job.application_id), "displayName": str(job.application),
                                             "servicePrincipalId": job.application.service_principal_id},
                             **synchronization_job(job)} for job in found])
            return OK
        for job in found:
            status = synchronization_job(job)["status"]["code"]
            self.stdout.write(f"{job.job_id}\t{status}\t{job.application}")
        return OK

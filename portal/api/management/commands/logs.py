"""manage.py logs: the provisioning logs, filtered as GET /auditLogs/provisioning filters them."""

from __future__ import annotations

import csv
import json

from provisioning.log_export import LOG_COLUMNS, graph_summary, log_row
from provisioning.models import ProvisioningLog

from ...cli import REFUSED, ApiCommand
from ...odata import FilterError, parse_filter


class Command(ApiCommand):
    help = ("The provisioning logs, newest first, as provisioningObjectSummary objects (--format json, one JSON "
            "array) or as the rows of the portal's CSV download (--format csv). --filter takes the API's $filter: "
            "activityDateTime ge/gt/le/lt, provisioningAction, provisioningStatusInfo/status, sourceIdentity/id, "
            "targetIdentity/id, cycleId, changeId, jobId, servicePrincipal/id, combined with and. Example: "
            "--filter \"provisioningStatusInfo/status eq 'failure' and activityDateTime ge 2026-05-01\"")

    def add_arguments(self, parser):
        parser.add_argument("--job", metavar="JOB", help="only this job's rows (a job id, an application's id or "
                                                         "name, or a service principal id)")
        parser.add_argument("--filter", default="", metavar="EXPRESSION", help="the API's $filter")
        parser.add_argument("--top", type=int, default=100, metavar="N",
                            help="at most N rows (default 100; 0 for every row)")
        parser.add_argument("--format", choices=["json", "csv"], default="json")

    def handle(self, *args, job=None, filter="", top=100, format="json", **options):
        if top < 0:
            self.refuse("--top is 0 (every row) or more.")
        try:
            query = parse_filter(filter)
        except FilterError as error:
            self.refuse(f"Invalid filter: {error}", REFUSED)
        logs = ProvisioningLog.objects.select_related("job__application").filter(query)
        if job:
            logs = logs.filter(job=self.job(job))
        logs = logs.order_by("-activity_time", "-id")
        if top:
            logs = logs[:top]
        rows = logs.iterator(chunk_size=2000) if not top else logs
        if format == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(LOG_COLUMNS)
            for log in rows:
                writer.writerow(log_row(log, application=log.job.application, job_id=log.job.job_id))
            return
        self.stdout.write("[", ending="")
        for number, log in enumerate(rows):
            text = json.dumps(graph_summary(log, application=log.job.application, job_id=log.job.job_id),
                              ensure_ascii=False)
            self.stdout.write(("," if number else "") + "\n" + text, ending="")
        self.stdout.write("\n]")

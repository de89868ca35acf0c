"""manage.py schema export|import|versions|rollback: a job's synchronizationSchema, or its whole
configuration, as files; the versions of the configuration."""

from __future__ import annotations

import json

from provisioning.models import ProvisioningJob

from ...cli import NOT_FOUND, REFUSED, ApiCommand, read_json
from ...configuration import (
    FORMAT,
    ConfigurationError,
    apply,
    check_configuration,
    check_schema,
    export_configuration,
    import_configuration,
    schema_of,
)
from ...models import ConfigurationVersion
from ...versions import differences


class Command(ApiCommand):
    help = ("A job's attribute mappings, scoping filters and object actions as a synchronizationSchema (as GET/PUT "
            ".../schema of the API), or with --configuration its whole configuration (settings and schedule too, "
            "never credentials). An import is checked exactly as the mapping editor checks a change and saved all "
            "or nothing; --dry-run prints the differences and saves nothing.")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        export = actions.add_parser("export", help="print (or write) the schema or the configuration")
        export.add_argument("job", metavar="JOB")
        export.add_argument("--configuration", action="store_true", help="the whole configuration file")
        export.add_argument("--output", "-o", metavar="FILE", help="write to FILE rather than standard output")
        into = actions.add_parser("import", help="save a schema or a configuration file (FILE, or - for standard "
                                                 "input) into JOB")
        into.add_argument("job", metavar="JOB")
        into.add_argument("file", metavar="FILE")
        into.add_argument("--dry-run", action="store_true", help="check and print the differences; save nothing")
        into.add_argument("--json", action="store_true", help="the differences as JSON")
        self.add_actor_argument(into)
        listing = actions.add_parser("versions", help="the versions of the job's configuration, newest first")
        listing.add_argument("job", metavar="JOB")
        listing.add_argument("--json", action="store_true")
        back = actions.add_parser("rollback", help="make an earlier version the configuration (a new version)")
        back.add_argument("job", metavar="JOB")
        back.add_argument("version", type=int, metavar="VERSION")
        back.add_argument("--dry-run", action="store_true", help="print the differences; change nothing")
        self.add_actor_argument(back)

    def handle(self, *args, action: str, **options):
        job = self.job(options.pop("job"))
        getattr(self, f"_{action}")(job, **options)

    def _export(self, job: ProvisioningJob, *, configuration: bool, output: str | None, **options) -> None:
        document = export_configuration(job.application) if configuration else schema_of(job)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stdout.write(f"Wrote {output}.")
        else:
            self.stdout.write(text, ending="")

    def _import(self, job: ProvisioningJob, *, file: str, dry_run: bool, json: bool, as_user: str | None,
                **options) -> None:
        document = read_json(file)
        whole = isinstance(document, dict) and document.get("@odata.type") == FORMAT
        current = export_configuration(job.application)
        proposed = document if whole else {**current, "schema": _schema_part(document)}
        try:
            if dry_run:
                check_configuration(job.application, proposed) if whole else check_schema(job, document)
            elif whole:
                import_configuration(job.application, document, self.request(as_user),
                                     reason=f"Imported {file} (manage.py)")
            else:
                apply(job.application, check_schema(job, document), self.request(as_user),
                      detail=f"Replaced from {file} (manage.py schema import)")
        except ConfigurationError as error:
            lines = [f"  {problem.target}: {problem.message}" for problem in error.errors]
            self.refuse("Nothing was saved:\n" + "\n".join(lines))
        self._print_changes(differences(current, proposed), json, saved=not dry_run)

    def _versions(self, job: ProvisioningJob, *, json: bool, **options) -> None:
        versions = ConfigurationVersion.objects.filter(application=job.application).defer("configuration")
        rows = [{"version": v.number, "createdDateTime": v.created_at.isoformat(), "initiatedBy": v.actor_display
                 or "System", "reason": v.reason} for v in versions]
        if json:
            self.emit_json(rows)
            return
        for row in rows:
            self.stdout.write(f"{row['version']}\t{row['createdDateTime']}\t{row['initiatedBy']}\t{row['reason']}")

    def _rollback(self, job: ProvisioningJob, *, version: int, dry_run: bool, as_user: str | None,
                  **options) -> None:
        found = ConfigurationVersion.objects.filter(application=job.application, number=version).first()
        if found is None:
            self.refuse(f"Version {version} of this job's configuration does not exist.", NOT_FOUND)
        current = export_configuration(job.application)
        try:
            if dry_run:
                check_configuration(job.application, found.configuration)
            else:
                import_configuration(job.application, found.configuration, self.request(as_user),
                                     reason=f"Rolled back to version {version}")
        except ConfigurationError as error:
            self.refuse(f"Version {version} cannot be restored: {error}", REFUSED)
        self._print_changes(differences(current, found.configuration), False, saved=not dry_run)

    def _print_changes(self, changes: list[dict], as_json: bool, *, saved: bool) -> None:
        if as_json:
            self.emit_json({"saved": saved and bool(changes), "changes": changes})
            return
        if not changes:
            self.stdout.write("Nothing differs: nothing to change.")
            return
        for change in changes:
            self.stdout.write(f"{change['path']}: {_text(change['before'])} -> {_text(change['after'])}")
        self.stdout.write(f"{len(changes)} difference(s) " + ("saved." if saved else "found; nothing was saved "
                                                                                      "(--dry-run)."))


def _schema_part(document) -> dict:
    if not isinstance(document, dict):
        return {}
    return {key: value for key, value in document.items() if key not in ("id", "version", "@odata.context")}


def _text(value) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


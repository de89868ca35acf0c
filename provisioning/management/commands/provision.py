"""Run one provisioning cycle in the foreground and print its summary."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from provisioning.engine.runner import lease_owner, preview, run_job
from provisioning.models import Application, CyclePreview
from provisioning.targets import warm_up


class Command(BaseCommand):
    help = "Run one provisioning cycle now (or preview it with --dry-run) and print what it did."

    def add_arguments(self, parser):
        parser.add_argument("--app", help="application name or id (needed when there are several)")
        parser.add_argument("--full", action="store_true", help="read everything, not only the changes")
        parser.add_argument("--dry-run", action="store_true", help="plan the next cycle and write nothing")
        parser.add_argument("--discover", action="store_true",
                            help="run account discovery instead: sort every Dropbox member, write nothing")
        parser.add_argument("--workers", type=int, default=24, help="most Dropbox writes in flight (default 24)")

    def handle(self, *args, app=None, full=False, dry_run=False, discover=False, workers=24, **options):
        application = self._application(app)
        job = application.job
        warm_up()
        if discover:
            self._discover(application)
            return
        if dry_run:
            record = preview(CyclePreview.objects.create(job=job, kind="", requested_by="manage.py").pk,
                             max_workers=workers)
            if record.status == "failed":
                raise CommandError(f"The preview failed: {record.error}")
            self.stdout.write(f"Preview of the next {record.get_kind_display().lower()} of {application}:")
            for action, count in sorted(record.counts.items()):
                self.stdout.write(f"  {action:<14} {count}")
            if record.staged_reason:
                self.stdout.write(self.style.WARNING(record.staged_reason))
            return
        result = run_job(job.pk, owner=lease_owner(), force_full=full, initiated_by="manage.py provision",
                         ignore_schedule=True, max_workers=workers)
        if not result.ran:
            raise CommandError(result.message)
        cycle = result.cycle
        cycle.refresh_from_db()
        self.stdout.write(f"{cycle.get_kind_display()} {cycle.cycle_id} of {application}: {cycle.get_status_display()}")
        if cycle.duration is not None:
            self.stdout.write(f"  duration        {cycle.duration.total_seconds():.1f} s")
        self.stdout.write(f"  objects         {cycle.objects_processed} processed of {cycle.objects_in_scope}")
        self.stdout.write(f"  calls           {cycle.source_calls} to Microsoft Graph, {cycle.target_calls} to the target")
        for action, statuses in sorted(cycle.counters.items()):
            detail = ", ".join(f"{status} {count}" for status, count in sorted(statuses.items()))
            self.stdout.write(f"  {action:<14}  {detail}")
        if cycle.error:
            self.stdout.write(self.style.WARNING(cycle.error))

    def _discover(self, application: Application) -> None:
        from provisioning.constants import DiscoveryCategory
        from provisioning.discovery import run
        from provisioning.models import AccountDiscovery

        if not application.job.is_authorized:
            raise CommandError("Authorize the portal against Dropbox first (Provisioning › Authorize).")
        record = run(AccountDiscovery.objects.create(job=application.job, requested_by="manage.py").pk)
        if record.status == "failed":
            raise CommandError(f"The discovery failed: {record.error}")
        seconds = (record.finished_at - record.created_at).total_seconds()
        self.stdout.write(f"Account discovery of {application}: {sum(record.counts.values())} members "
                          f"in {seconds:.1f} s")
        for value, label in DiscoveryCategory.choices:
            self.stdout.write(f"  {label:<40} {record.counts.get(value, 0)}")

    def _application(self, name: str | None) -> Application:
        applications = Application.objects.select_related("job").filter(deleted_at__isnull=True)
        if name:
            matches = list(applications.filter(Q(display_name__iexact=name) | Q(pk__iexact=name)
                                               if _is_uuid(name) else Q(display_name__iexact=name)))
        else:
            matches = list(applications.all()[:2])
        if not matches:
            raise CommandError("No application" + (f" named {name!r}." if name else " yet: add one in the portal."))
        if len(matches) > 1:
            raise CommandError("Several applications: choose one with --app NAME.")
        return matches[0]


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False

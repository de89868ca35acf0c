"""One walk through every page of the portal, as an administrator after a real
cycle, with the states the pages' scripts add (a dialog, search results, the
side panel, an added scoping filter). Each stop is handed to a check."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse
from django.utils import timezone

from provisioning.constants import LogStatus, StreamKind
from provisioning.models import AttributeMapping, ProvisioningLog, StreamDestination, StreamEntry
from tests.fixtures import PASSWORD

from .conftest import record_heartbeats, sign_in


class Walk:
    """Visits pages, hands each one to ``check`` (page -> what failed there, "" if nothing), and keeps
    what failed."""

    def __init__(self, page, check: Callable[[object], str]):
        self.page = page
        self._check = check
        self.checked: list[str] = []
        self.failures: dict[str, str] = {}

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        found = self._check(self.page)
        self.checked.append(name)
        if found:
            self.failures[name] = found

    def visit(self, name: str, url: str, ready: str = "main") -> None:
        record_heartbeats()  # the top bar shows the worker and the scheduler Running
        response = self.page.goto(url)
        assert response.ok, f"{name}: {url} answered {response.status}"
        self.page.wait_for_selector(ready)
        self.check(name)

    def report(self) -> str:
        return "\n".join(f"{name}:\n{found}" for name, found in self.failures.items())


def every_page(walk: Walk, job, user) -> None:
    """Signs ``user`` (an administrator) in and walks every page of ``job``'s application."""
    page = walk.page
    app = job.application_id
    user_mapping = AttributeMapping.objects.filter(object_mapping__job=job, object_mapping__object_type="user")
    log = (ProvisioningLog.objects.filter(job=job).exclude(status=LogStatus.SUCCESS).first()
           or ProvisioningLog.objects.filter(job=job).first())

    walk.visit("sign-in", reverse("account_login"), "#id_login")
    sign_in(page, user)
    walk.check("All applications")
    walk.visit("gallery", reverse("portal:gallery"))
    page.click("[data-gallery-app=dropbox-business]")
    page.wait_for_selector("dialog[open]")
    walk.check("gallery, the Add dialog open")

    walk.visit("Overview", reverse("portal:overview", args=[app]), "#cycle-status")
    assert page.inner_text("[data-service=worker]") == "Worker: Running"
    assert page.inner_text("[data-service=scheduler]") == "Scheduler: Running"
    walk.visit("Users and groups", reverse("portal:users_and_groups", args=[app]), "#assignments")
    walk.visit("Add assignment", reverse("portal:add_assignment", args=[app]))
    page.fill("#directory-search", "Meg")
    page.wait_for_selector("#directory-results [data-principal-id]")
    page.click("#directory-results [data-principal-id] >> nth=0")
    walk.check("Add assignment, a user selected")
    walk.visit("Provisioning", reverse("portal:provisioning", args=[app]), "#provisioning-form")
    page.select_option("#id_on_unassigned", "nothing")
    page.click("#preview-changes")
    page.wait_for_selector("#preview-comparison", timeout=60_000)  # both dry runs done on the worker
    walk.check("Preview with these changes")
    walk.visit("Mappings", reverse("portal:mappings", args=[app]))
    walk.visit("Attribute mappings", reverse("portal:attribute_mappings", args=[app, "user"]), "#attribute-mappings")
    walk.visit("Edit mapping", reverse("portal:edit_attribute_mapping",
                                       args=[app, "user", user_mapping.first().pk]), "#mapping-form")
    walk.visit("Add New Mapping", reverse("portal:add_attribute_mapping", args=[app, "user"]), "#mapping-form")
    walk.visit("Restore default mappings", reverse("portal:restore_default_mappings", args=[app, "user"]))
    walk.visit("Expression builder", reverse("portal:expression_builder", args=[app]), "#builder-form")
    page.fill("#builder-expression", 'Join(" ", [givenName], [surname])')
    page.fill("#builder-search", "Meg")
    page.wait_for_selector("#builder-users [data-user-id]")
    page.click("#builder-users [data-user-id] >> nth=0")
    page.wait_for_selector("#expression-result")
    walk.check("Expression builder, a result")
    walk.visit("Scoping filters", reverse("portal:scoping_filters", args=[app, "user"]), "#scoping-form")
    page.click("#add-filter")
    page.wait_for_selector("fieldset.scoping-filter")
    walk.check("Scoping filters, a filter added")
    walk.visit("Provision on demand", reverse("portal:on_demand", args=[app]), "#on-demand-search")
    page.fill("#on-demand-search", "Meg")
    page.wait_for_selector("#on-demand-results [data-provision]")
    walk.check("Provision on demand, search results")
    page.click("#on-demand-results [data-provision] >> nth=0")
    page.wait_for_selector("#on-demand-status:not(:has-text('In progress'))", timeout=60_000)  # the worker ran it
    walk.check("Provision on demand, a run's steps")
    walk.visit("Object links", reverse("portal:links", args=[app]), "#links")
    walk.visit("Account discovery, none yet", reverse("portal:discovery_page", args=[app]), "#discovery-none")
    page.click("#discovery-start")
    page.wait_for_selector("#discovery-counts", timeout=60_000)  # the worker sorted the team; the page polled
    walk.check("Account discovery, its counts and members")
    page.click("#discovery-counts [data-category=will_match], #discovery-counts [data-category=linked] >> nth=0")
    page.wait_for_selector("#discovery-accounts, #discovery-empty")
    walk.check("Account discovery, one category")
    walk.visit("Provisioning logs", reverse("portal:provisioning_logs", args=[app]), "#provisioning-logs")
    page.click("#provisioning-logs a[data-log-detail] >> nth=0")
    page.wait_for_selector("#log-panel .log-detail")
    walk.check("Provisioning logs, a row's side panel")
    walk.visit("a log's detail", reverse("portal:provisioning_log_detail", args=[app, log.pk]), "#log-detail")
    walk.visit("Audit logs of the application", reverse("portal:app_audit_logs", args=[app]))
    walk.visit("Roles and administrators", reverse("portal:roles", args=[app]), "#add-role-form")
    walk.visit("Audit logs", reverse("portal:audit_logs"))
    walk.visit("Portal users", reverse("portal:portal_users"))
    walk.visit("Outbox", reverse("portal:outbox"))
    walk.visit("two-factor authentication", reverse("mfa_index"))
    page.goto(reverse("mfa_activate_totp"))
    if reverse("account_reauthenticate") in page.url:
        # Changing how one signs in asks for the password again.
        walk.check("password asked again")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
    page.wait_for_selector("input[name=code]")
    walk.check("two-factor setup")
    assert page.url.endswith(reverse("mfa_activate_totp")), page.url
    walk.visit("Add security key", reverse("mfa_add_webauthn"), "#mfa_webauthn_add")
    walk.visit("Sessions", reverse("accounts:sessions"), "#sessions")
    walk.visit("API tokens", reverse("portal:api_tokens"), "#field-name")
    _configuration_pages(walk, job)
    _streaming_pages(walk)
    walk.visit("Change password", reverse("account_change_password"))
    page.goto("/applications/00000000-0000-0000-0000-000000000000/")
    walk.check("Not found")


def _configuration_pages(walk: Walk, job) -> None:
    """The application's Configuration page, and one of its versions compared with now."""
    from portal.api.models import ConfigurationVersion
    from portal.api.versions import record_version

    app = job.application_id
    record_version(app, reason="Created")
    latest = ConfigurationVersion.objects.filter(application_id=app).first()
    walk.visit("Configuration", reverse("portal:configuration", args=[app]), "#configuration-versions")
    walk.visit("a configuration version", reverse("portal:configuration_version", args=[app, latest.number])
               + "?compare=current", "#rollback")


def _streaming_pages(walk: Walk) -> None:
    """Log streaming: its destinations (one that delivered, one that failed and holds a token), the add
    form empty and refused, the edit form of the one with a token, and the dead letters with one batch.
    Both destinations are disabled, so the walk's own audit events are not sent anywhere."""
    page = walk.page
    StreamDestination.objects.create(name="Archive", kind=StreamKind.FILE, path="provisioning.jsonl",
                                     enabled=False, last_delivered_at=timezone.now())
    siem = StreamDestination.objects.create(
        name="SIEM", kind=StreamKind.SPLUNK_HEC, url="https://splunk.contoso.com:8088/services/collector/event",
        token="a-hec-token", enabled=False, last_error="HTTP 503 from splunk.contoso.com: Server is busy")
    StreamEntry.objects.create(destination=siem, kind=StreamEntry.AUDIT, refs=[1, 2, 3], attempts=10,
                               last_error=siem.last_error, dead_at=timezone.now())
    walk.visit("Log streaming", reverse("portal:streaming"), "#destinations")
    walk.visit("Add destination", reverse("portal:add_stream_destination"), "#destination-form")
    page.click("#save")
    page.wait_for_selector("#destination-form .has-error")
    walk.check("Add destination, refused")
    walk.visit("a destination with a token", reverse("portal:edit_stream_destination", args=[siem.pk]),
               "#token-stored")
    walk.visit("Dead letters", reverse("portal:stream_dead_letters"), f"#dead-letter-{siem.entries.get().pk}")


def after_a_cycle(job, run_cycle, settings, tmp_path) -> None:
    """What the walk needs: the job's initial cycle run by the real worker, and mail written to
    files (as in the demo) so that the Outbox exists."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    cycle = run_cycle(job)
    assert cycle.status == "succeeded", cycle.error


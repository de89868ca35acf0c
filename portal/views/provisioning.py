"""The Provisioning page: Provisioning Mode, Admin Credentials (Authorize, Test
Connection), Notification Email, Save."""

from __future__ import annotations

import logging
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST, require_safe

from provisioning import connections, jobs
from provisioning.connectors.errors import ConfigurationError, ConnectorError
from provisioning.credentials import TeamIdentity, describe_team
from provisioning.models import Application, ProvisioningJob
from provisioning.targets import all_packages, package_of
from provisioning.targets.base import AuthorizationCancelled, AuthorizationForged, AuthorizationRefused

from ..forms import ProvisioningForm
from ..permissions import (
    ADMINISTRATOR_REFUSED,
    get_application_for_administrator,
    get_application_for_reader,
    is_administrator,
)

log = logging.getLogger(__name__)

PENDING_SESSION_KEY = "target-auth-pending"


ALERT_FIELDS = ("alert_no_success_hours", "alert_deprovisions_above", "alert_failure_percent", "alert_escrow_cycles",
                "alert_credentials", "alert_webhook_url", "alert_repeat_hours")


def settings_snapshot(job: ProvisioningJob) -> dict:
    """What the audit trail records of a job's settings (secrets are redacted by the audit helper)."""
    return {
        "mode": job.get_mode_display(),
        "notification_email": job.notification_email,
        "notify_on_failure": job.notify_on_failure,
        "scope": job.get_scope_display(),
        "prevent_accidental_deletion": job.prevent_accidental_deletion,
        "deletion_threshold": job.deletion_threshold,
        "interval_minutes": job.interval_minutes,
        "reconcile_every_hours": job.reconcile_every_hours,
        "wipe_devices_on_disable": job.wipe_devices_on_disable,
        "delete_after_days": job.delete_after_days,
        "transfer_files_to": job.transfer_files_to_email,
        "remove_invited_members": job.remove_invited_members,
        "on_unassigned": job.get_on_unassigned_display(),
        "on_out_of_scope": job.get_on_out_of_scope_display(),
        "on_disabled": job.get_on_disabled_display(),
        "on_soft_deleted": job.get_on_soft_deleted_display(),
        "on_hard_deleted": job.get_on_hard_deleted_display(),
        "keep_account_on_remove": job.keep_account_on_remove,
        "wipe_devices_on_remove": job.wipe_devices_on_remove,
        "send_welcome_email": job.send_welcome_email,
        "expand_nested_groups": job.expand_nested_groups,
        **{name: getattr(job, name) for name in ALERT_FIELDS},
        "refresh_token": job.target_refresh_token or "",
        "admin_email": job.target_admin_email,
        "team_name": job.target_team_name,
    }


def _render(request: HttpRequest, application: Application, form: ProvisioningForm, status: int = 200):
    job = application.job
    if not is_administrator(request.user, application):
        for field in form.fields.values():
            field.disabled = True
    return render(
        request, "portal/blade/provisioning.html",
        {"application": application, "job": job, "form": form, "section": "provisioning"}, status=status,
    )


@require_safe
def provisioning(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    return _render(request, application, ProvisioningForm(instance=application.job))


@require_POST
def save(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """Save the page; "Authorize" and "Test Connection" save first, then act."""
    application = get_application_for_administrator(request, app_id)
    job = application.job
    # The form works on a copy, so the job keeps what was stored until the service saves it.
    form = ProvisioningForm(request.POST, instance=ProvisioningJob.objects.get(pk=job.pk))
    transfer_to = _transfer_admin(form, job) if form.is_valid() else None
    if not form.is_valid():
        messages.error(request, "The settings were not saved: correct the fields marked below.")
        return _render(request, application, form, status=400)
    fields = {name: form.cleaned_data[name] for name in ProvisioningForm.Meta.fields}
    fields["transfer_files_to"] = transfer_to if fields["transfer_files_to_email"] else ""
    if request.POST.get("action") == "preview":
        return _preview_draft(request, application, {"settings": _draft_settings(fields)})
    saved = jobs.save_settings(job, fields, jobs.Actor.of(request), snapshot=settings_snapshot)
    if saved.started:
        messages.success(request, "Provisioning is On: the initial cycle is starting.")
    elif saved.stopped:
        messages.success(request, "Provisioning is Off. A running cycle stops after its current batch; everything "
                                  "provisioned so far is kept.")
    action = request.POST.get("action", "save")
    if action == "authorize":
        return _start_authorization(request, application)
    if action == "test":
        try:
            result = jobs.test_connection(job)
        except ConfigurationError as exc:  # the portal's own settings: nothing was tested, nor recorded
            messages.error(request, f"Test Connection could not run: {exc.message} {exc.recommendation}".strip())
            return redirect("portal:provisioning", application.id)
        if result.ok:
            messages.success(request, result.message)
        else:
            messages.error(request, f"Test Connection failed: {result.message} {result.recommendation}".strip())
        return redirect("portal:provisioning", application.id)
    if not (saved.started or saved.stopped):
        messages.success(request, "Your changes were saved.")
    return redirect("portal:provisioning", application.id)


def _draft_settings(fields: dict) -> dict:
    """The Settings that decide what a cycle does, as a preview draft takes them (JSON values)."""
    from provisioning.engine.config import DRAFT_SETTINGS

    names = (*DRAFT_SETTINGS, "on_unassigned", "on_out_of_scope", "on_disabled", "on_soft_deleted",
             "on_hard_deleted")
    return {name: fields[name] for name in names if name in fields}


def _preview_draft(request: HttpRequest, application, draft: dict) -> HttpResponse:
    """Preview the next cycle with unsaved changes (nothing of them is saved) beside the one as saved."""
    from .overview import start_and_show

    return start_and_show(request, application, jobs.request_preview, back="portal:provisioning",
                          show="portal:preview", draft=draft)


def _transfer_admin(form: ProvisioningForm, job: ProvisioningJob) -> str | None:
    """The admin who receives removed members' files must be an admin of the target: look the account
    up (the form gets the error when it is not); its id, or the stored one when the email is unchanged."""
    email = form.cleaned_data.get("transfer_files_to_email")
    if not email:
        return None
    if email == job.transfer_files_to_email and job.transfer_files_to:
        return job.transfer_files_to
    names = package_of(job).names
    if not job.is_authorized:
        form.add_error("transfer_files_to_email", f"Authorize the portal against {names.service} first.")
        return None
    try:
        account = connections.target(job, interactive=True).find([("email", email)])[("email", email)]
    except ConnectorError as exc:
        form.add_error("transfer_files_to_email", f"{names.service} could not be asked: {exc.message}")
        return None
    if account is None or account.status == "removed":
        form.add_error("transfer_files_to_email", f"No member of the {names.container} has this email.")
    elif not account.is_admin:
        form.add_error("transfer_files_to_email", f"This member is not a {names.container} admin.")
    else:
        return account.id
    return None


def _redirect_uri(request: HttpRequest, application: Application) -> str:
    return request.build_absolute_uri(reverse("portal:oauth_callback", args=[package_of(application.job).key]))


def _start_authorization(request: HttpRequest, application: Application) -> HttpResponse:
    flow = package_of(application.job).authorization
    try:
        begun = flow.start(session=request.session, redirect_uri=_redirect_uri(request, application),
                           state=str(application.id))
    except AuthorizationRefused as exc:
        messages.error(request, str(exc))
        return redirect("portal:provisioning", application.id)
    request.session[PENDING_SESSION_KEY] = {"application": str(application.id), "user": request.user.pk,
                                            **begun.pending}
    return redirect(begun.url)


@require_GET
def oauth_callback(request: HttpRequest, target: str) -> HttpResponse:
    """Where the target sends the administrator back after "Allow" or "Cancel"."""
    pending = request.session.pop(PENDING_SESSION_KEY, None)
    application = _pending_application(pending)
    # The URL names no application: the one the session's Authorize began on decides (an
    # administrator of that application only may finish it).
    if not is_administrator(request.user, application):
        raise PermissionDenied(ADMINISTRATOR_REFUSED)
    fallback = redirect("portal:provisioning", application.id) if application else redirect("portal:applications")
    if application is None or pending.get("user") != request.user.pk or package_of(application.job).key != target:
        # Nothing pending in this session: a replayed or forged answer.
        for package in all_packages():
            package.authorization.forget(request.session)
        messages.error(request, "This authorization answer does not belong to an authorization started in your "
                                "session (it may have been used already). Nothing was stored; select Authorize again.")
        return fallback
    job, names = application.job, package_of(application.job).names
    try:
        grant = package_of(job).authorization.finish(session=request.session, query=request.GET, pending=pending,
                                                     redirect_uri=_redirect_uri(request, application))
    except AuthorizationCancelled:
        messages.warning(request, f"Authorization was cancelled in {names.service}. Nothing was stored.")
        return fallback
    except AuthorizationForged:
        messages.error(request, "The authorization answer did not match the one this session started (it may be "
                                "forged or replayed). Nothing was stored; select Authorize again.")
        return fallback
    except AuthorizationRefused as exc:
        messages.error(request, f"{exc} Nothing was stored.")
        return fallback
    except ConnectorError as exc:  # the code exchange failed
        log.warning("%s code exchange failed: %s", names.service, exc)
        jobs.authorization_failed(job, jobs.Actor.of(request), exc.message)
        messages.error(request, f"{names.service} did not complete the authorization: {exc.message} Nothing was "
                                "stored.")
        return fallback
    if grant.state != str(application.id):
        messages.error(request, f"{names.service} answered without a long-lived authorization. Nothing was stored; "
                                "select Authorize again.")
        return fallback
    _store_authorization(request, job, grant)
    return fallback


def _store_authorization(request: HttpRequest, job: ProvisioningJob, grant) -> None:
    try:
        identity = describe_team(connections.target_for_secret(job, grant.secret))
    except ConnectorError as exc:
        # The token works but does not belong to an admin (or the team is unreachable): keep it, so
        # Test Connection can say exactly why, but show the problem right away.
        identity = TeamIdentity("", "", "", grant.team_id)
        messages.warning(request, f"Authorized, but the team could not be read: {exc.message}")
    done = jobs.finish_authorization(job, jobs.Actor.of(request), secret=grant.secret, identity=identity,
                                     snapshot=settings_snapshot)
    if done.team_changed:
        messages.warning(request, f"This is a different {package_of(job).names.container} than the one authorized "
                                  "before: the links to the old team were cleared, and the next cycle reads "
                                  "everything again.")
    if identity.admin_email:
        messages.success(request, f"Authorized as {identity.admin_email} for team {identity.team_name}")


def _pending_application(pending) -> Application | None:
    if not isinstance(pending, dict):
        return None
    try:
        return Application.objects.select_related("job").get(pk=pending.get("application"), deleted_at__isnull=True)
    except (Application.DoesNotExist, ValueError, TypeError):
        return None

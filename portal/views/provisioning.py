"""The Provisioning page: Provisioning Mode, Admin Credentials (Authorize, Test
Connection), Notification Email, Save."""

from __future__ import annotations

import logging
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST, require_safe
from dropbox.oauth import BadRequestException, BadStateException, CsrfException, NotApprovedException, ProviderException

from provisioning import audit
from provisioning.connectors.dropbox import authorize_flow
from provisioning.connectors.errors import ConnectorError, dropbox_error
from provisioning.connectors.routing import build_routes, rewrite_url
from provisioning.constants import AuditActivity, AuditResult
from provisioning.credentials import connector_for_token, describe_team, target_connector, test_connection
from provisioning.engine import runner
from provisioning.models import Application, ObjectLink, ProvisioningJob

from .. import operations
from ..forms import ProvisioningForm
from ..permissions import (
    administrator_required,
    get_application_for_administrator,
    get_application_for_reader,
    is_administrator,
)

log = logging.getLogger(__name__)

CSRF_SESSION_KEY = "dropbox-auth-csrf-token"
PENDING_SESSION_KEY = "dropbox-auth-pending"


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
        "wipe_devices_on_disable": job.wipe_devices_on_disable,
        "delete_after_days": job.delete_after_days,
        "transfer_files_to": job.transfer_files_to_email,
        "remove_invited_members": job.remove_invited_members,
        "expand_nested_groups": job.expand_nested_groups,
        "dropbox_refresh_token": job.dropbox_refresh_token or "",
        "dropbox_admin_email": job.dropbox_admin_email,
        "dropbox_team_name": job.dropbox_team_name,
    }


def _render(request: HttpRequest, application: Application, form: ProvisioningForm, status: int = 200):
    job = application.job
    if not is_administrator(request.user):
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
    before, was_enabled = settings_snapshot(job), job.enabled
    form = ProvisioningForm(request.POST, instance=job)
    if form.is_valid():
        _resolve_transfer_admin(form, job, previous_email=before["transfer_files_to"])
    if not form.is_valid():
        messages.error(request, "The settings were not saved: correct the fields marked below.")
        return _render(request, application, form, status=400)
    with transaction.atomic():
        job = form.save(commit=False)
        if form.transfer_member is not None:
            job.transfer_files_to = form.transfer_member.team_member_id
        elif not job.transfer_files_to_email:
            job.transfer_files_to = ""
        # Only the page's own fields: the worker owns the rest of the row (lease, delta links, state).
        fields = [*ProvisioningForm.Meta.fields, "transfer_files_to", "updated_at"]
        if job.enabled and not was_enabled:
            job.next_run_at, job.stop_requested = timezone.now(), False
            fields += ["next_run_at", "stop_requested"]
        job.save(update_fields=fields)
        after = settings_snapshot(job)
        if {k: v for k, v in after.items()} != before:
            audit.record(AuditActivity.UPDATE_SETTINGS, request=request, target=application,
                         application=application, before=before, after=after)
        if job.enabled and not was_enabled:
            operations.started(request, job, was_enabled=False)
            messages.success(request, "Provisioning is On: the initial cycle is starting.")
        elif was_enabled and not job.enabled:
            operations.stopped(request, job)
            messages.success(request, "Provisioning is Off. A running cycle stops after its current batch; "
                                      "everything provisioned so far is kept.")
    action = request.POST.get("action", "save")
    if action == "authorize":
        return _start_authorization(request, application)
    if action == "test":
        result = test_connection(job)
        if result.ok:
            messages.success(request, result.message)
        else:
            messages.error(request, f"Test Connection failed: {result.message} {result.recommendation}".strip())
        return redirect("portal:provisioning", application.id)
    if job.enabled == was_enabled:
        messages.success(request, "Your changes were saved.")
    return redirect("portal:provisioning", application.id)


def _resolve_transfer_admin(form: ProvisioningForm, job: ProvisioningJob, previous_email: str) -> None:
    """The admin who receives removed members' files must be a Dropbox team admin: look it up."""
    email = form.cleaned_data.get("transfer_files_to_email")
    if not email or (email == previous_email and job.transfer_files_to):
        return
    if not job.is_authorized:
        form.add_error("transfer_files_to_email", "Authorize the portal against Dropbox first.")
        return
    try:
        member = target_connector(job, max_rate_limit_waits=2, max_wait=10).get_member("email", email)
    except ConnectorError as exc:
        form.add_error("transfer_files_to_email", f"Dropbox could not be asked: {exc.message}")
        return
    if member is None or member.status == "removed":
        form.add_error("transfer_files_to_email", "No member of the Dropbox team has this email.")
    elif not member.is_team_admin:
        form.add_error("transfer_files_to_email", "This member is not a Dropbox team admin.")
    else:
        form.transfer_member = member


def _redirect_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("portal:dropbox_callback"))


def _flow(request: HttpRequest):
    return authorize_flow(
        redirect_uri=_redirect_uri(request), session_store=request.session, app_key=settings.DROPBOX_APP_KEY,
        api_url=settings.DROPBOX_API_URL, web_url=settings.DROPBOX_WEB_URL, csrf_key=CSRF_SESSION_KEY,
    )


def _start_authorization(request: HttpRequest, application: Application) -> HttpResponse:
    if not settings.DROPBOX_APP_KEY:
        messages.error(request, "The portal has no Dropbox app: set DROPBOX_APP_KEY and DROPBOX_APP_SECRET.")
        return redirect("portal:provisioning", application.id)
    flow = _flow(request)
    # state = <csrf token in this session>|<application id>; the PKCE verifier is
    # made with the flow, and the callback builds a new flow, so it is kept here.
    url = flow.start(url_state=str(application.id))
    request.session[PENDING_SESSION_KEY] = {
        "application": str(application.id), "code_verifier": flow.code_verifier, "user": request.user.pk,
    }
    routes = build_routes(dropbox_api_url=settings.DROPBOX_API_URL, dropbox_web_url=settings.DROPBOX_WEB_URL)
    return redirect(rewrite_url(url, routes))


@require_GET
@administrator_required
def dropbox_callback(request: HttpRequest) -> HttpResponse:
    """Where Dropbox sends the administrator back after "Allow" or "Cancel"."""
    pending = request.session.pop(PENDING_SESSION_KEY, None)
    application = _pending_application(pending)
    fallback = redirect("portal:provisioning", application.id) if application else redirect("portal:applications")
    if application is None or pending.get("user") != request.user.pk:
        # Nothing pending in this session: a replayed or forged answer.
        request.session.pop(CSRF_SESSION_KEY, None)
        messages.error(request, "This authorization answer does not belong to an authorization started in your "
                                "session (it may have been used already). Nothing was stored; select Authorize again.")
        return fallback

    flow = _flow(request)
    flow.code_verifier = pending["code_verifier"]
    try:
        result = flow.finish(request.GET)
    except NotApprovedException:
        messages.warning(request, "Authorization was cancelled in Dropbox. Nothing was stored.")
        return fallback
    except (BadStateException, CsrfException, BadRequestException):
        messages.error(request, "The authorization answer did not match the one this session started (it may be "
                                "forged or replayed). Nothing was stored; select Authorize again.")
        return fallback
    except ProviderException as exc:
        messages.error(request, f"Dropbox refused the authorization: {exc}. Nothing was stored.")
        return fallback
    except Exception as raw:  # the code exchange: HTTP errors, unreachable service
        exc = dropbox_error(raw, action="exchange the authorization code")
        log.warning("Dropbox code exchange failed: %s", exc)
        audit.record(AuditActivity.UPDATE_SETTINGS, request=request, target=application, application=application,
                     result=AuditResult.FAILURE, detail=f"Authorize failed: {exc.message}")
        messages.error(request, f"Dropbox did not complete the authorization: {exc.message} Nothing was stored.")
        return fallback

    if result.url_state != str(application.id) or not result.refresh_token:
        messages.error(request, "Dropbox answered without a long-lived authorization. Nothing was stored; "
                                "select Authorize again.")
        return fallback
    job = application.job
    before = settings_snapshot(job)
    previous_team = job.dropbox_team_id
    try:
        connector = connector_for_token(result.refresh_token, max_rate_limit_waits=2, max_wait=10)
        admin_email, admin_id, team_name, team_id = describe_team(connector)
    except ConnectorError as exc:
        # The token works but does not belong to a team admin (or the team is unreachable): keep
        # it, so Test Connection can say exactly why, but show the problem right away.
        admin_email, admin_id, team_name, team_id = "", "", "", getattr(result, "team_id", "") or ""
        messages.warning(request, f"Authorized, but the team could not be read: {exc.message}")
    job.dropbox_refresh_token = result.refresh_token
    job.dropbox_team_id = team_id or (getattr(result, "team_id", "") or "")
    job.dropbox_team_name = team_name
    job.dropbox_admin_email = admin_email
    job.dropbox_admin_member_id = admin_id
    job.authorized_at = timezone.now()
    job.authorized_by = request.user
    job.connection_ok = None
    job.connection_message = ""
    with transaction.atomic():
        job.save(update_fields=[
            "dropbox_refresh_token", "dropbox_team_id", "dropbox_team_name", "dropbox_admin_email",
            "dropbox_admin_member_id", "authorized_at", "authorized_by", "connection_ok", "connection_message",
            "updated_at",
        ])
        detail = "Authorized against Dropbox"
        if previous_team and job.dropbox_team_id and previous_team != job.dropbox_team_id:
            # Another team: what the portal knew of the old one means nothing there.
            ObjectLink.objects.filter(job=job).delete()
            runner.restart(job)
            detail += f" (a different team than before: links to team {previous_team} were cleared)"
            messages.warning(request, "This is a different Dropbox team than the one authorized before: the "
                                      "links to the old team were cleared, and the next cycle reads everything again.")
        audit.record(AuditActivity.UPDATE_SETTINGS, request=request, target=application, application=application,
                     before=before, after=settings_snapshot(job), detail=detail)
    if admin_email:
        messages.success(request, f"Authorized as {admin_email} for team {team_name}")
    return fallback


def _pending_application(pending) -> Application | None:
    if not isinstance(pending, dict):
        return None
    try:
        return Application.objects.select_related("job").get(pk=pending.get("application"))
    except (Application.DoesNotExist, ValueError, TypeError):
        return None

"""Roles and administrators of one application: the people who hold a role on this
application only (an administrator changes it, a reader sees it). Anyone who may see
the application sees the list; Provisioning administrators (global) change it."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from provisioning import audit
from provisioning.constants import ADMINISTRATORS_GROUP, READERS_GROUP, AuditActivity

from ..accounts.forms import ApplicationRoleForm
from ..accounts.models import ApplicationRoleGrant
from ..permissions import ADMINISTRATOR_REFUSED, get_application_for_reader, is_administrator

GLOBAL_GROUPS = {ADMINISTRATORS_GROUP: "Provisioning administrator", READERS_GROUP: "Provisioning reader"}


def _application_for_role_changes(request: HttpRequest, app_id: UUID):
    """The application, for a Provisioning administrator: only they give roles, on any application."""
    if not is_administrator(request.user):
        raise PermissionDenied(ADMINISTRATOR_REFUSED)
    return get_application_for_reader(request, app_id)


def _describe(grant: ApplicationRoleGrant | None) -> dict | None:
    if grant is None:
        return None
    return {"user": grant.user.email, "role": grant.get_role_display(), "application": grant.application.display_name}


def _render(request: HttpRequest, application, form: ApplicationRoleForm, status: int = 200) -> HttpResponse:
    grants = ApplicationRoleGrant.objects.filter(application=application).select_related("user")
    # People whose global role covers this application already, so the list tells the whole story.
    global_members = [
        {"email": group_user.email or group_user.username, "role": GLOBAL_GROUPS[group.name]}
        for group in Group.objects.filter(name__in=GLOBAL_GROUPS).prefetch_related("user_set")
        for group_user in group.user_set.filter(is_active=True).order_by("email")
    ]
    context = {"application": application, "grants": grants, "global_members": global_members, "form": form,
               "section": "roles", "may_change": is_administrator(request.user)}
    return render(request, "portal/blade/roles.html", context, status=status)


@require_safe
def roles(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    return _render(request, application, ApplicationRoleForm())


@require_POST
def add_role(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """Give the chosen user the chosen role on this application (replacing a role they had on it)."""
    application = _application_for_role_changes(request, app_id)
    form = ApplicationRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was saved: correct the fields marked below.")
        return _render(request, application, form, status=400)
    user, role = form.cleaned_data["user"], form.cleaned_data["role"]
    with transaction.atomic():
        grant = (ApplicationRoleGrant.objects.select_for_update().select_related("user", "application")
                 .filter(application=application, user=user).first())
        before = _describe(grant)
        if grant is None:
            grant = ApplicationRoleGrant(application=application, user=user)
        grant.role = role
        grant.granted_by = request.user.email or request.user.username
        grant.save()
        audit.record(AuditActivity.ADD_APPLICATION_ROLE, request=request, application=application,
                     target_type="User", target_id=str(user.pk), target_display=user.email,
                     before=before, after=_describe(grant))
    messages.success(request, f"{user.email} is now {grant.get_role_display()} of {application.display_name}.")
    return redirect("portal:roles", application.id)


@require_POST
def remove_role(request: HttpRequest, app_id: UUID, grant_id: int) -> HttpResponse:
    application = _application_for_role_changes(request, app_id)
    with transaction.atomic():
        grant = get_object_or_404(ApplicationRoleGrant.objects.select_for_update().select_related("user"),
                                  pk=grant_id, application=application)
        before = _describe(grant)
        grant.delete()
        audit.record(AuditActivity.REMOVE_APPLICATION_ROLE, request=request, application=application,
                     target_type="User", target_id=str(grant.user.pk), target_display=grant.user.email,
                     before=before)
    messages.success(request, f"{grant.user.email} no longer has a role on {application.display_name}.")
    return redirect("portal:roles", application.id)

"""Users and groups: the service principal's app role assignments in the tenant,
read and changed through Microsoft Graph."""

from __future__ import annotations

import logging
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from provisioning import audit, connections
from provisioning.connectors.entra import EntraConnector
from provisioning.connectors.errors import ConnectorError
from provisioning.constants import DEFAULT_ACCESS_ROLE_ID, AuditActivity
from provisioning.models import Application

from ..forms import AssignForm
from ..permissions import get_application_for_administrator, get_application_for_reader

log = logging.getLogger(__name__)

DEFAULT_ACCESS_NAME = "Default Access"


def source_connector() -> EntraConnector:
    return connections.source(interactive=True)


def directory_results(request: HttpRequest, *, kinds: tuple[str, ...] = ("users", "groups")) -> dict:
    """Live search of the directory by the start of a name (or UPN): the context of the results partial."""
    query = request.GET.get("q", "").strip()
    results, error = [], None
    if query:
        try:
            results = source_connector().search_directory(query, limit=10, kinds=kinds)
        except ConnectorError as exc:
            error = exc.message
    return {"results": results, "query": query, "error": error}


def app_roles(service_principal: dict) -> list[dict]:
    """Roles an administrator can assign: the app's enabled roles for users/groups, then Default Access."""
    roles = [
        {"id": role["id"], "name": role.get("displayName") or role.get("value") or role["id"],
         "description": role.get("description", ""), "default_access": False}
        for role in service_principal.get("appRoles", [])
        if role.get("isEnabled", True) and "User" in role.get("allowedMemberTypes", ["User"])
    ]
    roles.append({"id": DEFAULT_ACCESS_ROLE_ID, "name": DEFAULT_ACCESS_NAME, "default_access": True,
                  "description": "The Default Access role does not work for provisioning."})
    return roles


def _load(application: Application):
    """(service principal, roles, assignments) from Graph."""
    connector = source_connector()
    service_principal = connector.get_service_principal(application.service_principal_id)
    roles = app_roles(service_principal)
    names = {role["id"]: role["name"] for role in roles}
    assignments = [
        {**item, "role_name": names.get(item.get("appRoleId"), item.get("appRoleId")),
         "default_access": item.get("appRoleId") == DEFAULT_ACCESS_ROLE_ID}
        for item in connector.iter_assignments(application.service_principal_id)
    ]
    assignments.sort(key=lambda a: (a.get("principalDisplayName") or "").lower())
    return service_principal, roles, assignments


@require_safe
def users_and_groups(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    query = request.GET.get("q", "").strip()
    context = {"application": application, "section": "users_and_groups", "query": query, "error": None}
    if not application.service_principal_id:
        context["error"] = "This application has no service principal in the tenant, so nothing can be assigned."
        return render(request, "portal/blade/users_and_groups.html", context)
    try:
        _, roles, assignments = _load(application)
    except ConnectorError as exc:
        context["error"] = f"The assignments could not be read from Microsoft Entra ID: {exc.message}"
        return render(request, "portal/blade/users_and_groups.html", context)
    shown = [a for a in assignments if query.lower() in (a.get("principalDisplayName") or "").lower()] if query \
        else assignments
    context.update(
        page=Paginator(shown, 50).get_page(request.GET.get("page")),
        total=len(assignments),
        default_access_count=sum(1 for a in assignments if a["default_access"]),
        roles=roles,
    )
    return render(request, "portal/blade/users_and_groups.html", context)


@require_safe
def add_assignment(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """Add user/group: search the directory, choose a role, assign."""
    application = get_application_for_administrator(request, app_id)
    try:
        service_principal = source_connector().get_service_principal(application.service_principal_id)
    except ConnectorError as exc:
        messages.error(request, f"The application's roles could not be read from Microsoft Entra ID: {exc.message}")
        return redirect("portal:users_and_groups", application.id)
    return render(request, "portal/blade/add_assignment.html", {
        "application": application, "section": "users_and_groups", "roles": app_roles(service_principal),
        "form": AssignForm(roles=app_roles(service_principal)),
    })


@require_safe
def directory_search(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """Live search results: users by name or UPN, groups by name."""
    application = get_application_for_administrator(request, app_id)
    kinds = ("users",) if request.GET.get("kind") == "users" else ("users", "groups")
    return render(request, "portal/partials/directory_results.html",
                  {"application": application, **directory_results(request, kinds=kinds)})


@require_POST
def assign(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    connector = source_connector()
    try:
        roles = app_roles(connector.get_service_principal(application.service_principal_id))
    except ConnectorError as exc:
        messages.error(request, f"Nothing was assigned: {exc.message}")
        return redirect("portal:users_and_groups", application.id)
    form = AssignForm(request.POST, roles=roles)
    if not form.is_valid():
        return render(request, "portal/blade/add_assignment.html", {
            "application": application, "section": "users_and_groups", "roles": roles, "form": form,
        }, status=400)
    data = form.cleaned_data
    role_name = next(role["name"] for role in roles if role["id"] == data["app_role_id"])
    try:
        created = connector.add_assignment(application.service_principal_id, data["principal_id"], data["app_role_id"])
    except ConnectorError as exc:
        messages.error(request, f"{data['principal_name'] or data['principal_id']} was not assigned: {exc.message}")
        return redirect("portal:users_and_groups", application.id)
    name = created.get("principalDisplayName") or data["principal_name"] or data["principal_id"]
    audit.record(
        AuditActivity.ADD_ASSIGNMENT, request=request, application=application,
        target_type=data["principal_type"], target_id=data["principal_id"], target_display=name,
        after={"principal": name, "principal_type": data["principal_type"], "role": role_name,
               "assignment_id": created.get("id")},
    )
    if data["app_role_id"] == DEFAULT_ACCESS_ROLE_ID:
        messages.warning(request, f"{name} was assigned with the Default Access role, which does not work for "
                                  f"provisioning: it will be skipped. Assign a valid role instead.")
    else:
        messages.success(request, f"{name} was assigned to {application.display_name} as {role_name}.")
    return redirect("portal:users_and_groups", application.id)


@require_POST
def unassign(request: HttpRequest, app_id: UUID, assignment_id: str) -> HttpResponse:
    application = get_application_for_administrator(request, app_id)
    name = request.POST.get("principal_name", assignment_id)
    try:
        source_connector().remove_assignment(application.service_principal_id, assignment_id)
    except ConnectorError as exc:
        messages.error(request, f"{name} was not removed: {exc.message}")
        return redirect("portal:users_and_groups", application.id)
    audit.record(AuditActivity.REMOVE_ASSIGNMENT, request=request, application=application,
                 target_type=request.POST.get("principal_type", ""), target_id=assignment_id, target_display=name,
                 before={"principal": name, "role": request.POST.get("role_name", "")})
    messages.success(request, f"{name} was removed from {application.display_name}.")
    return redirect("portal:users_and_groups", application.id)

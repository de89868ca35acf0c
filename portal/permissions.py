"""Who may do what. Two roles: Provisioning administrators change configuration
and start or stop provisioning; Provisioning readers see everything and change
nothing. Superusers act as administrators. A signed-in user with neither role
sees no application data.

Either role can also be held on one application only (an application
administrator or reader, as an owner of an enterprise application in Entra ID):
it opens that application's pages and nothing else. The portal-wide pages (the
gallery's Add, the portal-wide audit log, Portal users, the outbox) stay for
the global roles; All applications lists only the applications one may see.

Views use the decorators below, and fetch objects through the helpers that
enforce access in the same step, so a forgotten check fails closed. This module
is the one place that decides.
"""

from __future__ import annotations

from functools import wraps
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from provisioning.constants import ADMINISTRATORS_GROUP, READERS_GROUP
from provisioning.models import Application

from .accounts.models import ApplicationRole, ApplicationRoleGrant

READER_REFUSED = "You need the Provisioning readers or Provisioning administrators role."
ADMINISTRATOR_REFUSED = "Only Provisioning administrators can make this change."


def _group_names(user) -> set[str]:
    cached = getattr(user, "_portal_group_names", None)
    if cached is None:
        cached = {group.name for group in user.groups.all()} if user.is_authenticated else set()
        user._portal_group_names = cached
    return cached


def application_roles(user) -> dict[str, str]:
    """The user's roles on single applications: application id (as text) -> role (cached per request)."""
    cached = getattr(user, "_portal_application_roles", None)
    if cached is None:
        cached = {}
        if user.is_authenticated:
            cached = {str(app_id): role for app_id, role in
                      ApplicationRoleGrant.objects.filter(user=user).values_list("application_id", "role")}
        user._portal_application_roles = cached
    return cached


def forget_roles(user) -> None:
    """Drop what the helpers cached on ``user`` (after its roles changed in this request)."""
    for name in ("_portal_group_names", "_portal_application_roles"):
        user.__dict__.pop(name, None)


def _signed_in(user) -> bool:
    return bool(user.is_authenticated and user.is_active)


def _application_role(user, application) -> str | None:
    app_id = getattr(application, "pk", application)
    return application_roles(user).get(str(app_id))


def is_administrator(user, application: Application | UUID | str | None = None) -> bool:
    """A Provisioning administrator; with ``application``, also one who administers that application."""
    if not _signed_in(user):
        return False
    if user.is_superuser or ADMINISTRATORS_GROUP in _group_names(user):
        return True
    return application is not None and _application_role(user, application) == ApplicationRole.ADMINISTRATOR


def is_reader(user, application: Application | UUID | str | None = None) -> bool:
    """Whether the user may see the portal's data (administrators may too); with ``application``,
    also one who holds either role on that application."""
    if not _signed_in(user):
        return False
    if is_administrator(user) or READERS_GROUP in _group_names(user):
        return True
    return application is not None and _application_role(user, application) is not None


def has_any_role(user) -> bool:
    """A global role, or a role on at least one application."""
    return is_reader(user) or (_signed_in(user) and bool(application_roles(user)))


def visible_applications(user, applications: QuerySet[Application] | None = None) -> QuerySet[Application]:
    """The applications (of ``applications``, else all) that the user may see."""
    applications = Application.objects.all() if applications is None else applications
    if is_reader(user):
        return applications
    if not _signed_in(user):
        return applications.none()
    return applications.filter(pk__in=list(application_roles(user)))


def role_name(user) -> str:
    if user.is_superuser:
        return "Superuser"
    if is_administrator(user):
        return "Administrator"
    if is_reader(user):
        return "Reader"
    if has_any_role(user):
        return "Roles on applications"
    return "No role"


def reader_required(view):
    """The view shows portal-wide data: global readers and administrators may see it."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_reader(request.user):
            raise PermissionDenied(READER_REFUSED)
        return view(request, *args, **kwargs)

    return wrapper


def administrator_required(view):
    """The view changes portal-wide state: only global administrators may use it."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_administrator(request.user):
            raise PermissionDenied(ADMINISTRATOR_REFUSED)
        return view(request, *args, **kwargs)

    return wrapper


def any_role_required(view):
    """The view lists what the user may see (All applications): any global or application role."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not has_any_role(request.user):
            raise PermissionDenied(READER_REFUSED)
        return view(request, *args, **kwargs)

    return wrapper


def get_application_for_reader(request: HttpRequest, app_id: UUID, *, deleted: bool = False) -> Application:
    """The application, for a reader; a deleted one only where ``deleted`` says its pages stay (its logs).

    The role is checked before the application is looked up, so that one with roles on other
    applications learns nothing of this one (not even whether it exists)."""
    if not is_reader(request.user, app_id):
        raise PermissionDenied(READER_REFUSED)
    applications = Application.objects.all() if deleted else Application.objects.filter(deleted_at__isnull=True)
    return get_object_or_404(applications, pk=app_id)


def get_application_for_administrator(request: HttpRequest, app_id: UUID) -> Application:
    if not is_administrator(request.user, app_id):
        raise PermissionDenied(ADMINISTRATOR_REFUSED)
    return get_object_or_404(Application, pk=app_id, deleted_at__isnull=True)

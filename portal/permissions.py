"""Who may do what. Two roles: Provisioning administrators change configuration
and start or stop provisioning; Provisioning readers see everything and change
nothing. Superusers act as administrators. A signed-in user with neither role
sees no application data.

Views use the decorators below, and fetch objects through the helpers that
enforce access in the same step, so a forgotten check fails closed.
"""

from __future__ import annotations

from functools import wraps
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from provisioning.constants import ADMINISTRATORS_GROUP, READERS_GROUP
from provisioning.models import Application


def _group_names(user) -> set[str]:
    cached = getattr(user, "_portal_group_names", None)
    if cached is None:
        cached = {group.name for group in user.groups.all()} if user.is_authenticated else set()
        user._portal_group_names = cached
    return cached


def is_administrator(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or ADMINISTRATORS_GROUP in _group_names(user)


def is_reader(user) -> bool:
    """Whether the user may see the portal's data (administrators may too)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return is_administrator(user) or READERS_GROUP in _group_names(user)


def role_name(user) -> str:
    if user.is_superuser:
        return "Superuser"
    if is_administrator(user):
        return "Administrator"
    if is_reader(user):
        return "Reader"
    return "No role"


def reader_required(view):
    """The view shows data: readers and administrators may see it."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_reader(request.user):
            raise PermissionDenied("You need the Provisioning readers or Provisioning administrators role.")
        return view(request, *args, **kwargs)

    return wrapper


def administrator_required(view):
    """The view changes state: only administrators may use it."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_administrator(request.user):
            raise PermissionDenied("Only Provisioning administrators can make this change.")
        return view(request, *args, **kwargs)

    return wrapper


def get_application_for_reader(request: HttpRequest, app_id: UUID, *, deleted: bool = False) -> Application:
    """The application, for a reader; a deleted one only where ``deleted`` says its pages stay (its logs)."""
    if not is_reader(request.user):
        raise PermissionDenied("You need the Provisioning readers or Provisioning administrators role.")
    applications = Application.objects.all() if deleted else Application.objects.filter(deleted_at__isnull=True)
    return get_object_or_404(applications, pk=app_id)


def get_application_for_administrator(request: HttpRequest, app_id: UUID) -> Application:
    if not is_administrator(request.user):
        raise PermissionDenied("Only Provisioning administrators can make this change.")
    return get_object_or_404(Application, pk=app_id, deleted_at__isnull=True)

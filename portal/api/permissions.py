"""What a call may do: the portal role of the credential's owner (portal.permissions: the global roles, and
roles on one application), and never a write with a read-only credential. The view-wide check here lets in
anyone with some role; each view then checks the role on the application it touches
(:func:`require_reader`, :func:`require_administrator`), as the portal's pages do."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..permissions import ADMINISTRATOR_REFUSED, READER_REFUSED, has_any_role, is_administrator, is_reader

READ_ONLY_REFUSED = "This token is read-only: it cannot make changes."


class PortalRole(BasePermission):
    """Some portal role for any call; a read-write credential for a write."""

    message = READER_REFUSED

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False) or not has_any_role(user):
            self.message = READER_REFUSED
            return False
        if request.method not in SAFE_METHODS and getattr(request.auth, "read_only", True):
            self.message = READ_ONLY_REFUSED
            return False
        return True


def can_read(request, application) -> bool:
    return is_reader(request.user, application)


def can_write(request, application) -> bool:
    return is_administrator(request.user, application) and not getattr(request.auth, "read_only", True)


def refusal(request, application) -> str:
    """Why ``request`` may not change ``application``."""
    if getattr(request.auth, "read_only", True):
        return READ_ONLY_REFUSED
    return ADMINISTRATOR_REFUSED if can_read(request, application) else READER_REFUSED

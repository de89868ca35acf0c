"""What a call may do: the portal role of the credential's owner (portal.permissions), and never a write
with a read-only credential."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..permissions import is_administrator, is_reader


class PortalRole(BasePermission):
    """Reading needs the Provisioning readers (or administrators) role; writing needs the administrators role
    and a read-write credential."""

    message = "You need the Provisioning readers or Provisioning administrators role."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        if request.method in SAFE_METHODS:
            return is_reader(user)
        credential = request.auth
        if getattr(credential, "read_only", True):
            self.message = "This token is read-only: it cannot make changes."
            return False
        if not is_administrator(user):
            self.message = "Only Provisioning administrators can make this change."
            return False
        return True

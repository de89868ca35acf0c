"""Roles of a session that signed in with Microsoft stay as fresh as ENTRA_ROLE_REFRESH_SECONDS:
past it, the next request reads the person again from Graph; a disabled or deleted person's
session ends there."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect

from provisioning import audit
from provisioning.connectors.errors import ConnectorError
from provisioning.constants import AuditActivity

from . import roles as entra_roles

#: after a failed read, try again this much later (seconds)
RETRY_AFTER = 60


class EntraSessionRefresh:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        oid = session.get(entra_roles.SESSION_OID) if session is not None else None
        if oid and request.user.is_authenticated and not request.path.startswith(settings.STATIC_URL):
            response = self._refresh(request, oid)
            if response is not None:
                return response
        return self.get_response(request)

    def _refresh(self, request, oid: str):
        session, now = request.session, time.time()
        interval = settings.ENTRA_ROLE_REFRESH_SECONDS
        checked = session.get(entra_roles.SESSION_CHECKED, 0)
        if now - checked < interval:
            return None
        try:
            answer = entra_roles.from_directory(oid)
        except ConnectorError as exc:
            entra_roles.refresh_failed(exc)
            verified = session.get("entra_verified_at", checked)
            if now - verified >= 2 * interval:
                # Roles nobody could confirm for two intervals are not kept.
                entra_roles.apply(request.user, set(), request=request,
                                  why=f"Microsoft Entra ID could not be read for two refresh intervals: {exc.message}")
            session["entra_verified_at"] = verified
            session[entra_roles.SESSION_CHECKED] = now - interval + RETRY_AFTER
            return None
        if not answer.may_sign_in:
            user = request.user
            audit.record(AuditActivity.END_SESSION, request=request, actor=user, target=user, target_type="User",
                         target_display=user.email, detail=f"Session ended: {answer.reason}")
            request.session_end_audited = True  # (not a second event for the sign-out itself)
            logout(request)
            messages.error(request, f"You were signed out: {answer.reason}")
            return redirect(settings.LOGIN_URL)
        entra_roles.apply(request.user, set(answer.roles), request=request,
                          why="Roles read again from Microsoft Entra ID after the refresh interval.")
        session[entra_roles.SESSION_CHECKED] = session["entra_verified_at"] = now
        return None

"""My account | Sessions: the signed-in person's open sessions, and signing out of the others."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from .sessions import active_sessions, describe_device, end_session


@require_safe
def sessions(request: HttpRequest) -> HttpResponse:
    current = request.session.session_key
    rows = [{"session": row, "device": describe_device(row.user_agent), "current": row.session_id == current}
            for row in active_sessions(request.user)]
    rows.sort(key=lambda row: not row["current"])  # this session first
    return render(request, "portal/accounts/sessions.html",
                  {"rows": rows, "others": sum(1 for row in rows if not row["current"])})


@require_POST
def sign_out_others(request: HttpRequest) -> HttpResponse:
    """Sign out of every other session of one's own."""
    with transaction.atomic():
        others = active_sessions(request.user).exclude(session_id=request.session.session_key)
        ended = 0
        for row in others:
            end_session(row, request=request, reason="Signed out of other sessions")
            ended += 1
    messages.success(request, f"Signed out of {ended} other session{'s' if ended != 1 else ''}." if ended
                     else "There were no other sessions.")
    return redirect("accounts:sessions")


@require_POST
def sign_out_one(request: HttpRequest, session_id: int) -> HttpResponse:
    """Sign out of one other session of one's own (this one signs out with Sign out)."""
    row = get_object_or_404(active_sessions(request.user).exclude(session_id=request.session.session_key),
                            pk=session_id)
    end_session(row, request=request, reason="Signed out of a session")
    messages.success(request, f"Signed out of {describe_device(row.user_agent)}.")
    return redirect("accounts:sessions")

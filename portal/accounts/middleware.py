"""Applied to every request of a signed-in user: the session is noted as seen (at
most once a minute)."""

from __future__ import annotations

from .sessions import note_seen


class SessionActivityMiddleware:
    """Keeps each signed-in session's device, address and "last seen" (portal.accounts.sessions)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            note_seen(request)
        return self.get_response(request)

"""Two rules applied to every request of a signed-in user: the session is noted as
seen (at most once a minute), and with ``REQUIRE_MFA`` a local account without a
second factor sets one up before it sees any other page."""

from __future__ import annotations

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect

from .sessions import note_seen

#: the session key the Entra sign-in sets: that person's MFA is Entra ID's business (Conditional Access)
ENTRA_SESSION_KEY = "entra_oid"
#: the second factors that count (recovery codes only back them up)
SECOND_FACTORS = ("totp", "webauthn")
#: pages a local user without a second factor may still open: setting one up (with the password asked
#: again first), signing out, and what load balancers and scrapers call
MFA_SETUP_ALLOWED = {"account_logout", "account_login", "account_reauthenticate", "account_inactive",
                     "healthz", "readyz", "metrics"}


class SessionActivityMiddleware:
    """Keeps each signed-in session's device, address and "last seen" (portal.accounts.sessions)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            note_seen(request)
        return self.get_response(request)


def needs_second_factor(request) -> bool:
    """Whether REQUIRE_MFA holds this request back: a signed-in local user with neither TOTP nor a
    security key."""
    user = getattr(request, "user", None)
    if not getattr(settings, "REQUIRE_MFA", False) or user is None or not user.is_authenticated:
        return False
    if request.session.get(ENTRA_SESSION_KEY):
        return False
    return not is_mfa_enabled(user, types=SECOND_FACTORS)


class RequireMFAMiddleware:
    """With ``REQUIRE_MFA=true``, sends a local user without a second factor to Two-factor
    authentication from every page but the setup pages themselves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        name = match.url_name if match else ""
        if (name or "").startswith("mfa_") or name in MFA_SETUP_ALLOWED or request.path.startswith(
                "/" + settings.STATIC_URL.lstrip("/")):
            return None
        if not needs_second_factor(request):
            return None
        messages.warning(request, "Your organisation requires two-factor authentication: set up an authenticator "
                                  "app or a security key before you continue.")
        return redirect("mfa_index")

"""allauth's hooks for the sign-in with Microsoft: the nonce, who the person is in the portal,
their roles, and the audit trail of every sign-in and refused sign-in."""

from __future__ import annotations

import secrets
import time

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.contrib.auth import get_user_model
from django.shortcuts import render

from provisioning import audit
from provisioning.connectors.routing import REAL_ENTRA_LOGIN_URL, routed_session
from provisioning.constants import AuditActivity, AuditResult

from . import roles as entra_roles
from .provider import PROVIDER_ID
from .views import SignInRefused


def _claims(sociallogin) -> dict:
    return (sociallogin.account.extra_data or {}).get("id_token") or {}


def sign_in_app():
    """The SocialApp of the sign-in with Microsoft, from the settings (None when it is off)."""
    from allauth.socialaccount.models import SocialApp
    from django.conf import settings

    if not settings.ENTRA_SIGN_IN:
        return None
    return SocialApp(provider=PROVIDER_ID, name="Microsoft", client_id=settings.ENTRA_SIGN_IN_CLIENT_ID,
                     secret=settings.ENTRA_SIGN_IN_CLIENT_SECRET, settings={
                         # the real authority; requests go where ENTRA_LOGIN_URL says (get_requests_session)
                         "server_url": f"{REAL_ENTRA_LOGIN_URL}/{settings.ENTRA_TENANT_ID}/v2.0",
                         "oauth_pkce_enabled": True, "fetch_userinfo": False,
                         "token_auth_method": "client_secret_post",
                     })


class EntraSocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_requests_session(self):
        from .views import entra_routes

        return routed_session(entra_routes(), pool_size=4)

    def list_apps(self, request, provider=None, client_id=None):
        # Configured from the environment (ENTRA_*), never from rows in the database.
        app = sign_in_app()
        if app is None or provider not in (None, PROVIDER_ID) or client_id not in (None, app.client_id):
            return []
        return [app]
    def is_open_for_signup(self, request, sociallogin) -> bool:
        # The tenant decides who may sign in (assignment, Conditional Access); the portal keeps
        # a user for each, with the roles Entra gives (none until it gives one).
        return sociallogin.account.provider == PROVIDER_ID

    def is_auto_signup_allowed(self, request, sociallogin) -> bool:
        return sociallogin.account.provider == PROVIDER_ID

    def pre_social_login(self, request, sociallogin) -> None:
        claims = _claims(sociallogin)
        expected = (sociallogin.state or {}).get("nonce") or ""
        if not expected or not secrets.compare_digest(str(claims.get("nonce") or ""), expected):
            raise SignInRefused("The id token does not answer this sign-in (its nonce differs).")
        if sociallogin.is_existing:
            if sociallogin.user.is_superuser:
                raise SignInRefused("A superuser signs in with the portal's own password only.")
            return
        upn = (claims.get("preferred_username") or "").lower()
        existing = get_user_model().objects.filter(email__iexact=upn).first() if upn else None
        if existing is not None:
            if existing.is_superuser:
                raise SignInRefused("A superuser signs in with the portal's own password only.")
            # The same person's local account (invited before sign-in with Microsoft was set up):
            # the tenant's verified sign-in name is theirs.
            sociallogin.connect(request, existing)

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.set_unusable_password()  # signs in through Entra only
        return user

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        reason = _reason(request, error, exception)
        audit.record(AuditActivity.SIGN_IN, request=request, target_type="User", result=AuditResult.FAILURE,
                     detail=f"Sign in with Microsoft refused: {reason}")
        # One page for every refusal (a cancel included: Entra answers access_denied for much more).
        raise ImmediateHttpResponse(render(request, "socialaccount/authentication_error.html",
                                           {"reason": reason}, status=401))


def _reason(request, error, exception) -> str:
    """Why a sign-in failed, in words safe to show and keep: the portal's own reasons, Microsoft's
    error description (its first line: AADSTS number and text), or allauth's error code."""
    if isinstance(exception, (SignInRefused, OAuth2Error)) and exception.args:
        return str(exception.args[0])[:500]
    described = request.GET.get("error_description") or request.POST.get("error_description")
    if described:
        return described.splitlines()[0][:500]
    if request.GET.get("error"):
        return f"Microsoft Entra ID answered {request.GET['error'][:100]}."
    if exception is not None:
        return f"The sign-in could not be completed ({exception.__class__.__name__})."
    return {"cancelled": "The sign-in was cancelled.", "unknown": "The sign-in answer was not valid (a forged, "
            "expired or already used state)."}.get(str(error or "unknown"), str(error))


def signed_in(sender, request, user, **kwargs) -> None:
    """After any sign-in: roles from the id token for a sign-in with Microsoft; the audit event."""
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is not None and sociallogin.account.provider == PROVIDER_ID:
        claims = _claims(sociallogin)
        entra_roles.apply(user, entra_roles.roles_from_claims(claims), request=request,
                          why="Roles from the id token at sign-in.")
        request.session[entra_roles.SESSION_OID] = claims["oid"]
        request.session[entra_roles.SESSION_CHECKED] = time.time()
        how = "with Microsoft Entra ID"
    else:
        how = "with the portal's password"
    audit.record(AuditActivity.SIGN_IN, request=request, actor=user, target=user, target_type="User",
                 target_display=user.email, detail=f"Signed in {how}.")


def password_refused(sender, credentials, request=None, **kwargs) -> None:
    """A refused password sign-in, with the address tried (never the password)."""
    tried = str(credentials.get("email") or credentials.get("username") or "")[:254]
    audit.record(AuditActivity.SIGN_IN, request=request, target_type="User", target_display=tried,
                 result=AuditResult.FAILURE, detail="Password sign-in refused: wrong email or password.")


def signed_out(sender, request, user, **kwargs) -> None:
    """Signing out ends the session: in the audit log like a session ended by an administrator."""
    if user is None or request is None or getattr(request, "session_end_audited", False):
        return
    audit.record(AuditActivity.END_SESSION, request=request, actor=user, target=user, target_type="User",
                 target_display=user.email, detail="Signed out.")

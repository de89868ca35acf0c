"""The Content-Security-Policy of every page (the directives are in settings).

Chromium enforces ``form-action`` on the redirect that follows a form post too:
Authorize posts the Provisioning form and is sent on to the Dropbox sign-in page,
so that origin is allowed, taken from ``DROPBOX_WEB_URL`` when the page is served
(tests and the demo point it at the emulator); "Sign in with Microsoft" likewise leads to
``ENTRA_LOGIN_URL``."""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def authorize_origins() -> list[str]:
    """Origins outside the portal that a form of the portal may lead to: Dropbox's sign-in (Authorize)
    and, when sign-in with Microsoft is on, Entra's (ENTRA_LOGIN_URL)."""
    urls = [settings.DROPBOX_WEB_URL, settings.ENTRA_LOGIN_URL if settings.ENTRA_SIGN_IN else ""]
    return [o for o in map(origin, urls) if o]


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only:
            update = dict(parts.update or {})
            update["form-action"] = [*update.get("form-action", []), *authorize_origins()]
            parts.update = update
        return parts
